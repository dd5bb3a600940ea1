using System.Globalization;
using Spectre.Console;
using UnsupervisedFinetuning.Backbones;
using UnsupervisedFinetuning.Data;
using UnsupervisedFinetuning.Engine;
using UnsupervisedFinetuning.Replay;

namespace UnsupervisedFinetuning.Cli;

/// <summary>
/// One <c>uft finetune</c> run with its settings resolved (<see cref="FinetuneCommand"/> merges the command line over
/// the settings file): checks what can be checked before the model loads, loads the model and the images, runs the
/// engine with the screen and metrics files attached, and saves the finetuned model with its provenance.
/// </summary>
internal static class FinetuneRun
{
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

        var methodUsed = settings.CreateMethod();
        var mixingUsed = settings.CreateMixing();
        IReplaySampler replay = settings.Source is null ? NoReplay.Instance : new SparseSourceReplay(settings.Replay);

        using var pretrained = ModelArguments.Load(settings.Backbone, settings.Arch, settings.InputSize, settings.InputChannels, origins.Of("--backbone"), settings.Catalogs.Architectures);
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
        using var logger = new FileLogger<FinetuneEngine>(Path.Combine(outDir, FinetuneCommand.LogFile), error);
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
        using var target = WithUnreadableHint(() => DataArguments.Unlabeled(settings.Target, origins.Of("--target"), imageOptions, logger, sources: settings.Catalogs.Sources).LoadIntoMemory(), settings.SkipUnreadable);
        // Class-balanced selection reads the source's classes (its sub-folders or manifest labels); nothing else does.
        IImageDataset? source = settings.Source is null ? null
            : OptionValues.NeedsSourceLabels(settings.Replay.Selection) ? DataArguments.Labeled(settings.Source, origins.Of("--source"), imageOptions, logger, minimumClasses: 1, sources: settings.Catalogs.Sources)
            : DataArguments.Unlabeled(settings.Source, origins.Of("--source"), imageOptions, logger, sources: settings.Catalogs.Sources);
        var probe = settings.SourceProbe is null ? null : DataArguments.Unlabeled(settings.SourceProbe, origins.Of("--source-probe"), imageOptions, logger, sources: settings.Catalogs.Sources);
        using var labelled = settings.Validation is null ? null : WithUnreadableHint(() => DataArguments.Labeled(settings.Validation, origins.Of("--validation"), imageOptions, logger, sources: settings.Catalogs.Sources).LoadIntoMemory(), settings.SkipUnreadable);
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
        string settingsPath = Path.Combine(outDir, FinetuneCommand.SettingsFile);
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

        string modelPath = Path.Combine(outDir, FinetuneCommand.ModelFile);
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
        var reportFiles = RunReportFiles.Write(outDir, result, settings, provenance);
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
            table.AddRow($"best step by {criterionName}", best.Step.ToString(CultureInfo.InvariantCulture) + (result.SelectedRestored || best.Step == result.Steps ? " (saved)" : " (the last step was saved; --restore-best saves this one)"));
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
        console.Profile.Out.Writer.WriteLine($"metrics:    {ConsoleText.Printable(Path.Combine(outDir, MetricsFiles.StepsFile))}, {MetricsFiles.MonitorFile}, {FinetuneCommand.LogFile}");
        console.Profile.Out.Writer.WriteLine($"report:     {ConsoleText.Printable(reportFiles[0])}, {string.Join(", ", reportFiles.Skip(1).Select(Path.GetFileName))}");
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
