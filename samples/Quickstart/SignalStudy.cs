using System.Globalization;
using System.Text;
using UnsupervisedFinetuning.Evaluation;
using UnsupervisedFinetuning.Monitoring;

namespace UnsupervisedFinetuning.Samples.Quickstart;

/// <summary>
/// The --study analysis: does each label-free signal track the labelled metric it stands in for, and what does
/// selecting a run's step by it buy over taking the last step? Every monitor point of every trained run is paired
/// with the target kNN and source kNN (retention) measured at that point.
/// </summary>
internal static class SignalStudy
{
    /// <summary>Signals, and whether higher is better for each (the sign a tracking signal's ρ should have).</summary>
    private static readonly (string Signal, bool HigherIsBetter, MonitorCriterion Criterion)[] Signals =
    [
        (TransferMetrics.RankMe, true, MonitorCriterion.RankMe),
        (TransferMetrics.Uniformity, false, MonitorCriterion.Uniformity),
        (TransferMetrics.Alignment, false, MonitorCriterion.Alignment),
        (TransferMetrics.SourceCka, true, MonitorCriterion.SourceCka),
        (TransferMetrics.SourceNeighbourhoods, true, MonitorCriterion.SourceNeighbourhoods),
        (TransferReport.ValidationKnnSignal, true, MonitorCriterion.ValidationKnn),
    ];

    private sealed record Row(string Arm, long Seed, long Step, double TargetKnn, double SourceKnn, IReadOnlyDictionary<string, double> Values, bool Last);

    public static IReadOnlyList<string> Write(string directory, ExperimentResult result, string settingsLine)
    {
        var rows = Rows(result);
        var md = new StringBuilder();
        md.AppendLine("# Do the label-free signals track the labelled metrics?").AppendLine();
        md.AppendLine(settingsLine).AppendLine();
        md.AppendLine("Every monitor point of every trained run (arms × seeds × steps; step 0 is the pretrained backbone) with the target kNN and source kNN (retention) measured at that point. ρ is Spearman's rank correlation. A signal tracks its metric when ρ has the sign of its direction (↑: higher is better; ↓: lower is better) and is large.").AppendLine();

        var runs = rows.GroupBy(r => (r.Arm, r.Seed)).ToList();
        var last = rows.Where(r => r.Last).ToList();
        md.AppendLine(CultureInfo.InvariantCulture, $"| signal | dir | ρ vs target kNN, all points (N = {rows.Count}) | ρ vs retention, all points | ρ vs target kNN within a run (mean ± std over {runs.Count} runs) | ρ vs retention within a run | ρ vs target kNN across runs' last steps (N = {last.Count}) | ρ vs retention across last steps |");
        md.AppendLine("|---|---|---|---|---|---|---|---|");
        foreach (var (signal, higher, _) in Signals)
        {
            var withSignal = rows.Where(r => r.Values.ContainsKey(signal)).ToList();
            if (withSignal.Count == 0)
            {
                continue;
            }

            var within = runs.Select(run => run.Where(r => r.Values.ContainsKey(signal)).ToList()).Where(r => r.Count >= 3).ToList();
            var lastWith = last.Where(r => r.Values.ContainsKey(signal)).ToList();
            md.AppendLine(CultureInfo.InvariantCulture, $"| {signal} | {(higher ? "↑" : "↓")} | {Rho(withSignal, signal, r => r.TargetKnn)} | {Rho(withSignal, signal, r => r.SourceKnn)} | {MeanStd(within.Select(w => Spearman(w.Select(r => r.Values[signal]), w.Select(r => r.TargetKnn))))} | {MeanStd(within.Select(w => Spearman(w.Select(r => r.Values[signal]), w.Select(r => r.SourceKnn))))} | {Rho(lastWith, signal, r => r.TargetKnn)} | {Rho(lastWith, signal, r => r.SourceKnn)} |");
        }

        md.AppendLine().AppendLine("## Selecting each run's step by a criterion, against taking the last step").AppendLine();
        md.AppendLine(CultureInfo.InvariantCulture, $"Paired per run (selected - last), then mean ± std over the {runs.Count} runs, in percentage points. The criterion picks the point with the highest score (ties: the earliest), as the engine does without patience.").AppendLine();
        md.AppendLine("| criterion | mean selected step | Δ target kNN | Δ retention | runs where it kept the last step |");
        md.AppendLine("|---|---|---|---|---|");
        foreach (var (signal, higher, criterion) in Signals)
        {
            var picks = runs.Select<IGrouping<(string, long), Row>, (Row Best, Row Last)?>(run =>
            {
                var ordered = run.OrderBy(r => r.Step).ToList();
                var scored = ordered.Where(r => r.Values.ContainsKey(signal)).ToList();
                if (scored.Count == 0)
                {
                    return null;
                }

                var best = scored.Aggregate((a, b) => Score(b, signal, higher) > Score(a, signal, higher) ? b : a);
                return (Best: best, Last: ordered[^1]);
            }).Where(p => p is not null).Select(p => p!.Value).ToList();
            if (picks.Count == 0)
            {
                continue;
            }

            md.AppendLine(CultureInfo.InvariantCulture, $"| {QuickstartCommandLine.CriterionName(criterion)} | {picks.Average(p => p.Best.Step):F0} | {MeanStd(picks.Select(p => 100 * (p.Best.TargetKnn - p.Last.TargetKnn)), meanDecimals: 1)} | {MeanStd(picks.Select(p => 100 * (p.Best.SourceKnn - p.Last.SourceKnn)), meanDecimals: 1)} | {picks.Count(p => p.Best.Step == p.Last.Step)} of {picks.Count} |");
        }

        var csv = new StringBuilder("arm,seed,step,target kNN,source kNN," + string.Join(',', Signals.Select(s => s.Signal)) + "\n");
        foreach (var r in rows)
        {
            csv.Append(CultureInfo.InvariantCulture, $"{r.Arm},{r.Seed},{r.Step},{r.TargetKnn:R},{r.SourceKnn:R},")
                .AppendJoin(',', Signals.Select(s => r.Values.TryGetValue(s.Signal, out double v) ? v.ToString("R", CultureInfo.InvariantCulture) : ""))
                .Append('\n');
        }

        string mdPath = Path.Combine(directory, "study.md");
        string csvPath = Path.Combine(directory, "study-points.csv");
        File.WriteAllText(mdPath, md.ToString());
        File.WriteAllText(csvPath, csv.ToString());
        return [mdPath, csvPath];
    }

    private static List<Row> Rows(ExperimentResult result)
    {
        var labelled = result.Points.ToDictionary(p => (p.Arm, p.Seed, p.Step));
        var rows = new List<Row>();
        foreach (var trace in result.Traces)
        {
            long lastStep = trace.Points[^1].Step;
            foreach (var point in trace.Points)
            {
                if (labelled.TryGetValue((trace.Arm, trace.Seed, point.Step), out var knn))
                {
                    rows.Add(new Row(trace.Arm, trace.Seed, point.Step, knn.TargetKnn, knn.SourceKnn, TransferReport.Signals(point).ToDictionary(s => s.Signal, s => s.Value), point.Step == lastStep));
                }
            }
        }

        return rows;
    }

    private static double Score(Row row, string signal, bool higher) => higher ? row.Values[signal] : -row.Values[signal];

    private static string Rho(List<Row> rows, string signal, Func<Row, double> metric) =>
        rows.Count < 3 ? "–" : ReportFormat.Number(Spearman(rows.Select(r => r.Values[signal]), rows.Select(metric)), 2, signed: true);

    /// <summary>Signed mean ± std (two decimals for the std); the numbers rounded as every report rounds them (ReportFormat).</summary>
    private static string MeanStd(IEnumerable<double> values, int meanDecimals = 2)
    {
        double[] v = values.Where(double.IsFinite).ToArray();
        if (v.Length == 0)
        {
            return "–";
        }

        double mean = v.Average();
        double std = v.Length > 1 ? Math.Sqrt(v.Sum(x => (x - mean) * (x - mean)) / (v.Length - 1)) : 0;
        return ReportFormat.Number(mean, meanDecimals, signed: true) + " ± " + ReportFormat.Number(std, 2);
    }

    /// <summary>Spearman's ρ: Pearson correlation of the ranks (ties get their average rank); NaN when a side is constant.</summary>
    internal static double Spearman(IEnumerable<double> x, IEnumerable<double> y)
    {
        double[] rx = Ranks(x.ToArray());
        double[] ry = Ranks(y.ToArray());
        double mx = rx.Average();
        double my = ry.Average();
        double sxy = rx.Zip(ry, (a, b) => (a - mx) * (b - my)).Sum();
        double sxx = rx.Sum(a => (a - mx) * (a - mx));
        double syy = ry.Sum(b => (b - my) * (b - my));
        return sxx == 0 || syy == 0 ? double.NaN : sxy / Math.Sqrt(sxx * syy);
    }

    private static double[] Ranks(double[] values)
    {
        int[] order = Enumerable.Range(0, values.Length).OrderBy(i => values[i]).ToArray();
        double[] ranks = new double[values.Length];
        for (int start = 0; start < order.Length;)
        {
            int end = start;
            while (end + 1 < order.Length && values[order[end + 1]] == values[order[start]])
            {
                end++;
            }

            for (int i = start; i <= end; i++)
            {
                ranks[order[i]] = ((start + end) / 2.0) + 1;
            }

            start = end + 1;
        }

        return ranks;
    }
}
