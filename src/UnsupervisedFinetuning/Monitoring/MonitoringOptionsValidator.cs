using Microsoft.Extensions.Options;

namespace UnsupervisedFinetuning.Monitoring;

/// <summary>Checks <see cref="MonitoringOptions"/>; every failure names the field, its value and what is expected.</summary>
internal sealed class MonitoringOptionsValidator(string path = nameof(MonitoringOptions)) : IValidateOptions<MonitoringOptions>
{
    public ValidateOptionsResult Validate(string? name, MonitoringOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var check = new OptionsFailures(path);
        check.Require(options.EverySteps is null or > 0, nameof(options.EverySteps), options.EverySteps, "null (automatic, ≤ 5% of the compute) or a positive number of steps");
        check.Require(options.ProbeImages >= 2, nameof(options.ProbeImages), options.ProbeImages, "at least 2 (uniformity compares pairs of images)");
        check.Require(options.Neighbours >= 1, nameof(options.Neighbours), options.Neighbours, "at least 1");
        check.Require(Enum.IsDefined(options.Criterion), nameof(options.Criterion), options.Criterion, "RankMe, Uniformity, Alignment, SourceCka, SourceNeighbourhoods, ValidationKnn or Custom");
        check.Require(!options.Enabled || options.Criterion != MonitorCriterion.Custom || options.CustomScore is not null, nameof(options.CustomScore), options.CustomScore, "a score function when Criterion is Custom");
        check.Require(options.Criterion != MonitorCriterion.Alignment || options.Alignment, nameof(options.Alignment), options.Alignment, "true when Criterion is Alignment");
        check.Require(options.Patience is null or > 0, nameof(options.Patience), options.Patience, "null (never stop early) or a positive number of monitor points");
        check.Require(Enum.IsDefined(options.Precision), nameof(options.Precision), options.Precision, "Float32, BFloat16, Float16 or Auto");
        check.Require(OptionsValidation.IsFiniteAtLeast(options.MinImprovement, 0), nameof(options.MinImprovement), options.MinImprovement, "a finite value ≥ 0");
        check.Require(options.Enabled || !(options.RestoreBest || options.Patience is not null), nameof(options.Enabled), options.Enabled, "true when RestoreBest or Patience is set (they act on monitor points)");
        return check.Result();
    }
}
