// The paper's experiment in miniature: from the shipped MoCo v2 source model (Fashion-MNIST classes 0–4),
// finetune on a few hundred unlabelled target images with each arm — pretrained only, naive UFT, sparse
// replay, mixing, replay + mixing — at equal compute, and measure target accuracy (kNN, linear probe) and
// source retention (kNN on held-out source images).
//
//   dotnet run -c Release --project samples/Quickstart                       # defaults, one seed
//   dotnet run -c Release --project samples/Quickstart -- --seeds 0,1,2 --pairing far
//   dotnet run -c Release --project samples/Quickstart -- --render-only --out samples/Quickstart/results/far   # redraw a saved report
using System.Diagnostics;
using Spectre.Console;
using UnsupervisedFinetuning.Evaluation;
using UnsupervisedFinetuning.Reporting;
using UnsupervisedFinetuning.Samples.Quickstart;

var commandLine = QuickstartCommandLine.Parse(args);
if (commandLine.Errors.Count > 0)
{
    foreach (string error in commandLine.Errors)
    {
        AnsiConsole.MarkupLineInterpolated($"[red]error:[/] {error}");
    }

    AnsiConsole.MarkupLine("Run with [bold]--help[/] for the options.");
    return 2;
}

if (commandLine.Settings is null)
{
    return commandLine.Result.Invoke(); // --help, --version
}

try
{
    return QuickstartRun.Execute(commandLine.Settings);
}
catch (UsageException e)
{
    AnsiConsole.MarkupLineInterpolated($"[red]error:[/] {e.Message}");
    AnsiConsole.MarkupLine("Run with [bold]--help[/] for the options.");
    return 2;
}
catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException or InvalidDataException)
{
    // The data folder exists but a file in it is missing or corrupt: not a usage error.
    AnsiConsole.MarkupLineInterpolated($"[red]error:[/] {e.Message}");
    return 1;
}

namespace UnsupervisedFinetuning.Samples.Quickstart
{
    /// <summary>A command-line value that cannot work with the data or the machine: the program exits with 2.</summary>
    internal sealed class UsageException(string message) : Exception(message);

    /// <summary>Loads the data, runs the experiment, prints the table and writes the report.</summary>
    internal static class QuickstartRun
    {
        public static int Execute(Settings settings)
        {
            var clock = Stopwatch.StartNew();
            if (settings.RenderOnly)
            {
                return Render(settings);
            }

            try
            {
                TorchDevices.Resolve(settings.Device);
            }
            catch (InvalidOperationException e)
            {
                throw new UsageException($"--device {settings.Device}: {e.Message}");
            }

            var source = new SourceModel(settings.Data);
            using var data = new ExperimentData(settings.Data, settings.Pairing);
            if (settings.TargetSize > data.TargetTrain.Count)
            {
                throw new UsageException($"--target-size {settings.TargetSize} is more than the {data.TargetTrain.Count} images of the {settings.Pairing.ToString().ToLowerInvariant()} pairing's target train split.");
            }

            AnsiConsole.MarkupLineInterpolated($"[bold]Unsupervised finetuning[/] — {data.Description}");
            if (settings.Sweep is not null)
            {
                return SweepRun.Execute(settings, data, source, clock);
            }

            AnsiConsole.MarkupLineInterpolated($"Source model: SmallCnn(256), MoCo v2, {source.Epochs} epochs on 15,000 Fashion-MNIST images; {settings.TargetSize} unlabelled target images; {settings.Steps} steps of {settings.BatchSize} per arm; seeds {string.Join(", ", settings.Seeds)}");

            string studySettings = $"Settings: {data.Description}; {settings.TargetSize} target images, {settings.Steps} steps of {settings.BatchSize}, lr {settings.LearningRate}, seeds {string.Join(", ", settings.Seeds)}{(settings.Precision == ComputePrecision.Float32 ? "" : $", training in {settings.Precision}")}.";
            var result = new Experiment(settings, data, source).Run(Arm.All(), settings.Study ? partial => SignalStudy.Write(settings.Output.FullName, partial, studySettings + $" (written after {partial.Traces.Select(t => t.Seed).Distinct().Count()} seed(s))") : null);
            var report = new TransferReport(result.Measurements, Arm.Naive, $"Unsupervised finetuning, {settings.Pairing.ToString().ToLowerInvariant()} pairing");
            foreach (var trace in result.Traces)
            {
                report.Monitoring.Add(trace);
            }

            report.Notes.Add($"Pairing: {data.Description}.");
            report.Notes.Add($"Source model: SmallCnn (256-d), MoCo v2 pretrained {source.Epochs} epochs on Fashion-MNIST classes 0–4 (samples/data/pretrained).");
            report.Notes.Add($"Finetuning: MoCo v2 from the pretrained backbone and head, {settings.TargetSize} unlabelled target images, {settings.Steps} steps of batch {settings.BatchSize} per arm (equal compute, mixing {settings.MixingMode} in {settings.MixingCompute.ToString().ToLowerInvariant()} mode, α = {settings.MixingAlpha}), lr {settings.LearningRate}, replay ratio {settings.ReplayRatio} (Union){(settings.Precision == ComputePrecision.Float32 ? "" : $", training step in {settings.Precision} (evaluation in float32)")}.");
            report.Notes.Add($"Evaluation: kNN (k = 20, τ = 0.07) with the target train split ({data.TargetTrain.Count} images) as bank, on {data.TargetTest.Count} target test images; linear probe (λ chosen on {data.TargetValidation.Count} validation images); retention = kNN on {data.SourceTest.Count} held-out source images with a {data.SourceBank.Count}-image source bank.");
            report.Notes.Add($"Label-free: RankMe, uniformity and alignment of the finetuned backbone on the {settings.TargetSize} unlabelled target images; drift (linear CKA, share of 10 nearest neighbours kept) from the pretrained backbone on 256 held-out source images. Monitoring during each run: the engine's defaults (automatic interval, ≤ 5% of the compute) with leave-one-out kNN on 20 labelled validation images per class; each run's step selected by {QuickstartCommandLine.CriterionName(settings.Criterion)} (\"selected step\" columns).");
            var files = report.WriteWithChart(settings.Output.FullName, "report").ToList();
            if (settings.Study)
            {
                files.AddRange(SignalStudy.Write(settings.Output.FullName, result, studySettings));
            }

            WriteTable(report);
            AnsiConsole.Write(SelectionTable(report, QuickstartCommandLine.CriterionName(settings.Criterion)));
            foreach (string file in files)
            {
                AnsiConsole.MarkupLineInterpolated($"wrote {file}");
            }

            AnsiConsole.MarkupLineInterpolated($"Finished in {clock.Elapsed.TotalMinutes:F1} min.");
            return 0;
        }

        /// <summary>
        /// --render-only: the report saved in --out written again with the current code (charts, Markdown, CSV, JSON) and
        /// its table printed, without training. The numbers are the file's, so the rewritten files hold the same values.
        /// </summary>
        private static int Render(Settings settings)
        {
            string folder = settings.Output.FullName;
            var report = SavedReport.Read(Path.Combine(folder, QuickstartCommandLine.RenderedReport));
            var files = report.WriteWithChart(folder, "report");
            AnsiConsole.MarkupLineInterpolated($"[bold]{report.Title}[/] (from {Path.Combine(folder, QuickstartCommandLine.RenderedReport)})");
            WriteTable(report);
            foreach (string file in files)
            {
                AnsiConsole.MarkupLineInterpolated($"wrote {file}");
            }

            return 0;
        }

        /// <summary>The main table: every arm's accuracies (with Δ against the reference arm) and label-free drift, digits as in report.md.</summary>
        private static void WriteTable(TransferReport report)
        {
            var table = new Table().Border(TableBorder.Rounded).AddColumn("arm");
            string[] shown = [TransferMetrics.TargetKnn, TransferMetrics.TargetLinearProbe, TransferMetrics.SourceKnn, TransferMetrics.SourceCka, TransferMetrics.SourceNeighbourhoods, TransferMetrics.RankMe];
            foreach (string metric in shown)
            {
                table.AddColumn(new TableColumn(metric).RightAligned());
            }

            foreach (string arm in report.Arms)
            {
                table.AddRow([arm, .. shown.Select(m => Cell(report, arm, m))]);
            }

            AnsiConsole.Write(table);
            AnsiConsole.MarkupLineInterpolated($"Δ = paired difference against {report.ReferenceArm} (percentage points, same seed). Label-free columns: no label was used.");
        }

        /// <summary>Per trained arm: the step the label-free criterion selected against the last step, paired per seed.</summary>
        private static Table SelectionTable(TransferReport report, string criterion)
        {
            var table = new Table().Border(TableBorder.Rounded).Title($"Step selected by {criterion} (label-free) vs the last step")
                .AddColumn("arm").AddColumn(new TableColumn("selected steps").RightAligned())
                .AddColumn(new TableColumn("Δ target kNN").RightAligned()).AddColumn(new TableColumn("Δ retention").RightAligned());
            foreach (var arm in report.Monitoring.Select(t => t.Arm).Distinct())
            {
                string steps = string.Join(", ", report.Monitoring.Where(t => t.Arm == arm).Select(t => t.SelectedStep));
                table.AddRow(arm, steps, Paired(report, arm, TransferMetrics.TargetKnnSelected, TransferMetrics.TargetKnn), Paired(report, arm, TransferMetrics.SourceKnnSelected, TransferMetrics.SourceKnn));
            }

            return table;
        }

        private static string Paired(TransferReport report, string arm, string selected, string last)
        {
            var byMetric = report.Measurements.Where(m => m.Arm == arm).ToLookup(m => m.Metric);
            var lastBySeed = byMetric[last].ToDictionary(m => m.Seed, m => m.Value);
            double[] d = byMetric[selected].Where(m => lastBySeed.ContainsKey(m.Seed)).Select(m => 100 * (m.Value - lastBySeed[m.Seed])).ToArray();
            double mean = d.Average();
            string text = ReportFormat.Number(mean, ReportFormat.AccuracyDecimals, signed: true);
            return d.Length > 1 ? text + " ± " + ReportFormat.Number(Math.Sqrt(d.Sum(x => (x - mean) * (x - mean)) / (d.Length - 1)), ReportFormat.AccuracyDecimals) : text;
        }

        /// <summary>A table cell: mean ± std as report.md writes it (ReportFormat), and for accuracies the paired Δ's mean.</summary>
        internal static string Cell(TransferReport report, string arm, string metric)
        {
            string text = ReportFormat.MeanStd(report.Summarize(arm, metric), metric);
            var d = report.PairedDifference(arm, metric);
            return TransferMetrics.IsAccuracy(metric) && arm != report.ReferenceArm && d.Count > 0
                ? $"{text} (Δ {ReportFormat.Value(d.Mean, metric, signed: true)})"
                : text;
        }
    }
}
