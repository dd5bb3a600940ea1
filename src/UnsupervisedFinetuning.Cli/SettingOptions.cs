using System.CommandLine;
using System.Globalization;
using UnsupervisedFinetuning.Monitoring;
using UnsupervisedFinetuning.Replay;

namespace UnsupervisedFinetuning.Cli;

/// <summary>
/// Every option of <c>uft finetune</c> and <c>uft search</c> that sets a training setting, declared once with the field
/// of <see cref="FinetuneSettings"/> it sets (<see cref="SettingOption"/>). <c>finetune</c> offers them all over a
/// settings file; <c>search</c> offers the ones its trials share (<see cref="Search"/>). Names of methods, mixing and
/// selection rules come from the catalogs, so the help lists a method added to them.
/// </summary>
internal sealed class SettingOptions
{
    public SettingOptions(UftCatalogs catalogs, bool search = false)
    {
        // search has no settings file: what finetune may take from one, search needs on its command line.
        string required = search ? ModelArguments.Required : ModelArguments.RequiredUnlessSettings;
        Model = new ModelArguments(required, catalogs.Architectures);
        var criteria = string.Join(", ", OptionValues.Criteria.Keys);
        All =
        [
            SettingOption.Path(Model.Backbone, "backbone", s => s.Backbone, (s, v) => s.Backbone = v),
            SettingOption.Text(Model.Arch, (s, v) => s.Arch = v),
            SettingOption.Value(Model.InputSize, (s, v) => s.InputSize = v),
            SettingOption.Value(Model.InputChannels, (s, v) => s.InputChannels = v),
            Target = SettingOption.Path("--target", $"Unlabelled target images: a folder (any depth) or a manifest{(search ? "" : " (.txt/.csv, one path per line)")} {required}", "target", s => s.Target, (s, v) => s.Target = v),
            Source = SettingOption.Path("--source", search ? "Source images to replay from (needed when a ratio is above 0): folder or manifest, indexed" : "Source images for sparse replay: folder or manifest, indexed (never loaded whole); only the replayed subset is decoded", "source", s => s.Source, (s, v) => s.Source = v),
            SettingOption.Text(Out, (s, v) => s.Out = v),
            Method = SettingOption.Text("--method", $"{catalogs.Methods.Describe()} [default: {new FinetuneSettings(catalogs).Method}]", (s, v) => s.Method = v),
            Mixing = SettingOption.Text("--mixing", search ? $"The mixing strategy of the candidates that mix: {catalogs.AlphaMixing.Describe()} [default: mixup]" : $"{catalogs.Mixing.Describe()} [default: none]", (s, v) => s.Mixing = v),
            SettingOption.Value<double>("--mixing-alpha", "α of the mixing coefficient λ ~ Beta(α, α) [default: 1]", (s, v) => s.MixingOptions.Alpha = v),
            Ratio = SettingOption.Value<double>("--replay-ratio", "Replayed source images per target image; needs --source [default: 0.25]", (s, v) => s.Replay.Ratio = v),
            Count = SettingOption.Value<int>("--replay-count", "Instead of a ratio: this many replayed source images; needs --source", (s, v) => s.Replay.Count = v),
            Selection = SettingOption.Text("--replay-selection", "Which source images are replayed: " + string.Join(", ", catalogs.Selections.Select(e => $"{e.Name} ({e.Description})")) + (search ? ", for every replaying candidate" : "") + " [default: uniform]", (s, v) => s.Replay.Selection = OptionValues.ParseSelection(v, catalogs)),
            SettingOption.Value<double>("--replay-uniform-fraction", "With --replay-selection target-nearest: the share of replayed images drawn uniformly instead [default: 0]", (s, v) => s.Replay.UniformFraction = v),
            SettingOption.Value<int>("--replay-selection-pool", "Choose the replayed images among a random sample of this many source images (bounds the feature pass of coverage and target-nearest on a large source) [default: all of --source]", (s, v) => s.Replay.SelectionPool = v),
            Composition = SettingOption.Text("--composition", "union (each epoch shuffles target and replayed images together) or fixed-share (every batch holds the same share of replayed images) [default: union]", (s, v) => s.Replay.Composition = v.ToLowerInvariant() switch
            {
                "union" => ReplayComposition.Union,
                "fixed-share" or "fixedshare" => ReplayComposition.FixedShare,
                _ => throw new UsageException($"--composition is '{v}'; expected union or fixed-share."),
            }),
            Steps = SettingOption.Value<int>("--steps", "Training steps [default: --epochs passes over target + replayed images]", (s, v) => s.Engine.Steps = v),
            Epochs = SettingOption.Value<int>("--epochs", "Passes over target + replayed images, when --steps is not given [default: 1]", (s, v) =>
            {
                s.Engine.Epochs = v;
                s.Engine.Steps = null;
            }),
            SettingOption.Value<int>("--batch-size", "Images per step [default: 128]", (s, v) => s.Engine.BatchSize = v),
            SettingOption.Value<double>("--lr", "Peak learning rate [default: 0.03]", (s, v) => s.Engine.LearningRate = v),
            SettingOption.Value<double>("--weight-decay", "Weight decay [default: 1e-4]", (s, v) => s.Engine.WeightDecay = v),
            SettingOption.Value<long>("--seed", search ? "Seed of every random draw [default: 0]" : "Seed of every random draw: the same seed and settings give the same run [default: 0]", (s, v) => s.Engine.Seed = v),
            SettingOption.Text("--device", "auto (CUDA when available), cpu, cuda or cuda:N [default: auto]", (s, v) => s.Engine.Device = v),
            SettingOption.Text("--precision", OptionValues.PrecisionHelp + (search ? " Applies to the trials and their scoring." : " Applies to training and the monitors.") + " [default: float32]", (s, v) =>
            {
                s.Engine.Precision = OptionValues.ParsePrecision(v, training: true);
                s.Engine.Monitoring.Precision = s.Engine.Precision;
            }),
            SettingOption.Value<int>("--working-size", search ? "Size images are decoded at [default: the model's input size]" : "Size images are decoded at before training views are cut from them [default: the model's input size]", (s, v) => s.WorkingSize = v),
            SettingOption.Value<int>("--image-size", "Size of the training views [default: the model's input size]", (s, v) => s.Engine.Augmentation.ImageSize = v),
            SettingOption.Value<int>("--checkpoint-every", "Steps between checkpoints [default: 50]", (s, v) => s.Engine.CheckpointEverySteps = v),
            SettingOption.Value<bool>("--skip-unreadable", "Skip (and log) image files that cannot be decoded instead of stopping", (s, v) => s.SkipUnreadable = v),
            SettingOption.Text("--monitor-every", "Steps between label-free monitor points: a number, auto (at most 5% of the compute) or off [default: auto]", MonitorEvery),
            Criterion = SettingOption.Text("--criterion", (search ? "What a trial is scored by at its last step: " : "What the best step is: ") + criteria
                + (search ? " [default: validation-knn with --validation, else uniformity]" : $" [default: {OptionValues.Criteria.First(c => c.Value == new MonitoringOptions().Criterion).Key}]"),
                (s, v) => s.Engine.Monitoring.Criterion = OptionValues.Criteria.TryGetValue(v.ToLowerInvariant(), out var c) ? c : throw new UsageException($"--criterion is '{v}'; expected one of {criteria}.")),
            SettingOption.Value<bool>("--restore-best", "Save the backbone of the best monitor point by --criterion as the finetuned model, not the last step's", (s, v) => s.Engine.Monitoring.RestoreBest = v),
            SettingOption.Value<int>("--patience", "Stop when --criterion has not improved for this many monitor points", (s, v) => s.Engine.Monitoring.Patience = v),
            SettingOption.Path("--source-probe", "Source images (no labels) to measure drift on while monitoring [default: 256 of --source]", "sourceProbe", s => s.SourceProbe, (s, v) => s.SourceProbe = v),
            Validation = SettingOption.Path("--validation", "A few labelled target images (one sub-folder per class, or a labelled manifest): " + (search ? "score trials by their leave-one-out kNN" : "leave-one-out kNN at every monitor point"), "validation", s => s.Validation, (s, v) => s.Validation = v),
        ];
        // --epochs gives way to --steps; both are in the help where a reader looks for the length of the run.
        All = [.. All.Select(o => o == Epochs ? Epochs.UnlessGiven(Steps) : o)];
        // search trains trials from the pretrained weights at a budget it shares out: no output folder, schedule, checkpoints or monitoring settings.
        Search = [.. All.Where(o => o.Option.Name is "--backbone" or "--arch" or "--input-size" or "--in-channels" or "--target" or "--source" or "--replay-selection" or "--criterion"
            or "--validation" or "--method" or "--mixing" or "--batch-size" or "--lr" or "--seed" or "--device" or "--precision" or "--working-size")];
    }

    public ModelArguments Model { get; }

    /// <summary>finetune's output folder, read before the settings file (a resumed run's settings are in it).</summary>
    public Option<string?> Out { get; } = new("--out") { Description = "Output folder for the checkpoint, options.json, log.txt, metrics, the report and finetuned.model.json [required unless --config gives it]" };

    /// <summary>Every option, in the order finetune's help lists them.</summary>
    public IReadOnlyList<SettingOption> All { get; }

    /// <summary>The options search takes.</summary>
    public IReadOnlyList<SettingOption> Search { get; }

    public SettingOption Target { get; }

    public SettingOption Source { get; }

    public SettingOption Method { get; }

    public SettingOption Mixing { get; }

    public SettingOption Ratio { get; }

    public SettingOption Count { get; }

    public SettingOption Selection { get; }

    public SettingOption Composition { get; }

    public SettingOption Steps { get; }

    public SettingOption Epochs { get; }

    public SettingOption Criterion { get; }

    public SettingOption Validation { get; }

    /// <summary>Applies the options of <paramref name="options"/> that were given, in order, over <paramref name="settings"/>.</summary>
    public static void Apply(IEnumerable<SettingOption> options, ParseResult parse, FinetuneSettings settings, SettingOrigins origins)
    {
        foreach (var option in options)
        {
            option.Apply(parse, settings, origins);
        }
    }

    private static void MonitorEvery(FinetuneSettings settings, string text)
    {
        var monitoring = settings.Engine.Monitoring;
        switch (text.ToLowerInvariant())
        {
            case "auto":
                monitoring.Enabled = true;
                monitoring.EverySteps = null;
                break;
            case "off":
                monitoring.Enabled = false;
                break;
            case var number when int.TryParse(number, NumberStyles.None, CultureInfo.InvariantCulture, out int n) && n > 0:
                monitoring.Enabled = true;
                monitoring.EverySteps = n;
                break;
            default:
                throw new UsageException($"--monitor-every is '{text.ToLowerInvariant()}'; expected a positive number of steps, auto or off.");
        }
    }
}
