using System.Globalization;
using System.Text;
using System.Text.Json;
using UnsupervisedFinetuning.IO;

namespace UnsupervisedFinetuning.Evaluation;

/// <summary>Mean, sample standard deviation and count of one arm's metric over seeds.</summary>
/// <param name="Mean">Mean over seeds.</param>
/// <param name="Std">Sample standard deviation (n − 1); NaN for one seed.</param>
/// <param name="Count">Seeds measured.</param>
public readonly record struct Summary(double Mean, double Std, int Count);

/// <summary>
/// Arms × seeds × metrics of a transfer comparison, with per-arm mean ± std and paired differences against
/// a reference arm (per seed, then averaged), written as Markdown, CSV and JSON with a PNG chart. Paired differences are the
/// honest comparison on small data: they cancel what a seed does to every arm alike.
/// </summary>
public sealed class TransferReport
{
    private readonly List<TransferMeasurement> _measurements;

    /// <summary>Creates the report.</summary>
    /// <param name="measurements">The numbers; an (arm, seed, metric) triple may appear once.</param>
    /// <param name="referenceArm">The arm others are compared with (e.g. "naive UFT").</param>
    /// <param name="title">Title of the Markdown report.</param>
    /// <exception cref="ArgumentException">A triple appears twice, or the reference arm has no measurements.</exception>
    public TransferReport(IEnumerable<TransferMeasurement> measurements, string referenceArm, string title = "Transfer report")
    {
        ArgumentNullException.ThrowIfNull(measurements);
        ArgumentException.ThrowIfNullOrEmpty(referenceArm);
        _measurements = [.. measurements];
        var duplicate = _measurements.GroupBy(m => (m.Arm, m.Seed, m.Metric)).FirstOrDefault(g => g.Count() > 1);
        if (duplicate is not null)
        {
            throw new ArgumentException($"Arm '{duplicate.Key.Arm}', seed {duplicate.Key.Seed}, metric '{duplicate.Key.Metric}' is measured twice.", nameof(measurements));
        }

        if (!_measurements.Any(m => m.Arm == referenceArm))
        {
            throw new ArgumentException($"The reference arm '{referenceArm}' has no measurements.", nameof(referenceArm));
        }

        ReferenceArm = referenceArm;
        Title = title;
    }

    /// <summary>The arm differences are taken against.</summary>
    public string ReferenceArm { get; }

    /// <summary>Title of the Markdown report.</summary>
    public string Title { get; }

    /// <summary>Free-text lines (settings, notes) printed under the title.</summary>
    public IList<string> Notes { get; } = [];

    /// <summary>
    /// The runs' monitor histories (optional): written as a section of the Markdown report, as <c>{name}-monitoring.csv</c>
    /// (arm, seed, step, signal, value, selected) and under "monitoring" in the JSON (a value that is not finite, e.g.
    /// RankMe of collapsed features, as null).
    /// </summary>
    public IList<MonitorTrace> Monitoring { get; } = [];

    /// <summary>All measurements, in the order given.</summary>
    public IReadOnlyList<TransferMeasurement> Measurements => _measurements;

    /// <summary>Arms in first-seen order.</summary>
    public IReadOnlyList<string> Arms => _measurements.Select(m => m.Arm).Distinct().ToList();

    /// <summary>Metrics in first-seen order.</summary>
    public IReadOnlyList<string> Metrics => _measurements.Select(m => m.Metric).Distinct().ToList();

    /// <summary>Seeds in ascending order.</summary>
    public IReadOnlyList<long> Seeds => _measurements.Select(m => m.Seed).Distinct().Order().ToList();

    /// <summary>Mean ± std of an arm's metric over its seeds.</summary>
    public Summary Summarize(string arm, string metric) => Stats(_measurements.Where(m => m.Arm == arm && m.Metric == metric).Select(m => m.Value));

    /// <summary>Mean ± std over seeds of (arm − reference) for a metric, using only seeds both arms have.</summary>
    public Summary PairedDifference(string arm, string metric)
    {
        var reference = _measurements.Where(m => m.Arm == ReferenceArm && m.Metric == metric).ToDictionary(m => m.Seed, m => m.Value);
        var differences = _measurements.Where(m => m.Arm == arm && m.Metric == metric && reference.ContainsKey(m.Seed)).Select(m => m.Value - reference[m.Seed]);
        return Stats(differences);
    }

    /// <summary>
    /// The report as Markdown: one table of mean ± std (in percentage points for accuracies) and one of paired differences,
    /// numbers as <see cref="ReportFormat"/> writes them (a screen that uses it shows the same digits).
    /// </summary>
    public string ToMarkdown()
    {
        var md = new StringBuilder();
        md.AppendLine(CultureInfo.InvariantCulture, $"# {Title}").AppendLine();
        foreach (string note in Notes)
        {
            md.AppendLine(note);
        }

        if (Notes.Count > 0)
        {
            md.AppendLine();
        }

        md.AppendLine(CultureInfo.InvariantCulture, $"Seeds: {string.Join(", ", Seeds.Select(s => s.ToString(CultureInfo.InvariantCulture)))} (mean ± sample std over seeds).").AppendLine();
        md.AppendLine("| arm | " + string.Join(" | ", Metrics) + " |");
        md.AppendLine("|---|" + string.Concat(Metrics.Select(_ => "---|")));
        foreach (string arm in Arms)
        {
            md.AppendLine($"| {arm} | " + string.Join(" | ", Metrics.Select(m => ReportFormat.MeanStd(Summarize(arm, m), m))) + " |");
        }

        md.AppendLine().AppendLine(CultureInfo.InvariantCulture, $"Paired difference against **{ReferenceArm}** (same seed, then mean ± std over seeds):").AppendLine();
        md.AppendLine("| arm | " + string.Join(" | ", Metrics.Select(m => "Δ " + m)) + " |");
        md.AppendLine("|---|" + string.Concat(Metrics.Select(_ => "---|")));
        foreach (string arm in Arms.Where(a => a != ReferenceArm))
        {
            md.AppendLine($"| {arm} | " + string.Join(" | ", Metrics.Select(m => ReportFormat.MeanStd(PairedDifference(arm, m), m, signed: true))) + " |");
        }

        AppendMonitoring(md);
        return md.ToString();
    }

    /// <summary>The monitor signals of a point by name, in report order; a signal the run did not measure is absent.</summary>
    public static IReadOnlyList<(string Signal, double Value)> Signals(MonitorPoint point)
    {
        ArgumentNullException.ThrowIfNull(point);
        (string, double?)[] all =
        [
            (TransferMetrics.RankMe, point.Target.RankMe),
            (TransferMetrics.Uniformity, point.Target.Uniformity),
            (TransferMetrics.Alignment, point.Target.Alignment),
            (TransferMetrics.SourceCka, point.SourceDrift?.LinearCka),
            (TransferMetrics.SourceNeighbourhoods, point.SourceDrift?.NeighbourhoodPreservation),
            (ValidationKnnSignal, point.ValidationKnn),
        ];
        return all.Where(s => s.Item2 is not null).Select(s => (s.Item1, s.Item2!.Value)).ToList();
    }

    /// <summary>Name of the leave-one-out kNN signal of monitor points (few labelled target images).</summary>
    public const string ValidationKnnSignal = "validation kNN (leave-one-out)";

    /// <summary>The monitor histories as CSV (arm, seed, step, signal, value), RFC 4180 quoting; the selected point's rows carry selected = 1.</summary>
    public string MonitoringToCsv()
    {
        var csv = new StringBuilder("arm,seed,step,signal,value,selected\n");
        foreach (var trace in Monitoring)
        {
            foreach (var point in trace.Points)
            {
                foreach (var (signal, value) in Signals(point))
                {
                    csv.Append(Quote(trace.Arm)).Append(',').Append(trace.Seed.ToString(CultureInfo.InvariantCulture)).Append(',')
                        .Append(point.Step.ToString(CultureInfo.InvariantCulture)).Append(',').Append(Quote(signal)).Append(',')
                        .Append(value.ToString("R", CultureInfo.InvariantCulture)).Append(',').Append(point.Step == trace.SelectedStep ? '1' : '0').Append('\n');
                }
            }
        }

        return csv.ToString();
    }

    private void AppendMonitoring(StringBuilder md)
    {
        if (Monitoring.Count == 0)
        {
            return;
        }

        md.AppendLine().AppendLine("## Monitoring during the runs").AppendLine();
        md.AppendLine("Label-free monitors on fixed probe images, measured in eval mode during each run (mean over seeds at each step; step 0 is the pretrained backbone).");
        foreach (var arm in Monitoring.Select(t => t.Arm).Distinct())
        {
            var traces = Monitoring.Where(t => t.Arm == arm).ToList();
            var signals = traces.SelectMany(t => t.Points).SelectMany(p => Signals(p).Select(s => s.Signal)).Distinct().ToList();
            string selected = string.Join(", ", traces.Select(t => $"{(t.SelectedStep is { } s ? s.ToString(CultureInfo.InvariantCulture) : "–")} (seed {t.Seed.ToString(CultureInfo.InvariantCulture)})"));
            md.AppendLine().AppendLine(CultureInfo.InvariantCulture, $"**{arm}** — selected step: {selected}").AppendLine();
            md.AppendLine("| step | " + string.Join(" | ", signals) + " |");
            md.AppendLine("|---|" + string.Concat(signals.Select(_ => "---|")));
            foreach (var step in traces.SelectMany(t => t.Points).Select(p => p.Step).Distinct().Order())
            {
                var values = traces.SelectMany(t => t.Points.Where(p => p.Step == step)).SelectMany(Signals).ToList();
                md.AppendLine("| " + step.ToString(CultureInfo.InvariantCulture) + " | " + string.Join(" | ", signals.Select(s => ReportFormat.MeanStd(Stats(values.Where(v => v.Signal == s).Select(v => v.Value)), s))) + " |");
            }
        }
    }

    /// <summary>The raw measurements as CSV (arm, seed, metric, value), RFC 4180 quoting.</summary>
    public string ToCsv()
    {
        var csv = new StringBuilder("arm,seed,metric,value\n");
        foreach (var m in _measurements)
        {
            csv.Append(Quote(m.Arm)).Append(',').Append(m.Seed.ToString(CultureInfo.InvariantCulture)).Append(',')
                .Append(Quote(m.Metric)).Append(',').Append(m.Value.ToString("R", CultureInfo.InvariantCulture)).Append('\n');
        }

        return csv.ToString();
    }

    /// <summary>Measurements, summaries and paired differences as JSON.</summary>
    public string ToJson()
    {
        var document = new
        {
            title = Title,
            reference = ReferenceArm,
            notes = Notes,
            seeds = Seeds,
            measurements = _measurements.Select(m => new { arm = m.Arm, seed = m.Seed, metric = m.Metric, value = m.Value }),
            monitoring = Monitoring.Select(t => new
            {
                arm = t.Arm,
                seed = t.Seed,
                selectedStep = t.SelectedStep,
                points = t.Points.Select(p => new { step = p.Step, signals = Signals(p).ToDictionary(s => s.Signal, s => Finite(s.Value)), score = Finite(p.Score), seconds = p.Seconds }),
            }),
            summary = Arms.SelectMany(a => Metrics.Select(m => (a, m, s: Summarize(a, m), d: PairedDifference(a, m))))
                .Where(x => x.s.Count > 0)
                .Select(x => new { arm = x.a, metric = x.m, mean = x.s.Mean, std = Finite(x.s.Std), n = x.s.Count, pairedDifference = Finite(x.d.Mean), pairedDifferenceStd = Finite(x.d.Std) }),
        };
        return JsonSerializer.Serialize(document, new JsonSerializerOptions { WriteIndented = true });
    }

    /// <summary>
    /// Writes <c>{name}.md</c>, <c>{name}.csv</c> and <c>{name}.json</c> (and <c>{name}-monitoring.csv</c> when <see cref="Monitoring"/> has runs) into <paramref name="directory"/>, as one
    /// unit: every file is written beside its target first, and only when all succeeded are they renamed over
    /// the targets, so an existing report is never left half-replaced. The trade-off chart (PNG) is in the
    /// UnsupervisedFinetuning.Reporting package (<c>WriteWithChart</c>).
    /// </summary>
    /// <returns>The paths written.</returns>
    /// <exception cref="IOException">A file could not be written (disk full, permission denied); the message names it and the previous report is unchanged.</exception>
    public IReadOnlyList<string> Write(string directory, string name = "report")
    {
        var files = Files(directory, name);
        AtomicFile.WriteAll(files);
        return files.Select(f => f.Path).ToList();
    }

    /// <summary>The report's text files, as (path, writer) pairs for one atomic write.</summary>
    internal List<(string Path, Action<Stream> Write)> Files(string directory, string name)
    {
        ArgumentException.ThrowIfNullOrEmpty(directory);
        ArgumentException.ThrowIfNullOrEmpty(name);
        List<(string Path, Action<Stream> Write)> files =
        [
            (Path.Combine(directory, $"{name}.md"), AtomicFile.Utf8(ToMarkdown())),
            (Path.Combine(directory, $"{name}.csv"), AtomicFile.Utf8(ToCsv())),
            (Path.Combine(directory, $"{name}.json"), AtomicFile.Utf8(ToJson())),
        ];
        if (Monitoring.Count > 0)
        {
            files.Add((Path.Combine(directory, $"{name}-monitoring.csv"), AtomicFile.Utf8(MonitoringToCsv())));
        }

        return files;
    }

    private static Summary Stats(IEnumerable<double> values)
    {
        double[] v = [.. values];
        if (v.Length == 0)
        {
            return new Summary(double.NaN, double.NaN, 0);
        }

        double mean = v.Average();
        double std = v.Length > 1 ? Math.Sqrt(v.Sum(x => (x - mean) * (x - mean)) / (v.Length - 1)) : double.NaN;
        return new Summary(mean, std, v.Length);
    }

    private static double? Finite(double value) => double.IsFinite(value) ? value : null;

    private static string Quote(string field) =>
        field.IndexOfAny([',', '"', '\n', '\r']) >= 0 ? "\"" + field.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"" : field;
}
