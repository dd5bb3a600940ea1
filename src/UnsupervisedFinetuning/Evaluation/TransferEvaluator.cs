using UnsupervisedFinetuning.Augment;
using UnsupervisedFinetuning.Backbones;
using UnsupervisedFinetuning.Data;
using static TorchSharp.torch;

namespace UnsupervisedFinetuning.Evaluation;

/// <summary>
/// Measures a backbone the way a transfer comparison needs: target kNN and linear probe, source kNN
/// (retention, the mirror of forgetting) and the label-free monitors, all on frozen features.
/// </summary>
public sealed class TransferEvaluator
{
    private readonly Func<Tensor, Tensor> _preprocess;
    private readonly TwoViewAugmentation? _monitorViews;

    /// <summary>Creates the evaluator.</summary>
    /// <param name="preprocess">uint8 batch → network input, the deterministic evaluation transform.</param>
    /// <param name="knn">kNN settings (default k = 20, τ = 0.07).</param>
    /// <param name="probe">Linear probe (default grid).</param>
    /// <param name="monitorViews">Augmentation for the alignment monitor's two views; none skips alignment.</param>
    /// <param name="batchSize">Images per forward pass.</param>
    public TransferEvaluator(Func<Tensor, Tensor> preprocess, KnnClassifier? knn = null, LinearProbe? probe = null, TwoViewAugmentation? monitorViews = null, int batchSize = 256)
    {
        ArgumentNullException.ThrowIfNull(preprocess);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(batchSize);
        _preprocess = preprocess;
        Knn = knn ?? new KnnClassifier();
        Probe = probe ?? new LinearProbe();
        _monitorViews = monitorViews;
        BatchSize = batchSize;
    }

    /// <summary>The kNN classifier.</summary>
    public KnnClassifier Knn { get; }

    /// <summary>The linear probe.</summary>
    public LinearProbe Probe { get; }

    /// <summary>Images per forward pass.</summary>
    public int BatchSize { get; }

    /// <summary>
    /// The dtype the backbone's convolutions compute in while features are read (features are returned in
    /// float32). Default <see cref="ComputePrecision.Float32"/>.
    /// </summary>
    public ComputePrecision Precision { get; init; } = ComputePrecision.Float32;

    /// <summary>Every metric the sets allow (see <see cref="TransferEvaluation"/> for which need what).</summary>
    /// <param name="backbone">The backbone to measure; put in eval mode while features are read, then restored.</param>
    /// <param name="sets">The labelled splits and monitor images.</param>
    /// <param name="seed">Seed of the monitor's augmented views.</param>
    public TransferEvaluation Evaluate(Backbone backbone, TransferEvaluationSets sets, long seed = 0)
    {
        ArgumentNullException.ThrowIfNull(backbone);
        ArgumentNullException.ThrowIfNull(sets);
        using var scope = NewDisposeScope();
        Tensor Features(IImageDataset data) => FeatureExtractor.Extract(backbone, data, _preprocess, BatchSize, Precision);

        var trainFeatures = Features(sets.TargetTrain);
        var testFeatures = Features(sets.TargetTest);
        var trainLabels = sets.TargetTrain.GetLabels();
        var testLabels = sets.TargetTest.GetLabels();
        int classes = sets.TargetTrain.ClassCount;
        var result = new TransferEvaluation { TargetKnn = Knn.Accuracy(trainFeatures, trainLabels, classes, testFeatures, testLabels) };

        if (sets.TargetValidation is not null)
        {
            var validationFeatures = Features(sets.TargetValidation);
            var validationLabels = sets.TargetValidation.GetLabels();
            var probe = Probe.Fit(trainFeatures, trainLabels, validationFeatures, validationLabels, classes);
            using (probe.Model)
            {
                result = result with
                {
                    TargetKnnValidation = Knn.Accuracy(trainFeatures, trainLabels, classes, validationFeatures, validationLabels),
                    TargetLinearProbe = probe.Model.Accuracy(testFeatures, testLabels),
                };
            }
        }

        if (sets.SourceBank is not null && sets.SourceTest is not null)
        {
            result = result with
            {
                SourceKnn = Knn.Accuracy(Features(sets.SourceBank), sets.SourceBank.GetLabels(), sets.SourceBank.ClassCount, Features(sets.SourceTest), sets.SourceTest.GetLabels()),
            };
        }

        if (sets.Monitor is not null)
        {
            var monitors = Monitors(backbone, sets.Monitor, seed);
            result = result with { RankMe = monitors.RankMe, Uniformity = monitors.Uniformity, Alignment = monitors.Alignment };
        }

        return result;
    }

    /// <summary>
    /// Compares two backbones without labels: the label-free monitors of each on <paramref name="target"/>, and,
    /// given <paramref name="sourceProbe"/> (a few hundred source images, labels not needed), the drift between
    /// their features there — linear CKA and neighbourhood preservation. Both backbones are read with this
    /// evaluator's preprocessing, so they must take the same input.
    /// </summary>
    /// <param name="start">The backbone before finetuning.</param>
    /// <param name="finetuned">The backbone after.</param>
    /// <param name="target">Target images for the monitors (e.g. the unlabelled finetuning set).</param>
    /// <param name="sourceProbe">Source images for the drift; null skips it.</param>
    /// <param name="seed">Seed of the monitor's augmented views (the same for both backbones).</param>
    /// <param name="neighbours">The k of neighbourhood preservation.</param>
    public LabelFreeComparison CompareWithoutLabels(Backbone start, Backbone finetuned, IImageDataset target, IImageDataset? sourceProbe = null, long seed = 0, int neighbours = 10)
    {
        ArgumentNullException.ThrowIfNull(start);
        ArgumentNullException.ThrowIfNull(finetuned);
        ArgumentNullException.ThrowIfNull(target);
        var comparison = new LabelFreeComparison { Start = Monitors(start, target, seed), Finetuned = Monitors(finetuned, target, seed) };
        return sourceProbe is null ? comparison : comparison with { SourceDrift = Drift(start, finetuned, sourceProbe, neighbours) };
    }

    /// <summary>
    /// The drift between two backbones' features of <paramref name="probe"/> (e.g. a few hundred source images; no
    /// labels): linear CKA and neighbourhood preservation (<see cref="RepresentationDrift"/>).
    /// </summary>
    /// <param name="start">The backbone before finetuning.</param>
    /// <param name="finetuned">The backbone after.</param>
    /// <param name="probe">The images, at least <paramref name="neighbours"/> + 1.</param>
    /// <param name="neighbours">The k of neighbourhood preservation.</param>
    public DriftMeasurement Drift(Backbone start, Backbone finetuned, IImageDataset probe, int neighbours = 10)
    {
        ArgumentNullException.ThrowIfNull(start);
        ArgumentNullException.ThrowIfNull(finetuned);
        ArgumentNullException.ThrowIfNull(probe);
        using var scope = NewDisposeScope();
        var before = FeatureExtractor.Extract(start, probe, _preprocess, BatchSize, Precision);
        var after = FeatureExtractor.Extract(finetuned, probe, _preprocess, BatchSize, Precision);
        return new DriftMeasurement(RepresentationDrift.LinearCka(before, after), RepresentationDrift.NeighbourhoodPreservation(before, after, neighbours), probe.Count, neighbours);
    }

    /// <summary>
    /// The label-free monitors of one backbone on unlabelled images — RankMe, uniformity and (with monitor views)
    /// alignment: what can be measured when no image has a label.
    /// </summary>
    /// <param name="backbone">The backbone to measure; put in eval mode while features are read, then restored.</param>
    /// <param name="images">Target images, no labels needed (at least 2).</param>
    /// <param name="seed">Seed of the alignment monitor's augmented views.</param>
    /// <exception cref="ArgumentException">Fewer than 2 images.</exception>
    public LabelFreeMonitors MeasureWithoutLabels(Backbone backbone, IImageDataset images, long seed = 0)
    {
        ArgumentNullException.ThrowIfNull(backbone);
        ArgumentNullException.ThrowIfNull(images);
        if (images.Count < 2)
        {
            throw new ArgumentException($"The label-free monitors need at least 2 images; got {images.Count}.", nameof(images));
        }

        return Monitors(backbone, images, seed);
    }

    /// <summary>
    /// Retention alone: weighted kNN top-1 accuracy on <paramref name="test"/> with <paramref name="bank"/> as the
    /// memory bank (held-out labelled source images; no target labels needed) — <see cref="TransferEvaluation.SourceKnn"/>.
    /// </summary>
    /// <param name="backbone">The backbone to measure.</param>
    /// <param name="bank">Labelled source images forming the kNN bank.</param>
    /// <param name="test">Labelled source images scored; their labels index <paramref name="bank"/>'s classes.</param>
    public double Retention(Backbone backbone, ILabeledImageDataset bank, ILabeledImageDataset test)
    {
        ArgumentNullException.ThrowIfNull(backbone);
        ArgumentNullException.ThrowIfNull(bank);
        ArgumentNullException.ThrowIfNull(test);
        using var scope = NewDisposeScope();
        return Knn.Accuracy(Features(backbone, bank), bank.GetLabels(), bank.ClassCount, Features(backbone, test), test.GetLabels());
    }

    /// <summary>Features [N, D] of <paramref name="images"/> through this evaluator's preprocessing and batch size.</summary>
    internal Tensor Features(Backbone backbone, IImageDataset images) => FeatureExtractor.Extract(backbone, images, _preprocess, BatchSize, Precision);

    /// <summary>RankMe, uniformity and (with monitor views) alignment of <paramref name="backbone"/> on <paramref name="images"/>; the views are drawn from <paramref name="seed"/> alone.</summary>
    internal LabelFreeMonitors Monitors(Backbone backbone, IImageDataset images, long seed)
    {
        using var scope = NewDisposeScope();
        var plain = FeatureExtractor.Extract(backbone, images, _preprocess, BatchSize, Precision);
        double? alignment = null;
        if (_monitorViews is not null)
        {
            var random = new SeededRandom(seed).Fork("monitor-views");
            var views = FeatureExtractor.ExtractViews(backbone, images, batch =>
            {
                var (first, second) = _monitorViews.Apply(batch, random);
                return [first, second];
            }, BatchSize, Precision);
            alignment = RepresentationMonitors.Alignment(views[0], views[1]);
        }

        return new LabelFreeMonitors(RepresentationMonitors.RankMe(plain), RepresentationMonitors.Uniformity(plain), alignment);
    }
}
