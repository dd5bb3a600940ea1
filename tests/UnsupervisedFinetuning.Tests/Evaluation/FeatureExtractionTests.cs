using UnsupervisedFinetuning.Augment;
using UnsupervisedFinetuning.Data;
using UnsupervisedFinetuning.Evaluation;
using UnsupervisedFinetuning.Tests.Engine;
using static TorchSharp.torch;

namespace UnsupervisedFinetuning.Tests.Evaluation;

[TestFixture]
public sealed class FeatureExtractionTests
{
    [Test]
    public void Extract_InDatasetOrderInEvalMode_AndRestoresTrainingMode()
    {
        using var data = EngineTestData.Images(37, seed: 1);
        using var model = EngineTestData.Model();
        model.train();
        var augmentation = AugmentationPresets.SmallImage(16, 1);
        Tensor Preprocess(Tensor x) => augmentation.Evaluate(x, 16, 16);

        using var features = FeatureExtractor.Extract(model, data, Preprocess, batchSize: 10);

        Assert.That(model.training, Is.True);
        Assert.That(features.shape, Is.EqualTo(new long[] { 37, model.FeatureDimension }));
        model.eval();
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var direct = model.ForwardFeatures(Preprocess(data.GetBatch([36, 0])));
        Assert.That(features[36].allclose(direct[0], rtol: 0, atol: 1e-5), Is.True);
        Assert.That(features[0].allclose(direct[1], rtol: 0, atol: 1e-5), Is.True);
    }

    [Test]
    public void Evaluate_ReportsEachMetricFromTheSameFeaturesAsTheParts()
    {
        using var images = EngineTestData.Images(90, seed: 2);
        int[] labels = Enumerable.Range(0, 90).Select(i => i % 3).ToArray();
        using var labelled = new InMemoryLabeledImageDataset(images.Images.clone(), labels, 3);
        var split = DatasetSplits.Stratified(labelled, 0.5, 0.2, 0.3, seed: 1);
        using var model = EngineTestData.Model();
        var augmentation = AugmentationPresets.SmallImage(16, 1);
        var evaluator = new TransferEvaluator(x => augmentation.Evaluate(x, 16, 16), monitorViews: augmentation);
        var sets = new TransferEvaluationSets
        {
            TargetTrain = split.Train,
            TargetValidation = split.Validation,
            TargetTest = split.Test!,
            SourceBank = split.Train,
            SourceTest = split.Test!,
            Monitor = split.Train.WithoutLabels(),
        };

        var metrics = evaluator.Evaluate(model, sets);

        Assert.That(metrics.ToMeasurements("arm", 0).Select(m => m.Metric), Is.EquivalentTo(new[]
        {
            TransferMetrics.TargetKnn, TransferMetrics.TargetKnnValidation, TransferMetrics.TargetLinearProbe, TransferMetrics.SourceKnn,
            TransferMetrics.RankMe, TransferMetrics.Uniformity, TransferMetrics.Alignment,
        }), "every metric the sets allow, under the report's column names");
        using var scope = NewDisposeScope();
        var train = FeatureExtractor.Extract(model, split.Train, x => augmentation.Evaluate(x, 16, 16));
        var test = FeatureExtractor.Extract(model, split.Test!, x => augmentation.Evaluate(x, 16, 16));
        double knn = new KnnClassifier().Accuracy(train, split.Train.GetLabels(), 3, test, split.Test!.GetLabels());
        Assert.That(metrics.TargetKnn, Is.EqualTo(knn));
        Assert.That(metrics.SourceKnn, Is.EqualTo(knn), "the source sets are the target's here");
        Assert.That(metrics.RankMe, Is.EqualTo(RepresentationMonitors.RankMe(train)).Within(1e-9));
    }

    [Test]
    public void Evaluate_WithoutOptionalSets_LeavesTheirMetricsNull()
    {
        using var images = EngineTestData.Images(60, seed: 3);
        int[] labels = Enumerable.Range(0, 60).Select(i => i % 3).ToArray();
        using var labelled = new InMemoryLabeledImageDataset(images.Images.clone(), labels, 3);
        var split = DatasetSplits.Stratified(labelled, 0.5, 0, 0.5, seed: 1);
        using var model = EngineTestData.Model();
        var augmentation = AugmentationPresets.SmallImage(16, 1);

        var metrics = new TransferEvaluator(x => augmentation.Evaluate(x, 16, 16)).Evaluate(model, new TransferEvaluationSets { TargetTrain = split.Train, TargetTest = split.Test! });

        Assert.That(metrics.TargetKnn, Is.InRange(0.0, 1.0));
        Assert.That(new double?[] { metrics.TargetKnnValidation, metrics.TargetLinearProbe, metrics.SourceKnn, metrics.RankMe, metrics.Alignment, metrics.Uniformity }, Is.All.Null);
        Assert.That(metrics.ToMeasurements("arm", 7), Has.Count.EqualTo(1).And.All.Matches<TransferMeasurement>(m => m.Metric == TransferMetrics.TargetKnn && m.Seed == 7));
    }
}
