using TorchSharp;
using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using Spectre.Console;
using UnsupervisedFinetuning.Augment;
using UnsupervisedFinetuning.Backbones;
using UnsupervisedFinetuning.Evaluation;

namespace UnsupervisedFinetuning.Cli;

/// <summary>
/// <c>uft evaluate</c>: how good a backbone's features are — kNN and linear probe on labelled target images,
/// retention (kNN on labelled source images), and the label-free monitors (RankMe, alignment, uniformity) —
/// for one backbone, or for two side by side with <c>--compare</c>.
/// </summary>
internal static class EvaluateCommand
{
    public static Command Create(IAnsiConsole console, CancellationToken stop)
    {
        var model = new ModelArguments();
        var compare = new Option<string?>("--compare") { Description = "A second backbone (*.model.json, or a checkpoint of the same --arch) to show side by side, e.g. the finetuned one" };
        var train = new Option<string?>("--train") { Description = "Labelled target images (folder of class sub-folders, or a manifest with labels): the kNN bank and the probe's training set" };
        var test = new Option<string?>("--test") { Description = "Labelled target images to score on; when absent or equal to --train, --train is split (stratified, seeded)" };
        var validation = new Option<string?>("--validation") { Description = "Labelled target images the probe chooses its L2 strength on (default: 20% of --train)" };
        var sourceTrain = new Option<string?>("--source-train") { Description = "Labelled source images: the retention kNN bank (default: half of --source-test)" };
        var sourceTest = new Option<string?>("--source-test") { Description = "Labelled source images the retention kNN is scored on" };
        var sourceProbe = new Option<string?>("--source-probe") { Description = "Source images (labels not needed) to measure drift on with --compare: linear CKA and neighbourhood preservation (default: the --source-test images)" };
        var unlabelled = new Option<string?>("--unlabelled") { Description = "Target images for the label-free monitors (default: the --train images, labels unused)" };
        var seed = new Option<long>("--seed") { Description = "Seed of the splits and the monitors' views", DefaultValueFactory = _ => 0 };
        var json = new Option<string?>("--json") { Description = "Also write the results as JSON to this file" };
        var device = new Option<string>("--device") { Description = "auto, cpu, cuda or cuda:N", DefaultValueFactory = _ => TorchDevices.Auto };
        var precision = new Option<string>("--precision") { Description = "float32 (default), bfloat16, float16 or auto: the dtype the backbones' convolutions compute in while features are read (features are float32); auto takes bfloat16 where the device computes it natively", DefaultValueFactory = _ => "float32" };

        var command = new Command("evaluate", "Measure a backbone (or two, side by side): target kNN and linear probe, source retention, label-free monitors.");
        foreach (var option in model.All.Concat([compare, train, test, validation, sourceTrain, sourceTest, sourceProbe, unlabelled, seed, json, device, precision]))
        {
            command.Options.Add(option);
        }

        command.SetAction(parse =>
        {
            string trainPath = parse.GetValue(train) ?? throw new UsageException("--train is required: labelled target images (root/<class>/<image>, or a manifest with labels).");
            long seedValue = parse.GetValue(seed);
            var models = new List<(string Name, PretrainedModel Model)>();
            try
            {
                string first = parse.GetValue(model.Backbone) ?? throw new UsageException("--backbone is required: a *.model.json, or a checkpoint with --arch.");
                models.Add((first, model.Load(parse)));
                if (parse.GetValue(compare) is { } second)
                {
                    models.Add((second, ModelArguments.Load(second, parse.GetValue(model.Arch), parse.GetValue(model.InputSize), parse.GetValue(model.InputChannels), "--compare")));
                    if (models[1].Model.Description.Backbone.InputChannels != models[0].Model.Description.Backbone.InputChannels)
                    {
                        throw new UsageException($"--compare {second} takes {models[1].Model.Description.Backbone.InputChannels}-channel images but --backbone {first} takes {models[0].Model.Description.Backbone.InputChannels}.");
                    }
                }

                var deviceUsed = TorchDevices.Resolve(parse.GetValue(device));
                var computePrecision = FinetuneCommand.ParsePrecision(parse.GetValue(precision)!, training: false);
                var imageOptions = models[0].Model.ImageFolderOptions();
                var logger = new WarningLogger(parse.InvocationConfiguration.Error);
                using var data = EvaluationData.Load(parse.GetValue(train)!, parse.GetValue(test), parse.GetValue(validation), parse.GetValue(sourceTrain), parse.GetValue(sourceTest), parse.GetValue(unlabelled), imageOptions, seedValue, logger);
                var results = new List<TransferEvaluation>();
                foreach (var (name, m) in models)
                {
                    stop.ThrowIfCancellationRequested();
                    m.Backbone.to(deviceUsed);
                    console.MarkupLineInterpolated($"[grey]evaluating {Path.GetFileName(name)} …[/]");
                    // The alignment monitor compares two augmented views of each image: the MoCo v2 recipe (the small-image
                    // one below 64 px) at the model's input size and normalisation.
                    var views = AugmentationPresets.Create(m.AugmentationOptions(), AugmentationPreset.MocoV2, m.Description.Backbone.InputChannels, m.Description.Input.Height);
                    results.Add(new TransferEvaluator(m.Preprocess, monitorViews: views) { Precision = computePrecision }.Evaluate(m.Backbone, data.Sets, seedValue));
                }

                console.Write(Table(models.Select(m => m.Name).ToList(), results, data));
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
                        drift = Drift(models[0].Model, models[1].Model, computePrecision, probePath, parse.GetValue(sourceProbe) is null ? "--source-test" : "--source-probe", imageOptions, new WarningLogger(parse.InvocationConfiguration.Error));
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
                    File.WriteAllText(temporary, JsonSerializer.Serialize(new { models = document, sourceDrift = drift, targetTest = data.Sets.TargetTest.Count, sourceTest = data.Sets.SourceTest?.Count }, FinetuneSettings.Json) + "\n");
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
    private static DriftMeasurement Drift(PretrainedModel start, PretrainedModel finetuned, ComputePrecision precision, string path, string option, UnsupervisedFinetuning.Data.ImageFolderOptions options, WarningLogger logger)
    {
        // The drift alone: the monitors of CompareWithoutLabels are in the first table already.
        using var images = DataArguments.Unlabeled(path, option, options, logger).LoadIntoMemory();
        int k = Math.Min(10, images.Count - 1);
        using var before = FeatureExtractor.Extract(start.Backbone, images, start.Preprocess, precision: precision);
        using var after = FeatureExtractor.Extract(finetuned.Backbone, images, finetuned.Preprocess, precision: precision);
        return new DriftMeasurement(RepresentationDrift.LinearCka(before, after), RepresentationDrift.NeighbourhoodPreservation(before, after, k), images.Count, k);
    }

    private static Table Table(IReadOnlyList<string> names, IReadOnlyList<TransferEvaluation> results, EvaluationData data)
    {
        var table = new Table().AddColumn("metric");
        foreach (string name in names)
        {
            table.AddColumn(new TableColumn(Markup.Escape(Path.GetFileName(name))).RightAligned());
        }

        if (names.Count == 2)
        {
            table.AddColumn(new TableColumn("Δ").RightAligned());
        }

        void Row(string metric, Func<TransferEvaluation, double?> value, bool percent)
        {
            var values = results.Select(value).ToList();
            if (values.All(v => v is null))
            {
                return;
            }

            string Format(double? v) => v is null ? "—" : percent ? (100 * v.Value).ToString("F1", CultureInfo.InvariantCulture) + " %" : v.Value.ToString("F3", CultureInfo.InvariantCulture);
            var cells = new List<string> { metric };
            cells.AddRange(values.Select(Format));
            if (values.Count == 2)
            {
                cells.Add(values[0] is { } a && values[1] is { } b
                    ? (percent ? (100 * (b - a)).ToString("+0.0;−0.0;0.0", CultureInfo.InvariantCulture) : (b - a).ToString("+0.000;−0.000;0.000", CultureInfo.InvariantCulture))
                    : "—");
            }

            table.AddRow(cells.Select(Markup.Escape).ToArray());
        }

        Row($"target kNN ({data.Sets.TargetTest.Count} images)", r => r.TargetKnn, percent: true);
        Row("target kNN, validation", r => r.TargetKnnValidation, percent: true);
        Row("target linear probe", r => r.TargetLinearProbe, percent: true);
        Row($"retention: source kNN ({data.Sets.SourceTest?.Count ?? 0})", r => r.SourceKnn, percent: true);
        Row("RankMe", r => r.RankMe, percent: false);
        Row("alignment ↓", r => r.Alignment, percent: false);
        Row("uniformity ↓", r => r.Uniformity, percent: false);
        return table;
    }
}
