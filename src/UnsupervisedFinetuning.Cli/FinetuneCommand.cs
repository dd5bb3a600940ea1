using System.CommandLine;
using System.Globalization;
using Spectre.Console;
using UnsupervisedFinetuning.Backbones;
using UnsupervisedFinetuning.Data;
using UnsupervisedFinetuning.Engine;
using UnsupervisedFinetuning.Mixing;
using UnsupervisedFinetuning.Monitoring;
using UnsupervisedFinetuning.Replay;

namespace UnsupervisedFinetuning.Cli;

/// <summary>
/// <c>uft finetune</c>: continues self-supervised training of a pretrained backbone on unlabelled target images,
/// optionally with sparse replay from a source folder and with data mixing. Writes into <c>--out</c>: the
/// engine checkpoint (every <c>--checkpoint-every</c> steps and at the end; <c>--resume</c> continues it), the
/// settings used (<c>options.json</c>, readable by <c>--config</c>), the log (<c>log.txt</c>) and the finetuned
/// model (<c>finetuned.model.json</c> with its weights).
/// </summary>
internal static class FinetuneCommand
{
    public const string SettingsFile = "options.json";
    public const string LogFile = "log.txt";
    public const string ModelFile = "finetuned.model.json";

    public static Command Create(IAnsiConsole console, CancellationToken stop)
    {
        var model = new ModelArguments(ModelArguments.RequiredUnlessSettings);
        var config = new Option<string?>("--config") { Description = "Settings from a JSON file that mirrors the options types (the options.json a run writes is one); options given here override it" };
        var resume = new Option<bool>("--resume") { Description = $"Continue the run in --out from its checkpoint; settings not given come from --out/{SettingsFile}" };
        var target = new Option<string?>("--target") { Description = $"Unlabelled target images: a folder (any depth) or a manifest (.txt/.csv, one path per line) {ModelArguments.RequiredUnlessSettings}" };
        var source = new Option<string?>("--source") { Description = "Source images for sparse replay: folder or manifest, indexed (never loaded whole); only the replayed subset is decoded" };
        var output = new Option<string?>("--out") { Description = "Output folder for the checkpoint, options.json, log.txt and finetuned.model.json [required unless --config gives it]" };
        var method = new Option<string?>("--method") { Description = "mocov2, simclr, byol or simsiam [default: mocov2]" };
        var mixing = new Option<string?>("--mixing") { Description = "none, mixup or cutmix [default: none]" };
        var alpha = new Option<double?>("--mixing-alpha") { Description = "α of the mixing coefficient λ ~ Beta(α, α) [default: 1]" };
        var ratio = new Option<double?>("--replay-ratio") { Description = "Replayed source images per target image; needs --source [default: 0.25]" };
        var count = new Option<int?>("--replay-count") { Description = "Instead of a ratio: this many replayed source images; needs --source" };
        var selection = new Option<string?>("--replay-selection") { Description = "Which source images are replayed: uniform, coverage (spread over the pretrained features), target-nearest (nearest to the target images) or class-balanced (equal per source class; --source needs one sub-folder per class) [default: uniform]" };
        var uniformFraction = new Option<double?>("--replay-uniform-fraction") { Description = "With --replay-selection target-nearest: the share of replayed images drawn uniformly instead [default: 0]" };
        var selectionPool = new Option<int?>("--replay-selection-pool") { Description = "Choose the replayed images among a random sample of this many source images (bounds the feature pass of coverage and target-nearest on a large source) [default: all of --source]" };
        var composition = new Option<string?>("--composition") { Description = "union (each epoch shuffles target and replayed images together) or fixed-share (every batch holds the same share of replayed images) [default: union]" };
        var steps = new Option<int?>("--steps") { Description = "Training steps [default: --epochs passes over target + replayed images]" };
        var epochs = new Option<int?>("--epochs") { Description = "Passes over target + replayed images, when --steps is not given [default: 1]" };
        var batch = new Option<int?>("--batch-size") { Description = "Images per step [default: 128]" };
        var learningRate = new Option<double?>("--lr") { Description = "Peak learning rate [default: 0.03]" };
        var weightDecay = new Option<double?>("--weight-decay") { Description = "Weight decay [default: 1e-4]" };
        var seed = new Option<long?>("--seed") { Description = "Seed of every random draw: the same seed and settings give the same run [default: 0]" };
        var device = new Option<string?>("--device") { Description = "auto (CUDA when available), cpu, cuda or cuda:N [default: auto]" };
        var precision = new Option<string?>("--precision") { Description = OptionValues.PrecisionHelp + " Applies to training and the monitors. [default: float32]" };
        var workingSize = new Option<int?>("--working-size") { Description = "Size images are decoded at before training views are cut from them [default: the model's input size]" };
        var imageSize = new Option<int?>("--image-size") { Description = "Size of the training views [default: the model's input size]" };
        var checkpointEvery = new Option<int?>("--checkpoint-every") { Description = "Steps between checkpoints [default: 50]" };
        var skipUnreadable = new Option<bool?>("--skip-unreadable") { Description = "Skip (and log) image files that cannot be decoded instead of stopping" };
        var monitorEvery = new Option<string?>("--monitor-every") { Description = "Steps between label-free monitor points: a number, auto (at most 5% of the compute) or off [default: auto]" };
        var criterion = new Option<string?>("--criterion") { Description = "What the best step is: " + string.Join(", ", OptionValues.Criteria.Keys) + $" [default: {OptionValues.Criteria.First(c => c.Value == new MonitoringOptions().Criterion).Key}]" };
        var restoreBest = new Option<bool?>("--restore-best") { Description = "Save the backbone of the best monitor point by --criterion as the finetuned model, not the last step's" };
        var patience = new Option<int?>("--patience") { Description = "Stop when --criterion has not improved for this many monitor points" };
        var sourceProbe = new Option<string?>("--source-probe") { Description = "Source images (no labels) to measure drift on while monitoring [default: 256 of --source]" };
        var validation = new Option<string?>("--validation") { Description = "A few labelled target images (one sub-folder per class, or a labelled manifest): leave-one-out kNN at every monitor point" };

        var threads = ThreadsArgument.Create();
        var command = new Command("finetune", "Finetune a pretrained backbone on unlabelled target images, with optional sparse source replay and data mixing.");
        foreach (var option in model.All.Concat([config, resume, target, source, output, method, mixing, alpha, ratio, count, selection, uniformFraction, selectionPool, composition, steps, epochs, batch, learningRate, weightDecay, seed, device, precision, workingSize, imageSize, checkpointEvery, skipUnreadable,
            monitorEvery, criterion, restoreBest, patience, sourceProbe, validation, threads]))
        {
            command.Options.Add(option);
        }

        command.SetAction(parse =>
        {
            bool resuming = parse.GetValue(resume);
            string? outDir = parse.GetValue(output);
            string? configPath = parse.GetValue(config);
            string? settingsFile = configPath ?? (resuming && outDir is not null && File.Exists(Path.Combine(outDir, SettingsFile)) ? Path.Combine(outDir, SettingsFile) : null);
            var settings = settingsFile is null ? new FinetuneSettings() : FinetuneSettings.Read(settingsFile, configPath is not null ? "--config" : "--resume");
            var origins = settingsFile is null ? new SettingOrigins() : new SettingOrigins(settingsFile);

            // Command-line options override the file, one by one; a path from the file is named by its field in messages.
            settings.Backbone = origins.Path("--backbone", "backbone", parse.GetValue(model.Backbone), settings.Backbone);
            settings.Arch = parse.GetValue(model.Arch) ?? settings.Arch;
            settings.InputSize = parse.GetValue(model.InputSize) ?? settings.InputSize;
            settings.InputChannels = parse.GetValue(model.InputChannels) ?? settings.InputChannels;
            settings.Target = origins.Path("--target", "target", parse.GetValue(target), settings.Target);
            settings.Source = origins.Path("--source", "source", parse.GetValue(source), settings.Source);
            settings.Out = outDir ?? settings.Out;
            settings.Method = parse.GetValue(method) ?? settings.Method;
            settings.Mixing = parse.GetValue(mixing) ?? settings.Mixing;
            settings.MixingOptions.Alpha = parse.GetValue(alpha) ?? settings.MixingOptions.Alpha;
            settings.Replay.Ratio = parse.GetValue(ratio) ?? settings.Replay.Ratio;
            settings.Replay.Count = parse.GetValue(count) ?? settings.Replay.Count;
            if (parse.GetValue(selection) is { } rule)
            {
                settings.Replay.Selection = OptionValues.ParseSelection(rule);
            }

            settings.Replay.UniformFraction = parse.GetValue(uniformFraction) ?? settings.Replay.UniformFraction;
            settings.Replay.SelectionPool = parse.GetValue(selectionPool) ?? settings.Replay.SelectionPool;
            if (parse.GetValue(composition) is { } c)
            {
                settings.Replay.Composition = c.ToLowerInvariant() switch
                {
                    "union" => ReplayComposition.Union,
                    "fixed-share" or "fixedshare" => ReplayComposition.FixedShare,
                    _ => throw new UsageException($"--composition is '{c}'; expected union or fixed-share."),
                };
            }

            if (parse.GetValue(steps) is { } s)
            {
                settings.Engine.Steps = s;
            }
            else if (parse.GetValue(epochs) is { } e)
            {
                settings.Engine.Epochs = e;
                settings.Engine.Steps = null;
            }

            settings.Engine.BatchSize = parse.GetValue(batch) ?? settings.Engine.BatchSize;
            settings.Engine.LearningRate = parse.GetValue(learningRate) ?? settings.Engine.LearningRate;
            settings.Engine.WeightDecay = parse.GetValue(weightDecay) ?? settings.Engine.WeightDecay;
            settings.Engine.Seed = parse.GetValue(seed) ?? settings.Engine.Seed;
            settings.Engine.Device = parse.GetValue(device) ?? settings.Engine.Device;
            if (parse.GetValue(precision) is { } p)
            {
                settings.Engine.Precision = OptionValues.ParsePrecision(p, training: true);
                settings.Engine.Monitoring.Precision = settings.Engine.Precision;
            }
            settings.Engine.Augmentation.ImageSize = parse.GetValue(imageSize) ?? settings.Engine.Augmentation.ImageSize;
            settings.Engine.CheckpointEverySteps = parse.GetValue(checkpointEvery) ?? settings.Engine.CheckpointEverySteps;
            settings.WorkingSize = parse.GetValue(workingSize) ?? settings.WorkingSize;
            settings.SkipUnreadable = parse.GetValue(skipUnreadable) ?? settings.SkipUnreadable;
            var monitoring = settings.Engine.Monitoring;
            switch (parse.GetValue(monitorEvery)?.ToLowerInvariant())
            {
                case null:
                    break;
                case "auto":
                    monitoring.Enabled = true;
                    monitoring.EverySteps = null;
                    break;
                case "off":
                    monitoring.Enabled = false;
                    break;
                case var text when int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out int n) && n > 0:
                    monitoring.Enabled = true;
                    monitoring.EverySteps = n;
                    break;
                case var text:
                    throw new UsageException($"--monitor-every is '{text}'; expected a positive number of steps, auto or off.");
            }

            if (parse.GetValue(criterion) is { } name)
            {
                monitoring.Criterion = OptionValues.Criteria.TryGetValue(name.ToLowerInvariant(), out var chosenCriterion) ? chosenCriterion
                    : throw new UsageException($"--criterion is '{name}'; expected one of {string.Join(", ", OptionValues.Criteria.Keys)}.");
            }

            monitoring.RestoreBest = parse.GetValue(restoreBest) ?? monitoring.RestoreBest;
            monitoring.Patience = parse.GetValue(patience) ?? monitoring.Patience;
            settings.SourceProbe = origins.Path("--source-probe", "sourceProbe", parse.GetValue(sourceProbe), settings.SourceProbe);
            settings.Validation = origins.Path("--validation", "validation", parse.GetValue(validation), settings.Validation);
            bool replayAsked = parse.GetValue(ratio) is not null || parse.GetValue(count) is not null || parse.GetValue(composition) is not null;
            if (replayAsked && settings.Source is null)
            {
                throw new UsageException("--replay-ratio, --replay-count and --composition need --source (the images to replay).");
            }

            bool extend = parse.GetValue(steps) is not null || parse.GetValue(epochs) is not null;
            using var threadCount = ThreadsArgument.Apply(parse.GetValue(threads), out int threadsUsed);
            return Run(settings, resuming, extend, console, parse.InvocationConfiguration.Error, stop, parse.Tokens.Select(t => t.Value), origins, threadsUsed);
        });
        return command;
    }

    /// <summary>Runs one finetuning with fully resolved settings.</summary>
    /// <param name="settings">Every setting, command line and file merged.</param>
    /// <param name="resume">Continue the run in the output folder.</param>
    /// <param name="extend">With <paramref name="resume"/>: --steps or --epochs was given, so a larger total extends the run's schedule.</param>
    /// <param name="console">Where the screen goes.</param>
    /// <param name="error">Where warnings and errors go.</param>
    /// <param name="stop">Ctrl+C.</param>
    /// <param name="commandLine">The arguments, kept in the model's provenance.</param>
    /// <param name="origins">Where the path settings came from, for messages.</param>
    /// <param name="decodeThreads">Threads that decode images (0: every core).</param>
    public static int Run(FinetuneSettings settings, bool resume, bool extend, IAnsiConsole console, TextWriter error, CancellationToken stop, IEnumerable<string> commandLine, SettingOrigins? origins = null, int decodeThreads = 0)
    {
        origins ??= new SettingOrigins();
        string outDir = Path.GetFullPath(settings.Out ?? throw new UsageException("--out is required: the folder the run writes to."));
        string checkpoint = Path.Combine(outDir, FinetuneEngine.CheckpointFileName);
        if (resume && !File.Exists(checkpoint))
        {
            throw new UsageException($"--resume: there is no run in {outDir} (no {FinetuneEngine.CheckpointFileName}); start the run without --resume.");
        }

        if (settings.Target is null)
        {
            throw new UsageException("--target is required: the unlabelled target images (a folder or a manifest).");
        }

        if (settings.WorkingSize is < 1 or > OptionValues.MaxWorkingSize)
        {
            throw new UsageException($"--working-size is {settings.WorkingSize}; expected 1 to {OptionValues.MaxWorkingSize} pixels.");
        }

        if (settings.Engine.Augmentation.ImageSize is < 1 or > OptionValues.MaxWorkingSize)
        {
            throw new UsageException($"--image-size is {settings.Engine.Augmentation.ImageSize}; expected 1 to {OptionValues.MaxWorkingSize} pixels (and at most the working size).");
        }

        if (!resume && File.Exists(checkpoint))
        {
            throw new UsageException($"--out {outDir} already holds a run ({FinetuneEngine.CheckpointFileName}); continue it with --resume, or choose another --out.");
        }

        OutputPaths.WritableFolder(outDir, "--out"); // before the model loads: a folder that cannot be written is said now, by option

        var methodUsed = OptionValues.CreateMethod(settings);
        var mixingUsed = settings.Mixing.ToLowerInvariant() switch
        {
            "none" => (IMixingStrategy)NoMixing.Instance,
            "mixup" => new Mixup(settings.MixingOptions),
            "cutmix" => new CutMix(settings.MixingOptions),
            _ => throw new UsageException($"--mixing is '{settings.Mixing}'; expected none, mixup or cutmix."),
        };
        IReplaySampler replay = settings.Source is null ? NoReplay.Instance : new SparseSourceReplay(settings.Replay);

        using var pretrained = ModelArguments.Load(settings.Backbone, settings.Arch, settings.InputSize, settings.InputChannels, origins.Of("--backbone"));
        if (pretrained.ImportReport is { } report)
        {
            console.MarkupLineInterpolated($"[grey]imported {report.Loaded.Count} tensors from {settings.Backbone}; dropped {report.Dropped.Count}, unexpected {report.Unexpected.Count}[/]");
        }

        var engineOptions = settings.Engine;
        var modelViews = pretrained.AugmentationOptions();
        engineOptions.Augmentation.ImageSize ??= modelViews.ImageSize;
        engineOptions.Augmentation.NormalizationMean ??= modelViews.NormalizationMean;
        engineOptions.Augmentation.NormalizationStd ??= modelViews.NormalizationStd;
        engineOptions.CheckpointDirectory = outDir;
        var imageOptions = pretrained.ImageFolderOptions();
        imageOptions.Height = imageOptions.Width = settings.WorkingSize ?? imageOptions.Height;
        imageOptions.SkipUnreadable = settings.SkipUnreadable;
        imageOptions.DecodeThreads = decodeThreads;

        // The folder is this run's before anything is written into it: a second run on it is refused here, naming
        // the first, instead of overwriting its settings and log (the engine's run below shares this lock).
        using var folderLock = RunFolderLock.Acquire(outDir);
        using var logger = new FileLogger<FinetuneEngine>(Path.Combine(outDir, LogFile), error);
        var leftOut = new LeftOutFiles();
        logger.Observe(leftOut.Observe);
        long? resumedAt = null;
        logger.Observe((id, values) =>
        {
            if (id.Id == 2005 && LogValues.Get(values, "Step") is long step)
            {
                resumedAt = step;
            }
        });
        var engine = FinetuneEngine.Create(engineOptions, methodUsed, replay, mixingUsed, logger: logger); // validates every option before anything is read
        engine.CheckStepMemory(pretrained.Backbone, pretrained.Backbone.InputChannels, engineOptions.Augmentation.ImageSize ?? imageOptions.Height); // before decoding anything
        using var target = WithUnreadableHint(() => DataArguments.Unlabeled(settings.Target, origins.Of("--target"), imageOptions, logger).LoadIntoMemory(), settings.SkipUnreadable);
        // Class-balanced selection reads the source's classes (its sub-folders or manifest labels); nothing else does.
        IImageDataset? source = settings.Source is null ? null
            : settings.Replay.Selection == ReplaySelection.ClassBalanced ? DataArguments.Labeled(settings.Source, origins.Of("--source"), imageOptions, logger, minimumClasses: 1)
            : DataArguments.Unlabeled(settings.Source, origins.Of("--source"), imageOptions, logger);
        var probe = settings.SourceProbe is null ? null : DataArguments.Unlabeled(settings.SourceProbe, origins.Of("--source-probe"), imageOptions, logger);
        using var labelled = settings.Validation is null ? null : WithUnreadableHint(() => DataArguments.Labeled(settings.Validation, origins.Of("--validation"), imageOptions, logger).LoadIntoMemory(), settings.SkipUnreadable);
        int replayCount = source is null ? 0 : settings.Replay.Count ?? (int)Math.Round(settings.Replay.Ratio * target.Count);
        if (engineOptions.BatchSize > target.Count + Math.Min(replayCount, source?.Count ?? 0))
        {
            throw new UsageException($"--batch-size is {engineOptions.BatchSize} but the target has {target.Count} images{(source is null ? "" : $" and {Math.Min(replayCount, source.Count)} are replayed")}; a batch cannot be larger than the data: lower --batch-size.");
        }

        // Paths are stored absolute: a run resumes with --out and --resume from any folder, not only the one it started in.
        settings.Backbone = settings.Backbone is null ? null : Path.GetFullPath(settings.Backbone);
        settings.Target = Path.GetFullPath(settings.Target);
        settings.Source = settings.Source is null ? null : Path.GetFullPath(settings.Source);
        settings.SourceProbe = settings.SourceProbe is null ? null : Path.GetFullPath(settings.SourceProbe);
        settings.Validation = settings.Validation is null ? null : Path.GetFullPath(settings.Validation);
        settings.Out = outDir;
        // A fresh run writes its settings before training, so a killed run resumes with --out and --resume alone. A
        // resume writes them only once the engine has accepted the checkpoint (at its first step, or at the end): a
        // resume refused for a changed option must leave the settings the checkpoint was written with.
        string settingsPath = Path.Combine(outDir, SettingsFile);
        bool settingsWritten = false;
        void WriteSettings()
        {
            if (!settingsWritten)
            {
                settings.Write(settingsPath);
                settingsWritten = true;
            }
        }

        if (!resume)
        {
            WriteSettings();
        }

        // Lines that hold names and paths go straight to the writer: Spectre would fold them at 80 columns in a pipe.
        console.Profile.Out.Writer.WriteLine(ConsoleText.Printable($"finetune: {target.Count} target images{(source is null ? "" : string.Create(CultureInfo.InvariantCulture, $", source {source.Count:N0} files"))}, {settings.Method}, mixing {settings.Mixing}, working size {imageOptions.Height}, device {TorchDevices.Resolve(engineOptions.Device)}, {Threads(TorchSharp.torch.get_num_threads())}"));
        if (leftOut.Summary() is { } indexed)
        {
            console.WriteLine(indexed);
        }

        using var metrics = new MetricsFiles(outDir, resume);
        logger.Observe(metrics.Observe);
        var request = new FinetuneRequest
        {
            Backbone = pretrained.Backbone,
            Head = pretrained.Head,
            Target = target,
            Source = source,
            SourceProbe = probe,
            Validation = labelled,
            ResumeFrom = resume ? checkpoint : null,
            ExtendSchedule = resume && extend,
        };
        FinetuneResult result;
        FinetuneProgress? lastReported = null;
        try
        {
            result = WithUnreadableHint(() => RunScreen.Show(console, logger, progress => engine.Run(request, new SynchronousProgress<FinetuneProgress>(p =>
            {
                WriteSettings(); // a step ran: the engine accepted the settings
                lastReported = p;
                metrics.Step(p);
                progress.Report(p);
            }), stop)), settings.SkipUnreadable);
        }
        catch (OperationCanceledException)
        {
            WriteSettings();
            string where = lastReported is { } p ? $"after step {p.Step}/{p.TotalSteps}" : resumedAt is { } r ? $"after step {r}" : "before the first step";
            console.MarkupLineInterpolated($"[yellow]Stopped {where}, at a step boundary.[/] The checkpoint {checkpoint} continues it: uft finetune --out {outDir} --resume");
            return ExitCodes.Interrupted;
        }

        WriteSettings();
        if (resumedAt is { } resumedStep && result.Steps == resumedStep)
        {
            console.MarkupLineInterpolated($"[yellow]The run had already finished {resumedStep} steps; nothing was trained.[/] To train it longer, resume with more steps: uft finetune --out {outDir} --resume --steps {2 * resumedStep} (the learning rate then follows the longer schedule from step {resumedStep + 1}; see docs/command-line.md).");
        }

        string modelPath = Path.Combine(outDir, ModelFile);
        var provenance = new Dictionary<string, string>
        {
            ["finetunedFrom"] = Path.GetFullPath(settings.Backbone!),
            ["target"] = Path.GetFullPath(settings.Target),
            ["method"] = settings.Method,
            ["mixing"] = settings.Mixing,
            ["steps"] = result.Steps.ToString(CultureInfo.InvariantCulture),
            ["command"] = "uft " + string.Join(' ', commandLine),
            ["date"] = DateTimeOffset.UtcNow.ToString("u", CultureInfo.InvariantCulture),
        };
        if (result.Selected is { } chosen)
        {
            provenance["selectedStep"] = chosen.Step.ToString(CultureInfo.InvariantCulture);
            provenance["savedStep"] = (result.SelectedRestored ? chosen.Step : result.Steps).ToString(CultureInfo.InvariantCulture);
        }

        if (settings.Source is not null)
        {
            provenance["source"] = Path.GetFullPath(settings.Source);
            provenance["replayed"] = result.ReplayedSourceIndices.Count.ToString(CultureInfo.InvariantCulture);
        }

        PretrainedModel.Save(modelPath, pretrained.Backbone, pretrained.Description.Input, result.Head, provenance);
        var table = new Table().AddColumns("finetuned", "");
        table.AddRow("steps", result.Steps.ToString(CultureInfo.InvariantCulture));
        table.AddRow("mean loss, last epoch", result.History.Count == 0 ? "—" : result.History[^1].MeanLoss.ToString("F4", CultureInfo.InvariantCulture));
        table.AddRow("replayed source images", result.ReplayedSourceIndices.Count.ToString(CultureInfo.InvariantCulture));
        table.AddRow("skipped non-finite steps", result.SkippedSteps.ToString(CultureInfo.InvariantCulture));
        if (leftOut.Summary() is { } notUsed)
        {
            table.AddRow("files not used", Markup.Escape(notUsed));
        }

        if (result.Selected is { } best)
        {
            string criterionName = OptionValues.Criteria.First(c => c.Value == engineOptions.Monitoring.Criterion).Key;
            table.AddRow($"best step by {criterionName}", best.Step.ToString(CultureInfo.InvariantCulture) + (result.SelectedRestored ? " (saved)" : " (the last step was saved; --restore-best saves this one)"));
            table.AddRow("stopped early", result.StoppedEarly ? "yes" : "no");
            if (result.Monitoring.Count >= 2)
            {
                var (first, last) = (result.Monitoring[0], result.Monitoring[^1]);
                table.AddRow("RankMe, start → end", string.Create(CultureInfo.InvariantCulture, $"{first.Target.RankMe:F1} → {last.Target.RankMe:F1}"));
                if (last.SourceDrift is { } drift)
                {
                    table.AddRow("source drift at the end", string.Create(CultureInfo.InvariantCulture, $"CKA {drift.LinearCka:F3}, neighbours kept {drift.NeighbourhoodPreservation:F3}"));
                }
            }
        }

        console.Write(table);
        console.Profile.Out.Writer.WriteLine($"model:      {ConsoleText.Printable(modelPath)}");
        console.Profile.Out.Writer.WriteLine($"checkpoint: {ConsoleText.Printable(checkpoint)}");
        console.Profile.Out.Writer.WriteLine($"metrics:    {ConsoleText.Printable(Path.Combine(outDir, MetricsFiles.StepsFile))}, {MetricsFiles.MonitorFile}, {LogFile}");
        return ExitCodes.Success;
    }

    /// <summary>
    /// Runs <paramref name="work"/>; an image that cannot be decoded stops it with a message that says how to go on
    /// without such files (when --skip-unreadable was not given).
    /// </summary>
    internal static T WithUnreadableHint<T>(Func<T> work, bool skipping)
    {
        try
        {
            return work();
        }
        catch (InvalidDataException e) when (!skipping && e.Data.Contains(ImageFolder.UnreadableImageKey))
        {
            throw new InvalidDataException($"{e.Message} Give --skip-unreadable to leave out such files (each is named in log.txt) and go on.", e);
        }
    }

    private static string Threads(int n) => n == 1 ? "1 thread" : $"{n} threads";
}
