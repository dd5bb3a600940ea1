// The paper's experiment in miniature: from the shipped MoCo v2 source model (Fashion-MNIST classes 0–4),
// finetune on a few hundred unlabelled target images with each arm — pretrained only, naive UFT, sparse
// replay, mixing, replay + mixing — at equal compute, and measure target accuracy (kNN, linear probe) and
// source retention (kNN on held-out source images).
//
//   dotnet run -c Release --project samples/Quickstart                       # defaults, one seed
//   dotnet run -c Release --project samples/Quickstart -- --seeds 0,1,2 --pairing far
using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using Spectre.Console;
using UnsupervisedFinetuning.Evaluation;
using UnsupervisedFinetuning.Samples;
using UnsupervisedFinetuning.Samples.Quickstart;

var pairingOption = new Option<Pairing>("--pairing") { Description = "far: Fashion 0–4 → MNIST digits; near: Fashion 0–4 → Fashion 5–9", DefaultValueFactory = _ => Pairing.Far };
var seedsOption = new Option<string>("--seeds") { Description = "Comma-separated seeds, e.g. 0,1,2", DefaultValueFactory = _ => "0" };
var targetOption = new Option<int>("--target-size") { Description = "Unlabelled target images to finetune on", DefaultValueFactory = _ => 300 };
var stepsOption = new Option<int?>("--steps") { Description = "Finetuning steps of each arm (equal compute; default 500)" };
var epochsOption = new Option<int?>("--epochs") { Description = "Instead of --steps: passes over the unlabelled target set (steps = ⌈epochs × target size / batch size⌉)" };
var batchOption = new Option<int>("--batch-size") { Description = "Images per step", DefaultValueFactory = _ => 128 };
var lrOption = new Option<double?>("--lr") { Description = "Peak learning rate (default: chosen on validation per pairing, far 0.02, near 0.06)" };
var ratioOption = new Option<double>("--replay-ratio") { Description = "Replayed source images per target image", DefaultValueFactory = _ => 0.25 };
var alphaOption = new Option<double>("--mixing-alpha") { Description = "α of λ ~ Beta(α, α)", DefaultValueFactory = _ => 1.0 };
var mixModeOption = new Option<string>("--mixing") { Description = "mixup or cutmix", DefaultValueFactory = _ => "mixup" };
var mixComputeOption = new Option<string>("--mixing-compute") { Description = "replace (no extra pass) or add (second query pass; arms without mixing then get twice the steps)", DefaultValueFactory = _ => "replace" };
var outOption = new Option<DirectoryInfo>("--out") { Description = "Folder for report.md/csv/json and report.png", DefaultValueFactory = _ => new DirectoryInfo("quickstart-output") };
var dataOption = new Option<DirectoryInfo?>("--data") { Description = "The samples/data folder (found automatically)" };
var deviceOption = new Option<string>("--device") { Description = "auto, cpu, cuda, cuda:N", DefaultValueFactory = _ => "auto" };

var root = new RootCommand("Unsupervised finetuning, the paper's comparison in miniature")
{
    pairingOption, seedsOption, targetOption, stepsOption, epochsOption, batchOption, lrOption, ratioOption, alphaOption, mixModeOption, mixComputeOption, outOption, dataOption, deviceOption,
};
seedsOption.Validators.Add(r =>
{
    string text = r.GetValueOrDefault<string>() ?? string.Empty;
    if (text.Split(',', StringSplitOptions.RemoveEmptyEntries).Any(s => !long.TryParse(s.Trim(), NumberStyles.Integer, CultureInfo.InvariantCulture, out _)) || text.Trim().Length == 0)
    {
        r.AddError($"--seeds must be a comma-separated list of integers, e.g. 0,1,2; got '{text}'.");
    }
});
targetOption.Validators.Add(r => { int v = r.GetValueOrDefault<int>(); if (v < 32 || v > 7000) { r.AddError($"--target-size must be between 32 and 7000; got {v}."); } });
stepsOption.Validators.Add(r => { int? v = r.GetValueOrDefault<int?>(); if (v < 1) { r.AddError($"--steps must be at least 1; got {v}."); } });
epochsOption.Validators.Add(r => { int? v = r.GetValueOrDefault<int?>(); if (v < 1) { r.AddError($"--epochs must be at least 1; got {v}."); } });
dataOption.Validators.Add(r => { var d = r.GetValueOrDefault<DirectoryInfo?>(); if (d is not null && !d.Exists) { r.AddError($"--data {d.FullName} does not exist."); } });
deviceOption.Validators.Add(r => { string v = r.GetValueOrDefault<string>() ?? ""; if (!UnsupervisedFinetuning.TorchDevices.IsValidName(v)) { r.AddError($"--device must be auto, cpu, cuda, cuda:N or mps; got '{v}'."); } });
batchOption.Validators.Add(r => { int v = r.GetValueOrDefault<int>(); if (v < 2) { r.AddError($"--batch-size must be at least 2; got {v}."); } });
lrOption.Validators.Add(r => { double? v = r.GetValueOrDefault<double?>(); if (v is not null && !(v > 0)) { r.AddError($"--lr must be positive; got {v}."); } });
ratioOption.Validators.Add(r => { double v = r.GetValueOrDefault<double>(); if (!(v > 0 && v <= 10)) { r.AddError($"--replay-ratio must be in (0, 10]; got {v}."); } });
alphaOption.Validators.Add(r => { double v = r.GetValueOrDefault<double>(); if (!(v > 0)) { r.AddError($"--mixing-alpha must be positive; got {v}."); } });
mixModeOption.Validators.Add(r => { string v = r.GetValueOrDefault<string>() ?? ""; if (v is not ("mixup" or "cutmix")) { r.AddError($"--mixing must be mixup or cutmix; got '{v}'."); } });
mixComputeOption.Validators.Add(r => { string v = r.GetValueOrDefault<string>() ?? ""; if (v is not ("replace" or "add")) { r.AddError($"--mixing-compute must be replace or add; got '{v}'."); } });

var parse = root.Parse(args);
var errors = parse.Errors.Select(e => e.Message).ToList();
if (errors.Count == 0)
{
    // Rules across options (checked here: System.CommandLine's per-option validators see one option each).
    if (parse.GetValue(stepsOption) is not null && parse.GetValue(epochsOption) is not null)
    {
        errors.Add("Give --steps or --epochs, not both.");
    }

    if (parse.GetValue(batchOption) > parse.GetValue(targetOption))
    {
        errors.Add($"--batch-size ({parse.GetValue(batchOption)}) must not exceed --target-size ({parse.GetValue(targetOption)}): a step needs a full batch of target images.");
    }
}

if (errors.Count > 0)
{
    foreach (string error in errors)
    {
        AnsiConsole.MarkupLineInterpolated($"[red]error:[/] {error}");
    }

    AnsiConsole.MarkupLine("Run with [bold]--help[/] for the options.");
    return 2;
}

if (parse.Action is not null && (parse.Action.GetType().Name.Contains("Help", StringComparison.Ordinal) || parse.Action.GetType().Name.Contains("Version", StringComparison.Ordinal)))
{
    return parse.Invoke();
}

int targetSize = parse.GetValue(targetOption);
int batchSize = parse.GetValue(batchOption);
int steps = parse.GetValue(stepsOption)
    ?? (parse.GetValue(epochsOption) is int epochs ? (int)Math.Ceiling((double)epochs * targetSize / batchSize) : 500);

try
{
    var settings = new Settings(
        parse.GetValue(pairingOption),
        parse.GetValue(seedsOption)!.Split(',', StringSplitOptions.RemoveEmptyEntries).Select(s => long.Parse(s.Trim(), CultureInfo.InvariantCulture)).Distinct().ToArray(),
        targetSize,
        steps,
        batchSize,
        parse.GetValue(lrOption) ?? (parse.GetValue(pairingOption) == Pairing.Far ? 0.02 : 0.06),
        parse.GetValue(ratioOption),
        parse.GetValue(alphaOption),
        parse.GetValue(mixModeOption)!,
        parse.GetValue(mixComputeOption) == "add" ? UnsupervisedFinetuning.Engine.MixingCompute.Add : UnsupervisedFinetuning.Engine.MixingCompute.Replace,
        parse.GetValue(outOption)!,
        parse.GetValue(dataOption) ?? SampleDataDirectory.Find() ?? throw new UsageException("samples/data was not found above the working directory or the program; pass --data <folder>."),
        parse.GetValue(deviceOption)!);
    return QuickstartRun.Execute(settings);
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
            try
            {
                TorchDevices.Resolve(settings.Device);
            }
            catch (InvalidOperationException e)
            {
                throw new UsageException($"--device {settings.Device}: {e.Message}");
            }

            var pretrained = new PretrainedModel(settings.Data);
            using var data = new ExperimentData(settings.Data, settings.Pairing);
            if (settings.TargetSize > data.TargetTrain.Count)
            {
                throw new UsageException($"--target-size {settings.TargetSize} is more than the {data.TargetTrain.Count} images of the {settings.Pairing.ToString().ToLowerInvariant()} pairing's target train split.");
            }

            AnsiConsole.MarkupLineInterpolated($"[bold]Unsupervised finetuning[/] — {data.Description}");
            AnsiConsole.MarkupLineInterpolated($"Source model: SmallCnn(256), MoCo v2, {pretrained.Epochs} epochs on 15,000 Fashion-MNIST images; {settings.TargetSize} unlabelled target images; {settings.Steps} steps of {settings.BatchSize} per arm; seeds {string.Join(", ", settings.Seeds)}");

            var measurements = new Experiment(settings, data, pretrained).Run();
            var report = new TransferReport(measurements, Arm.Naive, $"Unsupervised finetuning, {settings.Pairing.ToString().ToLowerInvariant()} pairing");
            report.Notes.Add($"Pairing: {data.Description}.");
            report.Notes.Add($"Source model: SmallCnn (256-d), MoCo v2 pretrained {pretrained.Epochs} epochs on Fashion-MNIST classes 0–4 (samples/data/pretrained).");
            report.Notes.Add($"Finetuning: MoCo v2 from the pretrained backbone and head, {settings.TargetSize} unlabelled target images, {settings.Steps} steps of batch {settings.BatchSize} per arm (equal compute, mixing {settings.MixingMode} in {settings.MixingCompute.ToString().ToLowerInvariant()} mode, α = {settings.MixingAlpha}), lr {settings.LearningRate}, replay ratio {settings.ReplayRatio} (Union).");
            report.Notes.Add($"Evaluation: kNN (k = 20, τ = 0.07) with the target train split ({data.TargetTrain.Count} images) as bank, on {data.TargetTest.Count} target test images; linear probe (λ chosen on {data.TargetValidation.Count} validation images); retention = kNN on {data.SourceTest.Count} held-out source images with a {data.SourceBank.Count}-image source bank.");
            var files = report.Write(settings.Output.FullName, "report").ToList();

            var table = new Table().Border(TableBorder.Rounded).AddColumn("arm");
            string[] shown = [TransferMetrics.TargetKnn, TransferMetrics.TargetLinearProbe, TransferMetrics.SourceKnn, TransferMetrics.TargetKnnValidation];
            foreach (string metric in shown)
            {
                table.AddColumn(new TableColumn(metric).RightAligned());
            }

            foreach (string arm in report.Arms)
            {
                table.AddRow([arm, .. shown.Select(m => Cell(report, arm, m))]);
            }

            AnsiConsole.Write(table);
            AnsiConsole.MarkupLine("Δ = paired difference against naive UFT (percentage points, same seed).");
            foreach (string file in files)
            {
                AnsiConsole.MarkupLineInterpolated($"wrote {file}");
            }

            AnsiConsole.MarkupLineInterpolated($"Finished in {clock.Elapsed.TotalMinutes:F1} min.");
            return 0;
        }

        private static string Cell(TransferReport report, string arm, string metric)
        {
            var s = report.Summarize(arm, metric);
            string text = (s.Mean * 100).ToString("F1", CultureInfo.InvariantCulture) + (double.IsNaN(s.Std) ? "" : " ± " + (s.Std * 100).ToString("F1", CultureInfo.InvariantCulture));
            if (arm != report.ReferenceArm)
            {
                var d = report.PairedDifference(arm, metric);
                text += $" (Δ {(d.Mean * 100).ToString("+0.0;-0.0;0.0", CultureInfo.InvariantCulture)})";
            }

            return text;
        }
    }
}
