using System.Diagnostics;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using UnsupervisedFinetuning.Augment;
using UnsupervisedFinetuning.Data;
using UnsupervisedFinetuning.Mixing;
using UnsupervisedFinetuning.Objectives;
using UnsupervisedFinetuning.Replay;
using static TorchSharp.torch;

namespace UnsupervisedFinetuning.Engine;

/// <summary>
/// Runs unsupervised finetuning: composes the replay sampler, the mixing strategy, the objective (with the
/// parts it needs: head, momentum target, queue, predictor) and the two-view augmentation, and owns the
/// training loop, the learning-rate schedule, checkpoints, progress and logging.
/// </summary>
/// <remarks>
/// One step: target (+ replayed source) images → two augmented views → mixed query view → online
/// embeddings q̃ and key embeddings k → objective (mixed-loss form) → backward → optimizer step → EMA of the
/// target → keys into the queue. Every step runs in its own TorchSharp dispose scope, so the number of live
/// tensors does not grow with the number of steps. <see cref="Run"/> is synchronous: TorchSharp's dispose
/// scopes are per thread.
/// </remarks>
public sealed class FinetuneEngine
{
    private readonly FinetuneOptions _options;
    private readonly IReplaySampler _replay;
    private readonly IMixingStrategy _mixing;
    private readonly IContrastiveObjective _objective;
    private readonly TwoViewAugmentation? _augmentation;
    private readonly InfoNceLoss? _iMix;
    private readonly ILogger _logger;

    /// <summary>Creates an engine from validated options and the strategies to compose.</summary>
    /// <param name="options">Run options; validated here.</param>
    /// <param name="replay">Replay sampler (<see cref="NoReplay"/> for naive finetuning).</param>
    /// <param name="mixing">Mixing strategy (<see cref="NoMixing"/> for none).</param>
    /// <param name="objective">The objective; its <see cref="IContrastiveObjective.Parts"/> decide the networks built.</param>
    /// <param name="logger">Logger; none by default.</param>
    /// <param name="augmentation">Two-view augmentation; by default built from <see cref="FinetuneOptions.Augmentation"/>.</param>
    /// <exception cref="OptionsValidationException">The options are invalid (every failure is named).</exception>
    /// <exception cref="ArgumentException">The strategies do not fit together (i-Mix needs InfoNCE).</exception>
    public FinetuneEngine(
        IOptions<FinetuneOptions> options,
        IReplaySampler replay,
        IMixingStrategy mixing,
        IContrastiveObjective objective,
        ILogger<FinetuneEngine>? logger = null,
        TwoViewAugmentation? augmentation = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(replay);
        ArgumentNullException.ThrowIfNull(mixing);
        ArgumentNullException.ThrowIfNull(objective);
        _options = options.Value;
        FinetuneOptionsValidator.ThrowIfInvalid(_options);
        if (mixing.Options.Mode != MixingMode.None && mixing.Options.LossForm == MixingLossForm.IMix && objective is not InfoNceLoss)
        {
            throw new ArgumentException($"The i-Mix loss form needs the InfoNCE objective; the objective is {objective.Name}. Use MixingLossForm.UnMix.", nameof(mixing));
        }

        // Decided once: the loss form is fixed for the engine's life, so the step only reads it.
        _iMix = mixing.Options.LossForm == MixingLossForm.IMix ? objective as InfoNceLoss : null;

        _replay = replay;
        _mixing = mixing;
        _objective = objective;
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

    /// <summary>Builds an engine whose strategies and objective all come from <paramref name="options"/>.</summary>
    public static FinetuneEngine Create(FinetuneOptions options, ILogger<FinetuneEngine>? logger = null, TwoViewAugmentation? augmentation = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        FinetuneOptionsValidator.ThrowIfInvalid(options);
        return new FinetuneEngine(
            Microsoft.Extensions.Options.Options.Create(options),
            StrategyFactory.Replay(options.Replay),
            StrategyFactory.Mixing(options.Mixing),
            StrategyFactory.Objective(options),
            logger,
            augmentation);
    }

    /// <summary>The number of optimizer steps a run on these data sizes will take.</summary>
    public long PlannedSteps(int targetCount, int replayCount)
    {
        int perEpoch = _replay.StepsPerEpoch(targetCount, replayCount, _options.BatchSize);
        return _options.Steps > 0 ? _options.Steps : (long)_options.Epochs * perEpoch;
    }

    /// <summary>Finetunes <see cref="FinetuneRequest.Backbone"/> on the target set (with replay and mixing as configured).</summary>
    /// <exception cref="ArgumentException">The request does not fit the options (shapes, sizes, missing source set).</exception>
    /// <exception cref="OperationCanceledException">Cancelled; the current step finishes first and, with checkpointing on, is saved.</exception>
    /// <exception cref="NonFiniteLossException">The loss became NaN or infinite under <see cref="NonFiniteLossPolicy.Throw"/>.</exception>
    public FinetuneResult Run(FinetuneRequest request, IProgress<FinetuneProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(request.Backbone);
        ArgumentNullException.ThrowIfNull(request.Target);
        var target = request.Target;
        var source = request.Source;
        ValidateData(request);

        var device = TorchDevices.Resolve(_options.Device);
        var root = new SeededRandom(_options.Seed);
        var replayRandom = root.Fork("replay");
        int[] subset = _replay.SelectSubset(target.Count, source?.Count ?? 0, replayRandom);
        int stepsPerEpoch = _replay.StepsPerEpoch(target.Count, subset.Length, _options.BatchSize);
        long totalSteps = PlannedSteps(target.Count, subset.Length);
        var state = new TrainingState
        {
            Subset = subset,
            ReplayRandom = replayRandom,
            AugmentRandom = root.Fork("augment"),
            MixRandom = root.Fork("mixing"),
        };
        int queueSize = _options.QueueSize > 0 ? _options.QueueSize : NegativeQueue.DefaultSize(_options.BatchSize, target.Count + state.Subset.Length);
        int size = _options.ImageSize > 0 ? _options.ImageSize : target.Shape.Height;
        var augmentation = _augmentation ?? StrategyFactory.Augmentation(_options, target.Shape.Channels, size);

        // Seed TorchSharp's generator too: new heads are initialised from it.
        random.manual_seed(_options.Seed);
        using var parts = TrainingParts.Create(request, _objective, _options, device, queueSize);
        using var optimizer = new EngineOptimizer(parts.TrainableParameters, _options);
        var schedule = new LearningRateSchedule(_options.LearningRate, _options.MinLearningRate, totalSteps, (long)Math.Floor(_options.WarmupFraction * totalSteps));
        var fingerprint = Fingerprint(target, state.Subset.Length, totalSteps, queueSize, size);
        string? checkpointPath = _options.CheckpointDirectory is null ? null : Path.Combine(_options.CheckpointDirectory, EngineCheckpoint.FileName);
        string? lastCheckpoint = null;

        if (request.ResumeFrom is not null)
        {
            var header = EngineCheckpoint.Load(request.ResumeFrom, parts, optimizer);
            CheckFingerprint(request.ResumeFrom, header.Fingerprint, fingerprint);
            header.ApplyTo(state);
            lastCheckpoint = request.ResumeFrom;
            EngineLog.Resumed(_logger, request.ResumeFrom, state.Step);
        }

        EngineLog.Started(_logger, _objective.Name, totalSteps, stepsPerEpoch, _options.BatchSize, target.Count, state.Subset.Length, _mixing.Options.Mode.ToString(), device.ToString());
        parts.Train();
        var clock = Stopwatch.StartNew();
        long imagesThisSession = 0;
        long stepsThisSession = 0;
        try
        {
            while (state.Step < totalSteps)
            {
                cancellationToken.ThrowIfCancellationRequested();
                if (state.Plan is null || state.Position >= state.Plan.Count)
                {
                    CloseEpoch(state);
                    state.Plan = _replay.PlanEpoch(target.Count, state.Subset, _options.BatchSize, state.ReplayRandom);
                    state.Position = 0;
                    state.Epoch++;
                }

                var batch = state.Plan[state.Position];
                double learningRate = schedule.At(state.Step);
                optimizer.LearningRate = learningRate;
                long stepStart = clock.ElapsedTicks;
                double loss = TrainStep(batch, target, source, augmentation, parts, optimizer, state, device);
                double seconds = (double)(clock.ElapsedTicks - stepStart) / Stopwatch.Frequency;

                if (!double.IsFinite(loss))
                {
                    if (_options.NonFiniteLoss == NonFiniteLossPolicy.Throw)
                    {
                        throw new NonFiniteLossException(state.Step, loss, lastCheckpoint);
                    }

                    EngineLog.SkippedNonFinite(_logger, state.Step, loss);
                    state.SkippedSteps++;
                }
                else
                {
                    state.EpochLossSum += loss;
                    state.EpochCounted++;
                }

                state.Position++;
                state.Step++;
                state.EpochSteps++;
                state.EpochImages += batch.Count;
                state.EpochSeconds += seconds;
                state.LastLearningRate = learningRate;
                imagesThisSession += batch.Count;
                stepsThisSession++;

                if (_options.TrimNativeMemoryEverySteps > 0 && state.Step % _options.TrimNativeMemoryEverySteps == 0)
                {
                    NativeMemory.Trim();
                }

                if (progress is not null && (state.Step % _options.ProgressEverySteps == 0 || state.Step == totalSteps))
                {
                    var elapsed = clock.Elapsed;
                    var eta = TimeSpan.FromSeconds(elapsed.TotalSeconds / stepsThisSession * (totalSteps - state.Step));
                    progress.Report(new FinetuneProgress(state.Step, totalSteps, state.Epoch, loss, learningRate, imagesThisSession / Math.Max(elapsed.TotalSeconds, 1e-9), elapsed, eta));
                }

                if (checkpointPath is not null && _options.CheckpointEverySteps > 0 && state.Step % _options.CheckpointEverySteps == 0 && state.Step < totalSteps)
                {
                    lastCheckpoint = SaveCheckpoint(checkpointPath, state, fingerprint, parts, optimizer);
                }
            }
        }
        catch (OperationCanceledException)
        {
            EngineLog.Cancelled(_logger, state.Step);
            if (checkpointPath is not null)
            {
                SaveCheckpoint(checkpointPath, state, fingerprint, parts, optimizer);
            }

            throw;
        }

        CloseEpoch(state);
        if (checkpointPath is not null)
        {
            lastCheckpoint = SaveCheckpoint(checkpointPath, state, fingerprint, parts, optimizer);
        }

        EngineLog.Finished(_logger, state.Step, clock.Elapsed.TotalSeconds);
        return new FinetuneResult(request.Backbone, parts.Head, parts.Predictor, state.History, state.Subset, state.Step,
            state.QueryImagePasses, state.KeyImagePasses, state.SkippedSteps, lastCheckpoint);
    }

    /// <summary>Runs <see cref="Run"/> on a dedicated thread (TorchSharp's dispose scopes are per thread).</summary>
    public Task<FinetuneResult> RunAsync(FinetuneRequest request, IProgress<FinetuneProgress>? progress = null, CancellationToken cancellationToken = default) =>
        Task.Factory.StartNew(() => Run(request, progress, cancellationToken), cancellationToken, TaskCreationOptions.LongRunning, TaskScheduler.Default);

    private double TrainStep(ReplayBatch batch, IImageDataset target, IImageDataset? source, TwoViewAugmentation augmentation, TrainingParts parts, EngineOptimizer optimizer, TrainingState state, Device device)
    {
        using var scope = NewDisposeScope();

        // Raw images: target rows first, then replayed source rows; uint8 goes to the device (4× less traffic than float).
        var images = Gather(batch, target, source).to(device);
        var isSource = Enumerable.Range(0, batch.Count).Select(i => i >= batch.Target.Length).ToArray();

        var (view1, view2) = augmentation.Apply(images, state.AugmentRandom);       // [B,C,S,S] each
        var mix = _mixing.Mix(view1, isSource, state.MixRandom);                       // mixed query view + plan

        var queries = parts.Query(mix.Images);                                         // q̃ [B,D]
        var keys = parts.Key(view2);                                                   // k [B,D]
        var negatives = parts.Queue?.Keys;                                             // [K,D] or none
        var loss = MixedObjective(queries, keys, negatives, mix.Plan);
        state.QueryImagePasses += batch.Count;
        state.KeyImagePasses += parts.TargetBackbone is null ? 0 : batch.Count;

        if (mix.Plan.IsMixed && _mixing.Options.Compute == MixingCompute.Add)
        {
            // Un-Mix's form: a second, plain query pass; the two losses are averaged.
            var plain = _objective.Compute(parts.Query(view1), keys, negatives).Mean;
            loss = (plain + loss) / 2;
            state.QueryImagePasses += batch.Count;
        }

        if (_objective.Parts.HasFlag(ObjectiveParts.SymmetricLoss))
        {
            // BYOL: also predict the first view's target from the second view.
            loss = loss + _objective.Compute(parts.Query(view2), parts.Key(view1), negatives).Mean;
            state.QueryImagePasses += batch.Count;
            state.KeyImagePasses += batch.Count;
        }

        double value = loss.item<float>(); // one host sync per step: needed for the non-finite check and progress
        if (!double.IsFinite(value))
        {
            return value;
        }

        optimizer.ZeroGrad();
        loss.backward();
        optimizer.Step();
        parts.AfterStep(keys);
        return value;
    }

    private Tensor MixedObjective(Tensor queries, Tensor keys, Tensor? negatives, MixPlan plan) =>
        _iMix is not null && negatives is not null
            ? MixedLoss.IMix(_iMix, queries, keys, negatives, plan)
            : MixedLoss.UnMix(_objective, queries, keys, negatives, plan);

    private static Tensor Gather(ReplayBatch batch, IImageDataset target, IImageDataset? source)
    {
        var rows = target.GetBatch(batch.Target);
        if (batch.Source.Length == 0)
        {
            return rows;
        }

        return cat([rows, source!.GetBatch(batch.Source)], 0);
    }

    private void ValidateData(FinetuneRequest request)
    {
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

    private string SaveCheckpoint(string path, TrainingState state, Dictionary<string, string> fingerprint, TrainingParts parts, EngineOptimizer optimizer)
    {
        EngineCheckpoint.Save(path, EngineCheckpoint.Header.From(state, fingerprint, parts.Queue), parts, optimizer);
        EngineLog.CheckpointWritten(_logger, path, state.Step);
        return path;
    }

    private void CloseEpoch(TrainingState state)
    {
        if (state.CloseEpoch() is { } e)
        {
            EngineLog.EpochDone(_logger, e.Epoch, e.Steps, e.MeanLoss, e.LastLearningRate, e.ImagesPerSecond);
        }
    }

    private Dictionary<string, string> Fingerprint(IImageDataset target, int replayCount, long totalSteps, int queueSize, int size) => new()
    {
        ["Objective"] = _objective.Name,
        ["BatchSize"] = _options.BatchSize.ToString(System.Globalization.CultureInfo.InvariantCulture),
        ["Seed"] = _options.Seed.ToString(System.Globalization.CultureInfo.InvariantCulture),
        ["TotalSteps"] = totalSteps.ToString(System.Globalization.CultureInfo.InvariantCulture),
        ["TargetCount"] = target.Count.ToString(System.Globalization.CultureInfo.InvariantCulture),
        ["TargetShape"] = target.Shape.ToString(),
        ["ReplayCount"] = replayCount.ToString(System.Globalization.CultureInfo.InvariantCulture),
        ["Replay"] = $"{_options.Replay.Mode}/{_options.Replay.Composition}/{_options.Replay.Selection}",
        ["Mixing"] = $"{_mixing.Options.Mode}/{_mixing.Options.LossForm}/{_mixing.Options.Compute}/{_mixing.Options.Partners}/fold={_mixing.Options.FoldLambda}",
        // Numbers that change the trajectory: a resume with any of them changed would no longer continue
        // the run it claims to continue ("R" round-trips doubles exactly).
        ["MixingAlpha"] = _mixing.Options.Alpha.ToString("R", System.Globalization.CultureInfo.InvariantCulture),
        ["MixingProbability"] = _mixing.Options.Probability.ToString("R", System.Globalization.CultureInfo.InvariantCulture),
        ["LearningRate"] = _options.LearningRate.ToString("R", System.Globalization.CultureInfo.InvariantCulture),
        ["WeightDecay"] = _options.WeightDecay.ToString("R", System.Globalization.CultureInfo.InvariantCulture),
        ["Temperature"] = _options.Temperature.ToString("R", System.Globalization.CultureInfo.InvariantCulture),
        ["EmaMomentum"] = _options.EmaMomentum.ToString("R", System.Globalization.CultureInfo.InvariantCulture),
        ["QueueSize"] = queueSize.ToString(System.Globalization.CultureInfo.InvariantCulture),
        ["ImageSize"] = size.ToString(System.Globalization.CultureInfo.InvariantCulture),
        ["Optimizer"] = _options.Optimizer.ToString(),
    };

    private static void CheckFingerprint(string path, Dictionary<string, string> stored, Dictionary<string, string> current)
    {
        foreach (var (key, value) in current)
        {
            if (!stored.TryGetValue(key, out var old) || old != value)
            {
                throw new InvalidDataException($"{path}: the checkpoint was written with {key} = {old ?? "(absent)"} but this run has {key} = {value}; resume with the same options and data.");
            }
        }
    }
}
