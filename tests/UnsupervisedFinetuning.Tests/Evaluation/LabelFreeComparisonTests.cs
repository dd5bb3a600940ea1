using UnsupervisedFinetuning.Augment;
using UnsupervisedFinetuning.Evaluation;
using UnsupervisedFinetuning.Tests.Engine;
using static TorchSharp.torch;

namespace UnsupervisedFinetuning.Tests.Evaluation;

[TestFixture]
public sealed class LabelFreeComparisonTests
{
    [Test]
    public void CompareWithoutLabels_EqualsTheMeasuresOnFeaturesExtractedDirectly()
    {
        using var target = EngineTestData.Images(64, seed: 1);
        using var source = EngineTestData.Images(80, seed: 2, brightness: 120);
        using var start = EngineTestData.Model(seed: 1);
        using var other = EngineTestData.Model(seed: 2);
        var views = AugmentationPresets.SmallImage(16, 1);
        Tensor Preprocess(Tensor x) => views.Evaluate(x, 16, 16);
        var evaluator = new TransferEvaluator(Preprocess, monitorViews: views);

        var comparison = evaluator.CompareWithoutLabels(start, other, target, source, seed: 3, neighbours: 5);

        using var before = FeatureExtractor.Extract(start, source, Preprocess);
        using var after = FeatureExtractor.Extract(other, source, Preprocess);
        using var targetFeatures = FeatureExtractor.Extract(other, target, Preprocess);
        Assert.That(comparison.SourceDrift, Is.EqualTo(new DriftMeasurement(RepresentationDrift.LinearCka(before, after), RepresentationDrift.NeighbourhoodPreservation(before, after, 5), 80, 5)));
        Assert.That(comparison.Finetuned.RankMe, Is.EqualTo(RepresentationMonitors.RankMe(targetFeatures)));
        Assert.That(comparison.Finetuned.Uniformity, Is.EqualTo(RepresentationMonitors.Uniformity(targetFeatures)));
        Assert.That(comparison.Start.Alignment, Is.Not.Null);
        Assert.That(comparison.SourceDrift!.LinearCka, Is.LessThan(1.0), "two differently initialised networks");
    }

    [Test]
    public void CompareWithoutLabels_ABackboneWithItself_HasNotDrifted()
    {
        using var target = EngineTestData.Images(40, seed: 1);
        using var model = EngineTestData.Model(seed: 1);
        var views = AugmentationPresets.SmallImage(16, 1);
        var evaluator = new TransferEvaluator(x => views.Evaluate(x, 16, 16), monitorViews: views);

        var comparison = evaluator.CompareWithoutLabels(model, model, target, target, seed: 3);

        Assert.That(comparison.SourceDrift!.LinearCka, Is.EqualTo(1.0).Within(1e-9));
        Assert.That(comparison.SourceDrift.NeighbourhoodPreservation, Is.EqualTo(1.0));
        Assert.That(comparison.Finetuned, Is.EqualTo(comparison.Start), "the same backbone and seed give the same monitors");
    }
}
