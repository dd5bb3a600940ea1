using TorchSharp;
using Microsoft.Extensions.Logging;
using UnsupervisedFinetuning.Augment;
using UnsupervisedFinetuning.Data;
using UnsupervisedFinetuning.Evaluation;
using UnsupervisedFinetuning.Methods;
using UnsupervisedFinetuning.Mixing;
using UnsupervisedFinetuning.Monitoring;
using UnsupervisedFinetuning.Replay;
using static TorchSharp.torch;

namespace UnsupervisedFinetuning.Engine;

/// <summary>
/// One call of <see cref="FinetuneEngine.Run"/> once it is set up: the device, the method's networks, the
/// optimizer and schedule, the augmentation, the progress state, and where checkpoints go. Set-up checks
/// everything it can before it changes anything the caller owns: a resume whose checkpoint is unreadable
/// or was written with other settings is refused before any weight is loaded.
/// </summary>
internal sealed class TrainingRun : IDisposable
{
    private readonly ILogger _logger;
    private readonly Dictionary<string, string> _fingerprint;

    private TrainingRun(FinetuneRequest request, Device device, TwoViewAugmentation augmentation, TrainingState state, long totalSteps,
        ISelfSupervisedModel model, EngineOptimizer optimizer, LearningRateSchedule schedule, Dictionary<string, string> fingerprint, string? checkpointPath, ReplayImages replayed,
        OnlineMonitor? monitor, ILogger logger)
    {
        Monitor = monitor;
        Replayed = replayed;
        Request = request;
        Device = device;
        Augmentation = augmentation;
        State = state;
        TotalSteps = totalSteps;
        Model = model;
        Optimizer = optimizer;
        Schedule = schedule;
        _fingerprint = fingerprint;
        CheckpointPath = checkpointPath;
        _logger = logger;
    }

    public FinetuneRequest Request { get; }

    public Device Device { get; }

    /// <summary>The precision the step's convolutions and linear layers compute in (never Auto).</summary>
    public ComputePrecision Precision { get; private init; } = ComputePrecision.Float32;

    /// <summary>The replayed source images, decoded once.</summary>
    public ReplayImages Replayed { get; }

    public TwoViewAugmentation Augmentation { get; }

    /// <summary>The run's monitor; null with monitoring off.</summary>
    public OnlineMonitor? Monitor { get; }

    /// <summary>The best point's backbone so far (by the monitoring criterion).</summary>
    public BestBackbone Best { get; } = new();

    public TrainingState State { get; }

    public long TotalSteps { get; }

    public ISelfSupervisedModel Model { get; }

    public EngineOptimizer Optimizer { get; }

    public LearningRateSchedule Schedule { get; }

    /// <summary>Where the engine keeps the run's checkpoint; null without checkpointing.</summary>
    public string? CheckpointPath { get; }

    /// <summary>The newest checkpoint of this run (written, or resumed from).</summary>
    public string? LastCheckpoint { get; private set; }

    public static TrainingRun Start(FinetuneRequest request, FinetuneOptions options, ISelfSupervisedMethod method, IReplaySampler replay, IMixingStrategy mixing,
        TwoViewAugmentation? augmentation, ILogger logger)
    {
        ValidateData(request);
        OnlineMonitor.Check(request.ForMonitor(), options.Monitoring);
        var target = request.Target;
        var device = TorchDevices.Resolve(options.Device);
        if (device.type == DeviceType.CPU && NativeKernels.DefectFound)
        {
            EngineLog.OneDnnDefect(logger, NativeKernels.OneDnnReason);
        }

        var precision = ResolvePrecision(options, request.Backbone, device, logger);
        var header = request.ResumeFrom is null ? null : EngineCheckpoint.ReadHeader(request.ResumeFrom);

        int size = options.Augmentation.ImageSize ?? target.Shape.Height;
        var views = augmentation ?? AugmentationPresets.Create(options.Augmentation, method.Augmentation, target.Shape.Channels, size);
        var root = new SeededRandom(options.Seed);
        var state = new TrainingState
        {
            Subset = [],
            ReplayRandom = root.Fork("replay"),
            AugmentRandom = root.Fork("augment"),
            MixRandom = root.Fork("mixing"),
        };

        // Before anything large is computed or allocated: a step that cannot fit in memory is refused, not OOM-killed.
        StepMemoryCheck.Check(request.Backbone, target.Shape.Channels, size, options, mixing, device);

        // A resume replays the checkpoint's subset and is checked in full before the backbone is touched
        // (moved, loaded into); a fresh run selects with the pretrained backbone on the run's device.
        if (header is not null)
        {
            CheckSubset(request.ResumeFrom!, header.Subset, request.Source?.Count ?? 0);
            state.Subset = header.Subset;
        }
        else
        {
            request.Backbone.to(device);
            state.Subset = SelectSubset(request, replay, views, size, state.ReplayRandom);
        }

        long totalSteps = options.Steps ?? (long)options.Epochs * replay.StepsPerEpoch(target.Count, state.Subset.Length, options.BatchSize);
        // Only computed with content when a checkpoint is written or read (the content hash reads every file's metadata).
        var fingerprint = RunFingerprint.Of(options, method, replay, mixing, augmentation is null ? options.Augmentation : null, request, state.Subset.Length, totalSteps, size,
            precision, device, withContent: options.CheckpointDirectory is not null || header is not null);
        long? extendedFrom = null;
        if (header is not null)
        {
            RunFingerprint.CompleteStored(header.Fingerprint, fingerprint);
            extendedFrom = RunFingerprint.Extension(request, options, header, fingerprint, totalSteps);
            RunFingerprint.Check(request.ResumeFrom!, header.Fingerprint, fingerprint);
        }

        // What the caller owns and a resume loads into, saved to put back if the load fails half-way.
        using var snapshot = header is null ? null : ModuleSnapshot.Capture(request.Backbone, request.Head, request.Predictor);
        if (header is not null)
        {
            request.Backbone.to(device); // a fresh run moved it before selecting
        }

        ISelfSupervisedModel? model = null;
        EngineOptimizer? optimizer = null;
        ReplayImages? replayed = null;
        OnlineMonitor? monitor = null;
        TrainingRun? run = null;
        try
        {
            monitor = OnlineMonitor.Create(request.ForMonitor(), options.Monitoring, views, size, options.Seed, options.BatchSize, totalSteps);
            replayed = new ReplayImages(request.Source, state.Subset);
            model = method.Build(new MethodContext
            {
                Backbone = request.Backbone,
                Device = device,
                BatchSize = options.BatchSize,
                TrainingSetSize = target.Count + state.Subset.Length,
                Seed = options.Seed,
                Head = request.Head,
                Predictor = request.Predictor,
            });
            optimizer = new EngineOptimizer(model.TrainableParameters, options);
            var schedule = new LearningRateSchedule(options.LearningRate, options.MinLearningRate, totalSteps, (long)Math.Floor(options.WarmupFraction * totalSteps));
            string? checkpointPath = options.CheckpointDirectory is null ? null : Path.Combine(options.CheckpointDirectory, EngineCheckpoint.FileName);
            run = new TrainingRun(request, device, views, state, totalSteps, model, optimizer, schedule, fingerprint, checkpointPath, replayed, monitor, logger) { Precision = precision };
            if (header is not null)
            {
                var monitorTensors = EngineCheckpoint.Load(request.ResumeFrom!, model, optimizer);
                try
                {
                    MonitorCheckpointSection.Restore(request.ResumeFrom!, header.MonitorPoints, header.BestStep, header.SinceBest, header.Step, monitorTensors, monitor, run.Best, request.Backbone);
                }
                finally
                {
                    foreach (var tensor in monitorTensors.Values)
                    {
                        tensor.Dispose();
                    }
                }

                header.ApplyTo(state);
                run.LastCheckpoint = request.ResumeFrom;
                EngineLog.Resumed(logger, request.ResumeFrom!, state.Step);
                if (extendedFrom is { } previous)
                {
                    state.Monitoring.StoppedEarly = false; // more steps were asked for: patience counts on from the best point
                    var before = new LearningRateSchedule(options.LearningRate, options.MinLearningRate, previous, (long)Math.Floor(options.WarmupFraction * previous));
                    EngineLog.ScheduleExtended(logger, previous, totalSteps, state.Step, state.Step + 1, schedule.At(state.Step), before.At(Math.Min(state.Step, previous - 1)));
                }
            }

            return run;
        }
        catch
        {
            run?.Best.Dispose();
            monitor?.Dispose();
            optimizer?.Dispose();
            model?.Dispose();
            replayed?.Dispose();
            snapshot?.Restore();
            throw;
        }
    }

    /// <summary>The batch of the next step; starts a new epoch (with a new plan) when the current one is used up.</summary>
    public ReplayBatch NextBatch(IReplaySampler replay, int batchSize)
    {
        if (State.EpochDone)
        {
            CloseEpoch();
            State.StartEpoch(replay.PlanEpoch(Request.Target.Count, State.Subset, batchSize, State.ReplayRandom));
        }

        return State.Plan![State.Position];
    }

    /// <summary>Books a finished step: counters, epoch statistics, skipped steps.</summary>
    public void Record(ReplayBatch batch, double loss, double learningRate, TimeSpan elapsed)
    {
        if (!double.IsFinite(loss))
        {
            EngineLog.SkippedNonFinite(_logger, State.Step + 1, loss); // numbered as progress counts
            State.SkippedSteps++;
        }

        State.EpochStatistics.Add(loss, batch.Count, elapsed.TotalSeconds, learningRate);
        State.Position++;
        State.Step++;
    }

    public void CloseEpoch()
    {
        if (State.CloseEpoch() is { } e)
        {
            EngineLog.EpochDone(_logger, e.Epoch, e.Steps, e.MeanLoss, e.LastLearningRate, e.ImagesPerSecond);
        }
    }

    public void SaveCheckpoint()
    {
        if (CheckpointPath is null)
        {
            return;
        }

        EngineCheckpoint.Save(CheckpointPath, EngineCheckpoint.Header.From(State, _fingerprint), Model, Optimizer, MonitorCheckpointSection.Tensors(Monitor, Best));
        LastCheckpoint = CheckpointPath;
        EngineLog.CheckpointWritten(_logger, CheckpointPath, State.Step);
    }

    public void Dispose()
    {
        Best.Dispose();
        Monitor?.Dispose();
        Replayed.Dispose();
        Optimizer.Dispose();
        Model.Dispose();
    }

    private static void ValidateData(FinetuneRequest request)
    {
        ArgumentNullException.ThrowIfNull(request.Backbone);
        ArgumentNullException.ThrowIfNull(request.Target);
        var target = request.Target;
        if (target.Count == 0)
        {
            throw new ArgumentException("The target set is empty.", nameof(request));
        }

        if (target.Shape.Channels != request.Backbone.InputChannels)
        {
            throw new ArgumentException($"Target images have {target.Shape.Channels} channel(s) but the backbone expects {request.Backbone.InputChannels}.", nameof(request));
        }

        if (request.Source is { } source && source.Shape != target.Shape)
        {
            throw new ArgumentException($"Source images {source.Shape} and target images {target.Shape} must share one shape; load both at the same size and colour mode.", nameof(request));
        }
    }

    /// <summary>Replay selection, with the pretrained backbone's features on offer (computed only if the rule asks).</summary>
    private static int[] SelectSubset(FinetuneRequest request, IReplaySampler replay, TwoViewAugmentation views, int size, SeededRandom random)
    {
        var backbone = request.Backbone;
        Tensor Compute(IImageDataset data) => FeatureExtractor.Extract(backbone, data, x => views.Evaluate(x, size, size));
        var shared = request.SharedSelectionFeatures;
        using var context = new ReplaySelectionContext(request.Target, request.Source, random, shared is null ? Compute : data => shared.Get(data, Compute));
        return replay.SelectSubset(context);
    }

    /// <summary>Auto resolved for the device, with a log line saying what was chosen and why, and warnings where it cannot pay.</summary>
    private static ComputePrecision ResolvePrecision(FinetuneOptions options, Backbones.Backbone backbone, Device device, ILogger logger)
    {
        if (options.Precision == ComputePrecision.Float32)
        {
            return ComputePrecision.Float32; // the default: nothing to detect, nothing to log
        }

        var precision = ComputePrecisions.Resolve(options.Precision, device);
        string reason = ComputePrecisions.Explain(device);
        EngineLog.PrecisionChosen(logger, options.Precision.ToString(), precision.ToString(), reason);
        if (precision == ComputePrecision.BFloat16 && !ComputePrecisions.SupportsNativeBFloat16(device))
        {
            EngineLog.PrecisionEmulated(logger, reason);
        }

        if (precision != ComputePrecision.Float32 && !backbone.UsesAutocast)
        {
            EngineLog.PrecisionNotApplied(logger, backbone.GetType().Name, precision.ToString());
        }

        return precision;
    }

    private static void CheckSubset(string path, int[] subset, int sourceCount)
    {
        if (subset.Any(i => (uint)i >= (uint)sourceCount))
        {
            throw new InvalidDataException($"{path}: the checkpoint replays source images up to index {subset.Max()} but the source set has {sourceCount} images; resume with the same source set.");
        }
    }
}
