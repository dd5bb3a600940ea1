using System.Diagnostics;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using UnsupervisedFinetuning.Augment;
using UnsupervisedFinetuning.Methods;
using UnsupervisedFinetuning.Mixing;
using UnsupervisedFinetuning.Monitoring;
using UnsupervisedFinetuning.Replay;
using static TorchSharp.torch;
using UnsupervisedFinetuning.Evaluation;

namespace UnsupervisedFinetuning.Engine;

/// <summary>
/// Runs unsupervised finetuning: composes a self-supervised method (<see cref="ISelfSupervisedMethod"/>), a
/// replay sampler (<see cref="IReplaySampler"/>), a mixing strategy (<see cref="IMixingStrategy"/>) and the
/// two-view augmentation, and owns the loop: data, learning-rate schedule, optimizer, checkpoints,
/// progress and logs.
/// </summary>
/// <remarks>
/// One step: target (+ replayed source) images → two augmented views → mixed query views → the method's
/// loss → backward → optimizer step → the method's after-step update (EMA, queue). Every step runs in its
/// own TorchSharp dispose scope, so the number of live tensors does not grow with the number of steps.
/// <see cref="Run"/> is synchronous (TorchSharp's dispose scopes are per thread); one engine may run
/// many times, and engines in one process do not share random state.
/// </remarks>
public sealed class FinetuneEngine
{
    private readonly FinetuneOptions _options;
    private readonly ISelfSupervisedMethod _method;
    private readonly IReplaySampler _replay;
    private readonly IMixingStrategy _mixing;
    private readonly TwoViewAugmentation? _augmentation;
    private readonly ILogger _logger;

    /// <summary>Creates an engine from validated options and the strategies to compose (the constructor dependency injection uses).</summary>
    /// <param name="options">Engine options; validated here.</param>
    /// <param name="method">The self-supervised method.</param>
    /// <param name="replay">Replay sampler (<see cref="NoReplay"/> for naive finetuning).</param>
    /// <param name="mixing">Mixing strategy (<see cref="NoMixing"/> for none).</param>
    /// <param name="logger">Logger; none by default.</param>
    /// <param name="augmentation">Two-view augmentation; by default built from <see cref="FinetuneOptions.Augmentation"/> and the method's recipe.</param>
    /// <exception cref="OptionsValidationException">The options are invalid (every failure is named).</exception>
    public FinetuneEngine(
        IOptions<FinetuneOptions> options,
        ISelfSupervisedMethod method,
        IReplaySampler replay,
        IMixingStrategy mixing,
        ILogger<FinetuneEngine>? logger = null,
        TwoViewAugmentation? augmentation = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(method);
        ArgumentNullException.ThrowIfNull(replay);
        ArgumentNullException.ThrowIfNull(mixing);
        _options = new FinetuneOptionsValidator().ThrowIfInvalid(options.Value);
        _method = method;
        _replay = replay;
        _mixing = mixing;
        _augmentation = augmentation;
        _logger = (ILogger?)logger ?? NullLogger.Instance;
    }

    /// <summary>
    /// The file the engine keeps in <see cref="FinetuneOptions.CheckpointDirectory"/>; pass its path as
    /// <see cref="FinetuneRequest.ResumeFrom"/> to continue a run.
    /// </summary>
    public const string CheckpointFileName = EngineCheckpoint.FileName;

    /// <summary>The options in effect.</summary>
    public FinetuneOptions Options => _options;

    /// <summary>The method the engine trains with.</summary>
    public ISelfSupervisedMethod Method => _method;

    /// <summary>Builds an engine without dependency injection.</summary>
    /// <param name="options">Engine options; validated here.</param>
    /// <param name="method">The self-supervised method; <see cref="MocoV2"/> with its defaults when null.</param>
    /// <param name="replay">Replay sampler; <see cref="NoReplay"/> (naive finetuning) when null.</param>
    /// <param name="mixing">Mixing strategy; <see cref="NoMixing"/> when null.</param>
    /// <param name="augmentation">Two-view augmentation; by default built from <see cref="FinetuneOptions.Augmentation"/> and the method's recipe.</param>
    /// <param name="logger">Logger; none by default.</param>
    /// <exception cref="OptionsValidationException">The options are invalid (every failure is named).</exception>
    public static FinetuneEngine Create(FinetuneOptions options, ISelfSupervisedMethod? method = null, IReplaySampler? replay = null, IMixingStrategy? mixing = null,
        TwoViewAugmentation? augmentation = null, ILogger<FinetuneEngine>? logger = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        return new FinetuneEngine(Microsoft.Extensions.Options.Options.Create(options), method ?? new MocoV2(), replay ?? NoReplay.Instance, mixing ?? NoMixing.Instance, logger, augmentation);
    }

    /// <summary>
    /// Refuses, before any data is decoded, a configuration whose training step cannot fit in this machine's memory:
    /// one image's forward and backward pass through <paramref name="backbone"/> at the view size is measured (peak
    /// resident memory) and scaled to the batch; <see cref="Run"/> checks the same. Linux and the CPU only; elsewhere
    /// nothing is checked. The backbone is left as it was (evaluation mode for the probe, gradients not accumulated).
    /// </summary>
    /// <param name="backbone">The backbone to train.</param>
    /// <param name="channels">Image channels.</param>
    /// <param name="imageSize">Side of the training views (<see cref="FinetuneOptions.Augmentation"/>'s ImageSize, or the images' height).</param>
    /// <exception cref="InsufficientMemoryException">A step is estimated to need more memory than is available; the message names both and what to lower.</exception>
    public void CheckStepMemory(Backbones.Backbone backbone, int channels, int imageSize)
    {
        ArgumentNullException.ThrowIfNull(backbone);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(channels);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(imageSize);
        StepMemoryCheck.Check(backbone, channels, imageSize, _options, _mixing, TorchDevices.Resolve(_options.Device));
    }

    /// <summary>The number of optimizer steps a run on these data sizes will take.</summary>
    /// <exception cref="ArgumentException">The data cannot fill one batch.</exception>
    public long PlannedSteps(int targetCount, int replayCount) =>
        _options.Steps ?? (long)_options.Epochs * _replay.StepsPerEpoch(targetCount, replayCount, _options.BatchSize);

    /// <summary>Finetunes <see cref="FinetuneRequest.Backbone"/> on the target set (with replay and mixing as configured).</summary>
    /// <exception cref="ArgumentException">The request does not fit the options (shapes, sizes, missing source set).</exception>
    /// <exception cref="InvalidDataException">The checkpoint to resume from is unreadable or was written with other settings; nothing was changed.</exception>
    /// <exception cref="OperationCanceledException">Cancelled; the current step finishes first and, with checkpointing on, is saved.</exception>
    /// <exception cref="NonFiniteLossException">The loss became NaN or infinite under <see cref="NonFiniteLossPolicy.Throw"/>.</exception>
    /// <exception cref="InsufficientMemoryException">A step at this batch and view size is estimated to need more memory than the machine has available (Linux, CPU); nothing was changed.</exception>
    /// <exception cref="RunFolderInUseException">Another run holds <see cref="FinetuneOptions.CheckpointDirectory"/> (<see cref="RunFolderLock"/>); nothing was changed.</exception>
    public FinetuneResult Run(FinetuneRequest request, IProgress<FinetuneProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        // One run per folder: taken before anything is read or written, held until the last checkpoint is written.
        using var folder = _options.CheckpointDirectory is { } directory ? RunFolderLock.Acquire(directory, forRun: true) : null;
        using var run = TrainingRun.Start(request, _options, _method, _replay, _mixing, _augmentation, _logger);
        var state = run.State;
        EngineLog.Started(_logger, StrategySettings.Describe(_method.Name, _method.Settings), run.TotalSteps, request.Target.Count, state.Subset.Length, _options.BatchSize,
            StrategySettings.Describe(_mixing.Name, _mixing.Settings), run.Device.ToString());
        foreach (var (_, network) in run.Model.Networks)
        {
            network.train(); // the momentum target too: its BatchNorm uses key-batch statistics, as in MoCo
        }

        var session = new SessionClock(state.Step);
        var score = BestBackbone.Scorer(_options.Monitoring);
        if (run.Monitor is { } monitor)
        {
            EngineLog.MonitoringPlanned(_logger, monitor.Interval, monitor.TargetImages, monitor.SourceImages, monitor.ValidationImages, monitor.ImagesPerPoint, _options.Monitoring.Criterion.ToString());
            if (state.Monitoring.Points.Count == 0)
            {
                // Step 0: the pretrained backbone, the baseline every later point is read against. Not reported
                // through IProgress, whose reports each follow a step (with its loss); it is in the log and the result.
                Monitor(run, score);
            }
        }

        try
        {
            while (state.Step < run.TotalSteps && !state.Monitoring.StoppedEarly)
            {
                cancellationToken.ThrowIfCancellationRequested();
                var batch = run.NextBatch(_replay, _options.BatchSize);
                double learningRate = run.Schedule.At(state.Step);
                run.Optimizer.LearningRate = learningRate;
                long started = Stopwatch.GetTimestamp();
                double loss = TrainStep(batch, run);
                if (!double.IsFinite(loss) && _options.NonFiniteLoss == NonFiniteLossPolicy.Throw)
                {
                    throw new NonFiniteLossException(state.Step + 1, loss, run.LastCheckpoint); // numbered as progress counts
                }

                run.Record(batch, loss, learningRate, Stopwatch.GetElapsedTime(started));
                session.Add(batch.Count);
                AfterStep(run, progress, session, loss, learningRate, score);
            }
        }
        catch (OperationCanceledException)
        {
            EngineLog.Cancelled(_logger, state.Step);
            run.SaveCheckpoint();
            throw;
        }

        run.CloseEpoch();
        run.SaveCheckpoint();
        EngineLog.Finished(_logger, state.Step, session.Elapsed.TotalSeconds);
        var result = new FinetuneResult(request.Backbone, run.Model.Head, run.Model.Predictor, state.History, state.Subset, state.Step,
            state.OnlineImagePasses, state.TargetImagePasses, state.SkippedSteps, run.LastCheckpoint)
        {
            Monitoring = [.. state.Monitoring.Points],
            Selected = state.Monitoring.Best,
            StoppedEarly = state.Monitoring.StoppedEarly,
            SelectedWeights = run.Best.Detach(),
        };
        if (_options.Monitoring.RestoreBest && result.Selected is { } best)
        {
            result.RestoreSelected();
            EngineLog.RestoredBest(_logger, best.Step, _options.Monitoring.Criterion.ToString(), best.Score);
        }

        return result;
    }

    /// <summary>Measures a monitor point after the current step, books it for selection and early stopping, and logs it.</summary>
    private MonitorPoint Monitor(TrainingRun run, Func<MonitorPoint, double> score)
    {
        var state = run.State;
        var point = run.Monitor!.Measure(run.Request.Backbone, state.Step, score);
        var history = state.Monitoring;
        history.Points.Add(point);
        run.Best.Offer(history, point, run.Request.Backbone, _options.Monitoring.MinImprovement);
        EngineLog.Monitored(_logger, point.Step, point.Target.RankMe, point.Target.Uniformity, point.Target.Alignment, point.SourceDrift?.LinearCka, point.SourceDrift?.NeighbourhoodPreservation,
            point.ValidationKnn, point.Score, history.BestStep, point.Seconds);
        if (_options.Monitoring.Patience is { } patience && history.SinceBest >= patience && state.Step < run.TotalSteps)
        {
            history.StoppedEarly = true;
            EngineLog.StoppedEarly(_logger, state.Step, _options.Monitoring.Criterion.ToString(), patience, history.BestStep);
        }

        return point;
    }

    /// <summary>Runs <see cref="Run"/> on a dedicated thread (TorchSharp's dispose scopes are per thread).</summary>
    public Task<FinetuneResult> RunAsync(FinetuneRequest request, IProgress<FinetuneProgress>? progress = null, CancellationToken cancellationToken = default) =>
        Task.Factory.StartNew(() => Run(request, progress, cancellationToken), cancellationToken, TaskCreationOptions.LongRunning, TaskScheduler.Default);

    private double TrainStep(ReplayBatch batch, TrainingRun run)
    {
        using var scope = NewDisposeScope();
        var state = run.State;

        // Raw images: target rows first, then replayed source rows; uint8 goes to the device (4× less traffic than float).
        var images = Gather(batch, run).to(run.Device);                                         // [B,C,H,W] uint8
        var (first, second) = run.Augmentation.Apply(images, state.AugmentRandom);             // query and key views [B,C,S,S]
        var mixed = _mixing.Mix(first, batch.IsSource(), state.MixRandom);                      // mixed query views + plan
        MethodLoss loss;
        using (Autocast.Enter(ComputePrecisions.ComputeType(run.Precision)))
        {
            // Mixed precision: convs and linears in the run's dtype; the heads hand float32 embeddings to the loss.
            loss = run.Model.Loss(new MethodInput(first, second, QueryViews(first, mixed)));
        }

        state.OnlineImagePasses += loss.OnlineImagePasses;
        state.TargetImagePasses += loss.TargetImagePasses;

        double value = loss.Value.item<float>(); // one host sync per step: the non-finite check and progress need it
        if (!double.IsFinite(value))
        {
            return value; // no update: no backward, no optimizer step, no EMA or queue update
        }

        run.Optimizer.ZeroGrad();
        loss.Value.backward();
        run.Optimizer.Step();
        run.Model.AfterStep();
        return value;
    }

    /// <summary>
    /// The query views to score: the plain views when the batch was not mixed; otherwise the mixed views
    /// (<see cref="MixingCompute.Replace"/>) or the mixed and the plain views with half the weight each
    /// (<see cref="MixingCompute.Add"/>, Un-Mix's averaged loss).
    /// </summary>
    private QueryView[] QueryViews(Tensor first, MixResult mixed)
    {
        if (!mixed.Plan.IsMixed)
        {
            return [new QueryView(first, mixed.Plan, 1.0)];
        }

        return _options.MixingCompute == MixingCompute.Add
            ? [new QueryView(mixed.Images, mixed.Plan, 0.5), new QueryView(first, MixPlan.Identity(mixed.Plan.Count), 0.5)]
            : [new QueryView(mixed.Images, mixed.Plan, 1.0)];
    }

    private static Tensor Gather(ReplayBatch batch, TrainingRun run)
    {
        var rows = run.Request.Target.GetBatch(batch.Target);
        return batch.Source.Length == 0 ? rows : cat([rows, run.Replayed.Gather(batch.Source)], 0);
    }

    private void AfterStep(TrainingRun run, IProgress<FinetuneProgress>? progress, SessionClock session, double loss, double learningRate, Func<MonitorPoint, double> score)
    {
        var state = run.State;
        if (_options.TrimNativeMemoryEverySteps is { } trim && state.Step % trim == 0)
        {
            NativeMemory.Trim();
        }

        var point = run.Monitor is { } monitor && monitor.IsDue(state.Step, run.TotalSteps) ? Monitor(run, score) : null;
        if (progress is not null && (point is not null || state.Step % _options.ProgressEverySteps == 0 || state.Step == run.TotalSteps))
        {
            progress.Report(new FinetuneProgress(state.Step, run.TotalSteps, state.Epoch, loss, learningRate, session.ImagesPerSecond, session.Elapsed, session.Eta(state.Step, run.TotalSteps))
            {
                Monitor = point,
            });
        }

        if (_options.CheckpointEverySteps is { } every && state.Step % every == 0 && state.Step < run.TotalSteps && !state.Monitoring.StoppedEarly)
        {
            run.SaveCheckpoint();
        }
    }

    /// <summary>Wall time and images of this call of Run (a resumed run's rate counts only its own steps).</summary>
    private sealed class SessionClock(long firstStep)
    {
        private readonly Stopwatch _clock = Stopwatch.StartNew();
        private long _images;

        public TimeSpan Elapsed => _clock.Elapsed;

        public double ImagesPerSecond => _images / Math.Max(_clock.Elapsed.TotalSeconds, 1e-9);

        public void Add(int images) => _images += images;

        public TimeSpan Eta(long step, long total) =>
            step <= firstStep ? TimeSpan.Zero : TimeSpan.FromSeconds(_clock.Elapsed.TotalSeconds / (step - firstStep) * (total - step));
    }
}
