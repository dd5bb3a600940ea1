using System.Globalization;
using System.Text;
using UnsupervisedFinetuning.Evaluation;
using UnsupervisedFinetuning.Replay;
using UnsupervisedFinetuning.Reporting;

namespace UnsupervisedFinetuning.Samples.Quickstart;

/// <summary>
/// The --sweep analysis: the trade-off between target kNN and retention over replay ratio × mixing and over the
/// selection rules, with the Pareto front; each rule against uniform selection paired per seed; and how close an
/// automatic choice of ratio and mixing — label-free, or with a few labels — lands to the choice made with the
/// labelled validation split.
/// </summary>
internal static class SweepAnalysis
{
    /// <summary>kNN on the target validation split (500 labelled images): the labelled choice's score.</summary>
    public const string ValidationKnn = "target kNN (validation split)";

    /// <summary>Writes sweep.md and sweep.png; returns their paths.</summary>
    public static IReadOnlyList<string> Write(string directory, IReadOnlyList<Arm> arms, IReadOnlyList<TransferMeasurement> measurements, IReadOnlyList<SearchTrial> searches, Settings settings, string settingsLine)
    {
        var present = arms.Where(a => measurements.Any(m => m.Arm == a.Name && m.Metric == TransferMetrics.TargetKnn)).ToList();
        var report = new TransferReport(measurements.Where(m => present.Any(a => a.Name == m.Arm)), Arm.PretrainedOnly, $"Replay × mixing sweep, {settings.Pairing.ToString().ToLowerInvariant()} pairing");
        var front = TransferChart.ParetoFront(report);
        var md = new StringBuilder();
        md.AppendLine(CultureInfo.InvariantCulture, $"# Replay × mixing sweep, {settings.Pairing.ToString().ToLowerInvariant()} pairing").AppendLine();
        md.AppendLine(settingsLine).AppendLine();
        md.AppendLine("Target kNN on the 2,000-image target test split; retention = source kNN on 2,000 held-out source images; mean ± std over seeds (n = seeds measured). Every trained arm made the same number of steps (equal compute with mixing in replace mode, the default). ◆ = on the Pareto front of the means (no other arm is as good on both and better on one).").AppendLine();
        md.AppendLine("| arm | n | target kNN (%) | retention (%) | validation kNN (%) | uniformity (label-free) | leave-one-out kNN, 20 labels a class (%) |");
        md.AppendLine("|---|---|---|---|---|---|---|");
        foreach (var arm in present)
        {
            md.AppendLine(CultureInfo.InvariantCulture, $"| {(front.Contains(arm.Name) ? "◆ " : "")}{arm.Name} | {report.Summarize(arm.Name, TransferMetrics.TargetKnn).Count} | {Cell(report, arm.Name, TransferMetrics.TargetKnn)} | {Cell(report, arm.Name, TransferMetrics.SourceKnn)} | {Cell(report, arm.Name, ValidationKnn)} | {Cell(report, arm.Name, TransferMetrics.Uniformity)} | {Cell(report, arm.Name, TransferReport.ValidationKnnSignal)} |");
        }

        md.AppendLine().AppendLine("## Selection rules against uniform selection").AppendLine();
        md.AppendLine(CultureInfo.InvariantCulture, $"At replay ratio {settings.ReplayRatio.ToString(CultureInfo.InvariantCulture)}, each rule minus uniform selection with the same mixing and seed (percentage points, mean ± std over the paired seeds).").AppendLine();
        md.AppendLine("| rule | mixing | n | Δ target kNN | Δ retention |");
        md.AppendLine("|---|---|---|---|---|");
        foreach (var arm in present.Where(a => a.Train && a.Selection != ReplaySelection.Uniform))
        {
            string uniform = Arm.SweepName(arm.Ratio!.Value, ReplaySelection.Uniform, arm.Mixing);
            var target = Paired(measurements, arm.Name, uniform, TransferMetrics.TargetKnn);
            var retention = Paired(measurements, arm.Name, uniform, TransferMetrics.SourceKnn);
            md.AppendLine(CultureInfo.InvariantCulture, $"| {Arm.SelectionName(arm.Selection)} | {(arm.Mixing ? "on" : "off")} | {target.Length} | {MeanStd(target)} | {MeanStd(retention)} |");
        }

        AppendAutomaticChoice(md, present.Where(a => a.Train && a.Selection == ReplaySelection.Uniform).ToList(), measurements, searches);

        Directory.CreateDirectory(directory);
        string mdPath = Path.Combine(directory, "sweep.md");
        SweepRun.WriteAtomically(mdPath, md.ToString());
        string png = Path.Combine(directory, "sweep.png");
        SweepChart.WritePng(report, present, png, report.Title + " (mean ± std over seeds)");
        return [mdPath, png];
    }

    /// <summary>
    /// Per seed, the grid arm (ratio × mixing, uniform selection) each criterion picks, scored on the test split,
    /// against the arm the labelled validation split picks.
    /// </summary>
    private static void AppendAutomaticChoice(StringBuilder md, IReadOnlyList<Arm> grid, IReadOnlyList<TransferMeasurement> measurements, IReadOnlyList<SearchTrial> searches)
    {
        var value = measurements.GroupBy(m => (m.Arm, m.Seed, m.Metric)).ToDictionary(g => g.Key, g => g.Last().Value);
        long[] seeds = [.. measurements.Select(m => m.Seed).Distinct().Order().Where(seed => grid.All(a => value.ContainsKey((a.Name, seed, TransferMetrics.TargetKnn))))];
        md.AppendLine().AppendLine("## Choosing the replay ratio and mixing automatically").AppendLine();
        if (grid.Count < 2 || seeds.Length == 0)
        {
            md.AppendLine("Needs every grid arm (ratio × mixing, uniform selection) of at least one seed.");
            return;
        }

        md.AppendLine(CultureInfo.InvariantCulture, $"The budget: every one of the {grid.Count} grid settings trained once per seed at full length ({grid.Count}× the compute of one run). Each criterion picks one setting per seed from its own numbers; the pick is then scored on the test split, which no choice sees. Regret = test target kNN of the validation-split pick - test target kNN of the criterion's pick (points, mean ± std over {seeds.Length} seeds; ≤ 0 means at least as good).").AppendLine();
        md.AppendLine("| criterion | labels used | picks (per seed) | test target kNN of the pick (%) | retention of the pick (%) | regret vs validation-split pick |");
        md.AppendLine("|---|---|---|---|---|---|");
        (string Name, string Labels, string Metric, bool Higher)[] criteria =
        [
            ("validation-split kNN (the reference)", "500 labelled target images", ValidationKnn, true),
            ("uniformity of the final backbone", "none", TransferMetrics.Uniformity, false),
            ("RankMe of the final backbone", "none", TransferMetrics.RankMe, true),
            ("leave-one-out kNN at the last monitor point", "20 a class (100)", TransferReport.ValidationKnnSignal, true),
            ("best on the test split (oracle, not a method)", "the test split", TransferMetrics.TargetKnn, true),
        ];
        var reference = seeds.ToDictionary(seed => seed, seed => Pick(grid, seed, value, ValidationKnn, true));
        foreach (var (name, labels, metric, higher) in criteria)
        {
            var picks = seeds.Select(seed => (Seed: seed, Arm: Pick(grid, seed, value, metric, higher))).Where(p => p.Arm is not null).ToList();
            if (picks.Count == 0)
            {
                continue;
            }

            double[] test = [.. picks.Select(p => 100 * value[(p.Arm!, p.Seed, TransferMetrics.TargetKnn)])];
            double[] retention = [.. picks.Select(p => 100 * value[(p.Arm!, p.Seed, TransferMetrics.SourceKnn)])];
            double[] regret = [.. picks.Where(p => reference[p.Seed] is not null).Select(p => 100 * (value[(reference[p.Seed]!, p.Seed, TransferMetrics.TargetKnn)] - value[(p.Arm!, p.Seed, TransferMetrics.TargetKnn)]))];
            md.AppendLine(CultureInfo.InvariantCulture, $"| {name} | {labels} | {string.Join("; ", picks.Select(p => p.Arm))} | {MeanStd(test, signed: false)} | {MeanStd(retention, signed: false)} | {MeanStd(regret)} |");
        }

        // The budgeted choice: FinetuneSearch's short trials, each criterion's pick scored by that setting's full run.
        var trialSeeds = seeds.Where(seed => searches.Any(t => t.Seed == seed)).ToArray();
        if (trialSeeds.Length == 0)
        {
            return;
        }

        long trialSteps = searches[0].Steps;
        md.AppendLine().AppendLine(CultureInfo.InvariantCulture, $"**Within a budget of {SweepRun.SearchBudgetRuns} runs** (`FinetuneSearch`): every grid setting trained {trialSteps} steps from the pretrained weights, then scored at its last step; the pick's full-length run is scored as above ({trialSeeds.Length} seeds).").AppendLine();
        md.AppendLine("| criterion on the short trials | labels used | picks (per seed) | test target kNN of the pick (%) | retention of the pick (%) | regret vs validation-split pick |");
        md.AppendLine("|---|---|---|---|---|---|");
        (string Name, string Labels, Func<SearchTrial, double> Score)[] trialCriteria =
        [
            ("uniformity (FinetuneSearch's label-free default)", "none", t => -t.Uniformity),
            ("RankMe", "none", t => t.RankMe),
            ("leave-one-out kNN", "20 a class (100)", t => t.LeaveOneOutKnn),
        ];
        foreach (var (name, labels, score) in trialCriteria)
        {
            var picks = trialSeeds
                .Select(seed => searches.Where(t => t.Seed == seed && double.IsFinite(score(t))).ToList())
                .Where(scored => scored.Count > 0)
                .Select(scored => (Seed: scored[0].Seed, Arm: scored.Aggregate((a, b) => score(b) > score(a) ? b : a).Candidate))
                .ToList();
            if (picks.Count == 0)
            {
                continue;
            }

            double[] test = [.. picks.Select(p => 100 * value[(p.Arm, p.Seed, TransferMetrics.TargetKnn)])];
            double[] retention = [.. picks.Select(p => 100 * value[(p.Arm, p.Seed, TransferMetrics.SourceKnn)])];
            double[] regret = [.. picks.Where(p => reference[p.Seed] is not null).Select(p => 100 * (value[(reference[p.Seed]!, p.Seed, TransferMetrics.TargetKnn)] - value[(p.Arm, p.Seed, TransferMetrics.TargetKnn)]))];
            md.AppendLine(CultureInfo.InvariantCulture, $"| {name} | {labels} | {string.Join("; ", picks.Select(p => p.Arm))} | {MeanStd(test, signed: false)} | {MeanStd(retention, signed: false)} | {MeanStd(regret)} |");
        }
    }

    private static string? Pick(IReadOnlyList<Arm> grid, long seed, Dictionary<(string, long, string), double> value, string metric, bool higher)
    {
        var scored = grid.Where(a => value.TryGetValue((a.Name, seed, metric), out double v) && double.IsFinite(v)).ToList();
        return scored.Count == 0 ? null : scored.Aggregate((a, b) => (higher ? value[(b.Name, seed, metric)] > value[(a.Name, seed, metric)] : value[(b.Name, seed, metric)] < value[(a.Name, seed, metric)]) ? b : a).Name;
    }

    private static double[] Paired(IReadOnlyList<TransferMeasurement> measurements, string arm, string reference, string metric)
    {
        var bySeed = measurements.Where(m => m.Arm == reference && m.Metric == metric).GroupBy(m => m.Seed).ToDictionary(g => g.Key, g => g.Last().Value);
        return [.. measurements.Where(m => m.Arm == arm && m.Metric == metric && bySeed.ContainsKey(m.Seed)).GroupBy(m => m.Seed).Select(g => 100 * (g.Last().Value - bySeed[g.Key]))];
    }

    /// <summary>Mean ± std over seeds as report.md writes it (accuracies in points with one decimal, others with three).</summary>
    private static string Cell(TransferReport report, string arm, string metric)
    {
        var s = report.Summarize(arm, metric);
        return double.IsFinite(s.Mean) ? ReportFormat.MeanStd(s, metric) : "–";
    }

    /// <summary>Mean ± std of values already in percentage points, one decimal; a sign on the mean for differences.</summary>
    private static string MeanStd(double[] values, bool signed = true)
    {
        if (values.Length == 0)
        {
            return "–";
        }

        double mean = values.Average();
        string text = ReportFormat.Number(mean, ReportFormat.AccuracyDecimals, signed);
        return values.Length < 2 ? text : text + " ± " + ReportFormat.Number(Math.Sqrt(values.Sum(v => (v - mean) * (v - mean)) / (values.Length - 1)), ReportFormat.AccuracyDecimals);
    }
}
