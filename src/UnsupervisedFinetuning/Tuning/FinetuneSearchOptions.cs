using Microsoft.Extensions.Options;
using UnsupervisedFinetuning.Monitoring;

namespace UnsupervisedFinetuning.Tuning;

/// <summary>Options of <see cref="FinetuneSearch"/>.</summary>
public sealed class FinetuneSearchOptions
{
    /// <summary>
    /// The compute budget: optimizer steps over all trials together, at the run's batch size. Each of K candidates
    /// gets ⌊budget / K⌋ steps (its own warm-up and cosine schedule). Required; at least <see cref="MinTrialSteps"/> × K.
    /// </summary>
    public long BudgetSteps { get; set; }

    /// <summary>
    /// What "best" means: a trial's score is this criterion at its last monitor point. Null (the default):
    /// <see cref="MonitorCriterion.ValidationKnn"/> when the request has a few labelled target images
    /// (<see cref="Engine.FinetuneRequest.Validation"/>), else the monitoring default, <see cref="MonitorCriterion.Uniformity"/>.
    /// Uniformity rewards target embeddings that spread, which replay and mixing prevent by design: between replay and
    /// mixing settings it favours no remedy (in the Quickstart's sweep it never picked mixing), so prefer
    /// <see cref="MonitorCriterion.RankMe"/> or a few labels there (docs/how-to/replay-selection.md).
    /// </summary>
    public MonitorCriterion? Criterion { get; set; }

    /// <summary>The fewest steps a trial may get. Default 10.</summary>
    public int MinTrialSteps { get; set; } = 10;
}

/// <summary>Validates <see cref="FinetuneSearchOptions"/>, naming every field that is out of range.</summary>
internal sealed class FinetuneSearchOptionsValidator : IValidateOptions<FinetuneSearchOptions>
{
    public ValidateOptionsResult Validate(string? name, FinetuneSearchOptions options)
    {
        var check = new OptionsFailures(nameof(FinetuneSearchOptions));
        check.Require(options.BudgetSteps > 0, nameof(options.BudgetSteps), options.BudgetSteps, "a positive number of steps over all trials");
        check.Require(options.Criterion is null || (Enum.IsDefined(options.Criterion.Value) && options.Criterion != MonitorCriterion.Custom), nameof(options.Criterion), options.Criterion,
            "null (automatic) or RankMe, Uniformity, Alignment, SourceCka, SourceNeighbourhoods or ValidationKnn");
        check.Require(options.MinTrialSteps >= 1, nameof(options.MinTrialSteps), options.MinTrialSteps, "at least 1");
        return check.Result();
    }
}
