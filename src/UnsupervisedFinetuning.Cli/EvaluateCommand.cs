using TorchSharp;
using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using Spectre.Console;
using UnsupervisedFinetuning.Augment;
using UnsupervisedFinetuning.Backbones;
using UnsupervisedFinetuning.Data;
using UnsupervisedFinetuning.Evaluation;

namespace UnsupervisedFinetuning.Cli;

/// <summary>
/// <c>uft evaluate</c>: how good a backbone's features are — kNN and linear probe on labelled target images,
/// retention (kNN on labelled source images), and the label-free monitors (RankMe, alignment, uniformity) —
/// for one backbone, or for two side by side with <c>--compare</c>.
/// </summary>
internal static class EvaluateCommand
{
    public static Command Create(IAnsiConsole console, CancellationToken stop, UftCatalogs? catalogs = null)
    {
        catalogs ??= UftCatalogs.BuiltIn;
        var model = new ModelArguments(architectures: catalogs.Architectures);
        var compare = new Option<string?>("--compare") { Description = "A second backbone (*.model.json, or a checkpoint of the same --arch) to show side by side, e.g. the finetuned one" };
        var train = new Option<string?>("--train") { Description = "Labelled target images (folder of class sub-folders, at least 2, or a manifest with labels): the kNN bank and the probe's training set. Without it (give --unlabelled), only the label-free monitors are measured [required unless --unlabelled is given]" };
        var test = new Option<string?>("--test") { Description = "Labelled target images to score on; when absent or equal to --train, --train is split (stratified, seeded)" };
        var validation = new Option<string?>("--validation") { Description = "Labelled target images the probe chooses its L2 strength on [default: 20% of --train]" };
        var sourceTrain = new Option<string?>("--source-train") { Description = "Labelled source images: the retention kNN bank [default: half of --source-test]" };
        var sourceTest = new Option<string?>("--source-test") { Description = "Labelled source images the retention kNN is scored on" };
        var sourceProbe = new Option<string?>("--source-probe") { Description = "Source images (labels not needed) to measure drift on with --compare: linear CKA and neighbourhood preservation [default: the --source-test images]" };
        var unlabelled = new Option<string?>("--unlabelled") { Description = "Target images for the label-free monitors, no labels needed; enough on its own when the target has no labels [default: the --train images, labels unused]" };
        var seed = new Option<long>("--seed") { Description = "Seed of the splits and the monitors' views", DefaultValueFactory = _ => 0 };
        var json = new Option<string?>("--json") { Description = "Also write the results as JSON to this file" };
        var device = new Option<string>("--device") { Description = "auto, cpu, cuda or cuda:N", DefaultValueFactory = _ => TorchDevices.Auto };
        var precision = new Option<string>("--precision") { Description = "float32, bfloat16, float16 or auto: the dtype the backbones' convolutions compute in while features are read (features are float32); auto takes bfloat16 where the device computes it natively", DefaultValueFactory = _ => "float32" };

        var threads = ThreadsArgument.Create();
        var command = new Command("evaluate", "Measure a backbone (or two, side by side): target kNN and linear probe, source retention, label-free monitors.");
        foreach (var option in model.All.Concat([compare, train, test, validation, sourceTrain, sourceTest, sourceProbe, unlabelled, seed, json, device, precision, threads]))
        {
            command.Options.Add(option);
        }

        command.SetAction(parse =>
        {
            long seedValue = parse.GetValue(seed);
            var models = new List<(string Name, PretrainedModel Model)>();
            try
            {
                string first = parse.GetValue(model.Backbone) ?? throw new UsageException("--backbone is required: a *.model.json, or a checkpoint with --arch.");
                if (parse.GetValue(train) is null && parse.GetValue(unlabelled) is null)
                {
                    throw new UsageException("give --train (labelled target images: kNN, linear probe and the label-free monitors) or --unlabelled (target images without labels: the label-free monitors only).");
                }

                if (parse.GetValue(json) is { } jsonOut)
                {
                    OutputPaths.WritableFile(jsonOut, "--json"); // before minutes of feature extraction
                }

                models.Add((first, model.Load(parse)));
                if (parse.GetValue(compare) is { } second)
                {
                    models.Add((second, model.Load(parse, second, "--compare")));
                    if (models[1].Model.Description.Backbone.InputChannels != models[0].Model.Description.Backbone.InputChannels)
                    {
                        throw new UsageException($"--compare {second} takes {models[1].Model.Description.Backbone.InputChannels}-channel images but --backbone {first} takes {models[0].Model.Description.Backbone.InputChannels}.");
                    }
                }

                using var threadCount = ThreadsArgument.Apply(parse.GetValue(threads), out int threadsUsed);
                var deviceUsed = TorchDevices.Resolve(parse.GetValue(device));
                var computePrecision = OptionValues.ParsePrecision(parse.GetValue(precision)!, training: false);
                var imageOptions = models[0].Model.ImageFolderOptions();
                imageOptions.DecodeThreads = threadsUsed;
                var logger = new WarningLogger(parse.InvocationConfiguration.Error);
                using var data = EvaluationData.Load(parse.GetValue(train), parse.GetValue(test), parse.GetValue(validation), parse.GetValue(sourceTrain), parse.GetValue(sourceTest), parse.GetValue(unlabelled), imageOptions, seedValue, logger, catalogs.Sources);
                var results = new List<EvaluationResult>();
                foreach (var (name, m) in models)
                {
                    stop.ThrowIfCancellationRequested();
                    m.Backbone.to(deviceUsed);
                    console.MarkupLineInterpolated($"[grey]evaluating {Path.GetFileName(name)} …[/]");
                    // The alignment monitor compares two augmented views of each image: the MoCo v2 recipe (the small-image
                    // one below 64 px) at the model's input size and normalisation.
                    var views = AugmentationPresets.Create(m.AugmentationOptions(), AugmentationPreset.MocoV2, m.Description.Backbone.InputChannels, m.Description.Input.Height);
                    var evaluator = new TransferEvaluator(m.Preprocess, monitorViews: views) { Precision = computePrecision };
                    results.Add(data.Sets is { } sets
                        ? EvaluationResult.From(evaluator.Evaluate(m.Backbone, sets, seedValue))
                        : EvaluationResult.From(evaluator.MeasureWithoutLabels(m.Backbone, data.Monitor, seedValue),
                            data.SourceBank is { } bank && data.SourceTest is { } scored ? evaluator.Retention(m.Backbone, bank, scored) : null));
                }

                var counts = EvaluationCounts.Of(data);
                // Straight to the writer: Spectre would wrap a long path after "backbone:" at 80 columns in a pipe.
                console.Profile.Out.Writer.WriteLine($"backbone: {ConsoleText.Printable(Path.GetFullPath(models[0].Name))}");
                if (models.Count == 2)
                {
                    console.Profile.Out.Writer.WriteLine($"compare:  {ConsoleText.Printable(Path.GetFullPath(models[1].Name))}");
                }

                console.Write(Table(models.Select(m => m.Name).ToList(), results, counts));
                foreach (string note in counts.SmallSplitNotes(results))
                {
                    console.MarkupLine($"[yellow]{Markup.Escape(note)}[/]");
                }

                DriftMeasurement? drift = null;
                string? probePath = parse.GetValue(sourceProbe) ?? parse.GetValue(sourceTest);
                if (models.Count == 2 && probePath is not null)
                {
                    if (models[0].Model.Description.Input != models[1].Model.Description.Input)
                    {
                        console.MarkupLine("[yellow]drift not measured: the two backbones take different inputs (size or normalisation).[/]");
                    }
                    else
                    {
                        drift = Drift(models[0].Model, models[1].Model, computePrecision, probePath, parse.GetValue(sourceProbe) is null ? "--source-test" : "--source-probe", imageOptions, new WarningLogger(parse.InvocationConfiguration.Error), catalogs.Sources);
                        var table = new Table().AddColumn($"drift on {drift.Images} source images (no labels)").AddColumn(new TableColumn("").RightAligned());
                        table.AddRow("linear CKA (1: unchanged)", drift.LinearCka.ToString("F3", CultureInfo.InvariantCulture));
                        table.AddRow($"neighbourhood preservation, k = {drift.Neighbours} (1: unchanged)", drift.NeighbourhoodPreservation.ToString("F3", CultureInfo.InvariantCulture));
                        console.Write(table);
                    }
                }

                if (parse.GetValue(json) is { } jsonPath)
                {
                    var document = models.Select((m, i) => new { backbone = Path.GetFullPath(m.Name), evaluation = results[i] }).ToArray();
                    string temporary = jsonPath + ".tmp";
                    File.WriteAllText(temporary, JsonSerializer.Serialize(new { models = document, sourceDrift = drift, images = counts }, FinetuneSettings.Json) + "\n");
                    File.Move(temporary, jsonPath, overwrite: true);
                }

                return ExitCodes.Success;
            }
            finally
            {
                foreach (var (_, m) in models)
                {
                    m.Dispose();
                }
            }
        });
        return command;
    }

    /// <summary>Linear CKA and neighbourhood preservation of the two backbones' features of the probe images.</summary>
    private static DriftMeasurement Drift(PretrainedModel start, PretrainedModel finetuned, ComputePrecision precision, string path, string option, ImageFolderOptions options, WarningLogger logger, Catalog<ImageSourceEntry> sources)
    {
        // The drift alone: the monitors of CompareWithoutLabels are in the first table already.
        using var images = DataArguments.Unlabeled(path, option, options, logger, sources).LoadIntoMemory();
        int k = Math.Min(10, images.Count - 1);
        using var before = FeatureExtractor.Extract(start.Backbone, images, start.Preprocess, precision: precision);
        using var after = FeatureExtractor.Extract(finetuned.Backbone, images, finetuned.Preprocess, precision: precision);
        return new DriftMeasurement(RepresentationDrift.LinearCka(before, after), RepresentationDrift.NeighbourhoodPreservation(before, after, k), images.Count, k);
    }

    private static Table Table(IReadOnlyList<string> names, IReadOnlyList<EvaluationResult> results, EvaluationCounts counts)
    {
        // Columns are headed by option, the paths are in the lines above the table: a model file name rarely fits an
        // 80-column terminal twice, and two runs' finetuned.model.json share one.
        var table = new Table().AddColumn("metric");
        foreach (string header in new[] { "backbone", "compare" }.Take(names.Count))
        {
            table.AddColumn(new TableColumn(header).RightAligned());
        }

        if (names.Count == 2)
        {
            table.AddColumn(new TableColumn("Δ").RightAligned());
        }

        void Row(string metric, Func<EvaluationResult, double?> value, bool percent)
        {
            var values = results.Select(value).ToList();
            if (values.All(v => v is null))
            {
                return;
            }

            var cells = new List<string> { metric };
            cells.AddRange(values.Select(v => v is null ? "—" : percent ? ReportNumbers.Percent(v.Value) + " %" : ReportNumbers.Fixed(v.Value, 3)));
            if (values.Count == 2)
            {
                cells.Add(values[0] is { } a && values[1] is { } b ? (percent ? ReportNumbers.SignedPoints(b - a) : ReportNumbers.Signed(b - a, 3)) : "—");
            }

            table.AddRow(cells.Select(Markup.Escape).ToArray());
        }

        // Every accuracy names the images it was measured on; a split under EvaluationCounts.Small is marked.
        Row($"target kNN ({counts.Describe(counts.TargetTest)})", r => r.TargetKnn, percent: true);
        Row($"target kNN, validation ({counts.Describe(counts.TargetValidation)})", r => r.TargetKnnValidation, percent: true);
        Row($"target linear probe ({counts.Describe(counts.TargetTest)})", r => r.TargetLinearProbe, percent: true);
        Row($"retention: source kNN ({counts.Describe(counts.SourceTest)})", r => r.SourceKnn, percent: true);
        Row($"RankMe ↑ ({counts.Monitor} images)", r => r.RankMe, percent: false);
        Row($"alignment ↓ ({counts.Monitor} images)", r => r.Alignment, percent: false);
        Row($"uniformity ↓ ({counts.Monitor} images)", r => r.Uniformity, percent: false);
        return table;
    }
}
