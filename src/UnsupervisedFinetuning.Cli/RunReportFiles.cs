using System.Globalization;
using UnsupervisedFinetuning.Engine;
using UnsupervisedFinetuning.Evaluation;
using UnsupervisedFinetuning.Reporting;

namespace UnsupervisedFinetuning.Cli;

/// <summary>
/// The report of one <c>uft finetune</c> run, written beside its model: <c>report.md</c>, <c>report.csv</c> and
/// <c>report.json</c> (a <see cref="TransferReport"/>: the label-free monitors of the pretrained backbone, step 0, against
/// those of the saved one, with the difference; the run's settings as notes) and, when the run was monitored,
/// <c>report-monitoring.csv</c> (every monitor point) and the chart <c>report-monitoring.png</c> (one panel per monitor,
/// <see cref="MonitorChart"/>). All of them as one unit (<see cref="TransferReportCharts.WriteWithChart"/>): a failed
/// write leaves no new file and the previous report, if any, whole.
/// </summary>
internal static class RunReportFiles
{
    /// <summary>The files' name: report.md, report.csv, report.json, report-monitoring.csv, report-monitoring.png.</summary>
    public const string Name = "report";

    /// <summary>The arm of the pretrained backbone (monitor point 0): the reference the difference is taken against.</summary>
    public const string PretrainedArm = "pretrained";

    /// <summary>The arm of the saved backbone, whose monitor history is charted.</summary>
    public const string FinetunedArm = "finetuned";

    /// <summary>The mean training loss of the run's last epoch.</summary>
    public const string LossMetric = "training loss (last epoch)";

    /// <summary>Steps trained, the report's only number when the run has neither monitor points nor an epoch.</summary>
    public const string StepsMetric = "steps";

    /// <summary>Writes the report of <paramref name="result"/> into <paramref name="folder"/>; returns the paths written.</summary>
    /// <exception cref="IOException">A file could not be written; the message names it and no report file was replaced.</exception>
    public static IReadOnlyList<string> Write(string folder, FinetuneResult result, FinetuneSettings settings, IReadOnlyDictionary<string, string> provenance) =>
        Build(result, settings, provenance).WriteWithChart(folder, Name);

    /// <summary>The run as a report: arms <see cref="PretrainedArm"/> and <see cref="FinetunedArm"/> with a monitor trace, or <see cref="FinetunedArm"/> alone without monitor points.</summary>
    internal static TransferReport Build(FinetuneResult result, FinetuneSettings settings, IReadOnlyDictionary<string, string> provenance)
    {
        long seed = settings.Engine.Seed;
        var measurements = new List<TransferMeasurement>();
        var points = result.Monitoring;
        // The saved backbone is the selected point's when it was restored, otherwise the last step's (the last point).
        var saved = result.SelectedRestored && result.Selected is { } selected ? selected : points.Count > 0 ? points[^1] : null;
        if (saved is not null && points[0].Step == 0)
        {
            measurements.AddRange(TransferReport.Signals(points[0]).Select(s => new TransferMeasurement(PretrainedArm, seed, s.Signal, s.Value)));
        }

        if (saved is not null)
        {
            measurements.AddRange(TransferReport.Signals(saved).Select(s => new TransferMeasurement(FinetunedArm, seed, s.Signal, s.Value)));
        }

        if (result.History.Count > 0 && double.IsFinite(result.History[^1].MeanLoss))
        {
            measurements.Add(new TransferMeasurement(FinetunedArm, seed, LossMetric, result.History[^1].MeanLoss));
        }

        if (measurements.Count == 0)
        {
            measurements.Add(new TransferMeasurement(FinetunedArm, seed, StepsMetric, result.Steps));
        }

        string reference = measurements.Any(m => m.Arm == PretrainedArm) ? PretrainedArm : FinetunedArm;
        var report = new TransferReport(measurements, reference, $"uft finetune: {settings.Method}, mixing {settings.Mixing}, {result.Steps.ToString(CultureInfo.InvariantCulture)} steps");
        foreach (string note in Notes(result, settings, provenance, saved))
        {
            report.Notes.Add(note);
        }

        if (points.Count > 0)
        {
            report.Monitoring.Add(new MonitorTrace(FinetunedArm, seed, points, result.Selected?.Step));
        }

        return report;
    }

    private static IEnumerable<string> Notes(FinetuneResult result, FinetuneSettings settings, IReadOnlyDictionary<string, string> provenance, MonitorPoint? saved)
    {
        static string Value(IReadOnlyDictionary<string, string> values, string key) => values.TryGetValue(key, out var v) ? v : "–";

        yield return $"- backbone: {Value(provenance, "finetunedFrom")}";
        yield return $"- target: {Value(provenance, "target")}";
        if (provenance.ContainsKey("source"))
        {
            yield return $"- source: {provenance["source"]} ({Value(provenance, "replayed")} images replayed)";
        }

        yield return string.Create(CultureInfo.InvariantCulture, $"- steps: {result.Steps}, batch size {settings.Engine.BatchSize}, learning rate {settings.Engine.LearningRate}, seed {settings.Engine.Seed}; skipped non-finite steps: {result.SkippedSteps}");
        yield return $"- command: {Value(provenance, "command")}";
        if (saved is null)
        {
            yield return "- monitoring was off (--monitor-every off): the run has no monitor points, so this report holds no monitors and no monitoring chart.";
            yield break;
        }

        string criterion = OptionValues.Criteria.FirstOrDefault(c => c.Value == settings.Engine.Monitoring.Criterion).Key ?? settings.Engine.Monitoring.Criterion.ToString();
        string selectedStep = result.Selected is { } best ? best.Step.ToString(CultureInfo.InvariantCulture) : "–";
        yield return $"- monitoring: {result.Monitoring.Count} points; best step by {criterion}: {selectedStep}{(result.StoppedEarly ? " (stopped early)" : "")}";
        yield return $"- \"{PretrainedArm}\" is the backbone before training (step 0); \"{FinetunedArm}\" the saved one (step {saved.Step.ToString(CultureInfo.InvariantCulture)}, {(result.SelectedRestored ? "the selected step, --restore-best" : "the last step")}); the chart is {Name}-monitoring.png.";
    }
}
