using System.Diagnostics;
using UnsupervisedFinetuning.Augment;
using UnsupervisedFinetuning.Backbones;
using UnsupervisedFinetuning.Data;
using UnsupervisedFinetuning.Evaluation;
using static TorchSharp.torch;

namespace UnsupervisedFinetuning.Monitoring;

/// <summary>
/// Measures a run's backbone on fixed probe images (<see cref="MonitoringOptions"/>). The probes are decoded once
/// when the run starts and kept as uint8 [P,C,H,W] on the CPU: a lazy target or source folder is not read again.
/// The alignment views are drawn from a generator re-seeded at every point, so every point sees the same views
/// and no training stream is touched. The start backbone's features of the source probe [Ps, D] are kept (and
/// checkpointed) as the reference drift is measured against.
/// </summary>
internal sealed class OnlineMonitor : IDisposable
{
    /// <summary>The parameter a refusal names: the caller's <c>FinetuneRequest</c>, which the monitor's data comes from.</summary>
    private const string RequestParameter = "request";

    private readonly MonitoringOptions _options;
    private readonly long _seed;
    private readonly TransferEvaluator _evaluator;         // the evaluation transform, the alignment views, the training batch per forward pass
    private readonly InMemoryImageDataset _target;         // [Pt,C,H,W] uint8
    private readonly InMemoryImageDataset? _source;        // [Ps,C,H,W] uint8
    private readonly InMemoryImageDataset? _validation;    // [V,C,H,W] uint8
    private readonly int[] _validationLabels;
    private readonly int _validationClasses;
    private Tensor? _startSource;                          // [Ps,D] float32: the start backbone's features of _source

    private OnlineMonitor(MonitoringOptions options, TwoViewAugmentation views, int size, long seed, int forwardBatch, Tensor target, Tensor? source, Tensor? validation, ILabeledImageDataset? labelled)
    {
        _options = options;
        _seed = seed;
        _evaluator = new TransferEvaluator(x => views.Evaluate(x, size, size), monitorViews: options.Alignment ? views : null, batchSize: forwardBatch) { Precision = options.Precision };
        _target = new InMemoryImageDataset(target);
        _source = source is null ? null : new InMemoryImageDataset(source);
        _validation = validation is null ? null : new InMemoryImageDataset(validation);
        _validationLabels = labelled?.GetLabels() ?? [];
        _validationClasses = labelled?.ClassCount ?? 0;
    }

    /// <summary>Steps between points.</summary>
    public int Interval { get; private set; }

    /// <summary>Target images measured.</summary>
    public int TargetImages => _target.Count;

    /// <summary>Source probe images; 0 without.</summary>
    public int SourceImages => _source?.Count ?? 0;

    /// <summary>Labelled validation images; 0 without.</summary>
    public int ValidationImages => _validationLabels.Length;

    /// <summary>Forward image passes one point costs.</summary>
    public long ImagesPerPoint => (TargetImages * (_options.Alignment ? 3L : 1L)) + SourceImages + ValidationImages;

    /// <summary>The start backbone's source-probe features, to checkpoint; null before step 0 was measured or without a source probe.</summary>
    public Tensor? StartSourceFeatures => _startSource;

    /// <summary>Builds the monitor of a run, or null when monitoring is off. Checks that the criterion can be computed with the data given.</summary>
    /// <exception cref="ArgumentException">The criterion needs data the request does not have, or a probe's shape differs from the target's.</exception>
    public static OnlineMonitor? Create(MonitorData data, MonitoringOptions options, TwoViewAugmentation views, int size, long seed, int batchSize, long totalSteps)
    {
        if (!options.Enabled)
        {
            return null;
        }

        var target = data.Target;
        var root = new SeededRandom(seed);
        var sourceProbe = SourceProbe(data, options, root);
        Check(data, options);
        // Decoded into one scope and detached together only once all three are read: a failed read frees the others.
        using var scope = NewDisposeScope();
        var targetImages = Sample(target, options.ProbeImages, root.Fork("monitor-target")).GetBatch(Enumerable.Range(0, Math.Min(options.ProbeImages, target.Count)).ToArray());
        var sourceImages = sourceProbe?.GetBatch(Enumerable.Range(0, sourceProbe.Count).ToArray());
        var validation = data.Validation?.GetBatch(Enumerable.Range(0, data.Validation.Count).ToArray());
        var monitor = new OnlineMonitor(options, views, size, seed, batchSize, targetImages.DetachFromDisposeScope(), sourceImages?.DetachFromDisposeScope(), validation?.DetachFromDisposeScope(), data.Validation);
        monitor.Interval = PlannedInterval(data, options, batchSize, totalSteps);
        return monitor;
    }

    /// <summary>The interval of a run: <see cref="MonitoringOptions.EverySteps"/>, or the automatic one.</summary>
    public static int PlannedInterval(MonitorData data, MonitoringOptions options, int batchSize, long totalSteps) =>
        options.EverySteps ?? AutomaticInterval(PlannedImagesPerPoint(data, options), batchSize, totalSteps);

    /// <summary>
    /// The smallest interval N whose points — every N steps plus the two at the ends — cost at most
    /// <see cref="MonitoringOptions.AutomaticBudget"/> of the training compute, counting a training image as three
    /// forward passes (forward and a backward of about twice its cost) and a point as <paramref name="imagesPerPoint"/>
    /// forward passes: (T/N + 2)·M ≤ b·3B·T  ⇔  N ≥ M / (3bB − 2M/T). When even the two end points exceed the
    /// budget, only they are measured (N = T).
    /// </summary>
    internal static int AutomaticInterval(long imagesPerPoint, int batchSize, long totalSteps)
    {
        double perStep = 3.0 * MonitoringOptions.AutomaticBudget * batchSize;
        double denominator = perStep - (2.0 * imagesPerPoint / totalSteps);
        if (denominator <= 0)
        {
            return (int)Math.Min(totalSteps, int.MaxValue);
        }

        return (int)Math.Clamp(Math.Ceiling(imagesPerPoint / denominator), 1, Math.Min(totalSteps, int.MaxValue));
    }

    /// <summary>Whether a point is due after <paramref name="step"/> steps of <paramref name="totalSteps"/>.</summary>
    public bool IsDue(long step, long totalSteps) => step == 0 || step == totalSteps || step % Interval == 0;

    /// <summary>
    /// Takes the start features read from a checkpoint (a resumed run measures drift from the run's start, not the
    /// resume); the monitor owns them from here on.
    /// </summary>
    public void RestoreStart(Tensor startSourceFeatures)
    {
        _startSource?.Dispose();
        _startSource = startSourceFeatures.DetachFromDisposeScope();
    }

    /// <summary>Measures <paramref name="backbone"/> after <paramref name="step"/> steps; at step 0 also keeps the start features.</summary>
    public MonitorPoint Measure(Backbone backbone, long step, Func<MonitorPoint, double> score)
    {
        long started = Stopwatch.GetTimestamp();
        using var scope = NewDisposeScope();
        var target = _evaluator.Monitors(backbone, _target, _seed); // the same alignment views at every point
        DriftMeasurement? drift = null;
        if (_source is not null)
        {
            var now = _evaluator.Features(backbone, _source);
            _startSource ??= now.clone().DetachFromDisposeScope();
            int k = Math.Min(_options.Neighbours, SourceImages - 1);
            drift = new DriftMeasurement(Cka(_startSource, now), RepresentationDrift.NeighbourhoodPreservation(_startSource, now, k), SourceImages, k);
        }

        double? validation = _validation is null ? null : _evaluator.Knn.LeaveOneOutAccuracy(_evaluator.Features(backbone, _validation), _validationLabels, _validationClasses);
        var point = new MonitorPoint { Step = step, Target = target, SourceDrift = drift, ValidationKnn = validation, Score = double.NaN, Seconds = 0 };
        return point with { Score = score(point), Seconds = Stopwatch.GetElapsedTime(started).TotalSeconds };
    }

    public void Dispose()
    {
        _target.Dispose();
        _source?.Dispose();
        _validation?.Dispose();
        _startSource?.Dispose();
    }

    /// <summary>
    /// Checks, before the run changes anything, that the probes fit the target and that the criterion can be
    /// computed with the data given; a no-op when monitoring is off.
    /// </summary>
    /// <exception cref="ArgumentException">It cannot; the message says what is missing.</exception>
    public static void Check(MonitorData data, MonitoringOptions options)
    {
        if (!options.Enabled)
        {
            return;
        }

        var sourceProbe = data.SourceProbe ?? data.Source;
        var shape = data.Target.Shape;
        if (data.SourceProbe is { } probe && probe.Shape != shape)
        {
            throw new ArgumentException($"Source probe images {probe.Shape} and target images {shape} must share one shape.", RequestParameter);
        }

        if (sourceProbe is not null && sourceProbe.Count < 2)
        {
            throw new ArgumentException($"The source probe has {sourceProbe.Count} image(s); drift needs at least 2.", RequestParameter);
        }

        if (data.Validation is { } validation)
        {
            if (validation.Shape != shape)
            {
                throw new ArgumentException($"Validation images {validation.Shape} and target images {shape} must share one shape.", RequestParameter);
            }

            if (validation.Count < 2)
            {
                throw new ArgumentException($"The validation set has {validation.Count} image(s); leave-one-out kNN needs at least 2.", RequestParameter);
            }
        }

        if (data.Target.Count < 2)
        {
            throw new ArgumentException("Monitoring needs at least 2 target images (uniformity compares pairs); turn it off with Monitoring.Enabled = false.", RequestParameter);
        }

        if (options.Criterion is MonitorCriterion.SourceCka or MonitorCriterion.SourceNeighbourhoods && sourceProbe is null)
        {
            throw new ArgumentException($"Monitoring.Criterion {options.Criterion} measures drift on source images, but the request has neither SourceProbe nor Source.", RequestParameter);
        }

        if (options.Criterion == MonitorCriterion.ValidationKnn && data.Validation is null)
        {
            throw new ArgumentException("Monitoring.Criterion ValidationKnn needs a few labelled target images in FinetuneRequest.Validation.", RequestParameter);
        }
    }

    /// <summary>Forward image passes a point of this request will cost (as <see cref="ImagesPerPoint"/>), without reading an image.</summary>
    public static long PlannedImagesPerPoint(MonitorData data, MonitoringOptions options)
    {
        long target = Math.Min(options.ProbeImages, data.Target.Count) * (options.Alignment ? 3L : 1L);
        long source = data.SourceProbe?.Count ?? Math.Min(options.ProbeImages, data.Source?.Count ?? 0);
        return target + source + (data.Validation?.Count ?? 0);
    }

    private static IImageDataset? SourceProbe(MonitorData data, MonitoringOptions options, SeededRandom root) =>
        data.SourceProbe ?? (data.Source is { } source ? Sample(source, options.ProbeImages, root.Fork("monitor-source")) : null);

    /// <summary>A fixed seeded sample of <paramref name="count"/> images (all, in order, when the set is not larger).</summary>
    private static IImageDataset Sample(IImageDataset data, int count, SeededRandom random)
    {
        if (data.Count <= count)
        {
            return data;
        }

        int[] chosen = random.Permutation(data.Count)[..count];
        Array.Sort(chosen);
        return new SubsetDataset(data, chosen);
    }

    /// <summary>
    /// Linear CKA, or NaN when it is undefined — the features of one side are all the same, as in a collapsed
    /// backbone: a monitor reports collapse, it does not end the run over it.
    /// </summary>
    private static double Cka(Tensor before, Tensor after)
    {
        try
        {
            return RepresentationDrift.LinearCka(before, after);
        }
        catch (ArgumentException)
        {
            return double.NaN;
        }
    }
}
