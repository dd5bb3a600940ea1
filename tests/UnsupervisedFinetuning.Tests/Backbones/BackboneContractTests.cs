using UnsupervisedFinetuning.Backbones;
using UnsupervisedFinetuning.Formats;
using static TorchSharp.torch;

namespace UnsupervisedFinetuning.Tests.Backbones;

/// <summary>One contract, run over every backbone the library offers (timm's habit).</summary>
[TestFixture]
public sealed class BackboneContractTests
{
    public static IEnumerable<TestCaseData> Backbones()
    {
        yield return new TestCaseData(new Func<Backbone>(() => new ResNet(ResNetDepth.ResNet18, ResNetStem.ImageNet, 3, width: 16)), 32).SetName("ResNet18_ImageNetStem_w16");
        yield return new TestCaseData(new Func<Backbone>(() => new ResNet(ResNetDepth.ResNet18, ResNetStem.SmallImage, 1, width: 8)), 16).SetName("ResNet18_SmallStem_Gray_w8");
        yield return new TestCaseData(new Func<Backbone>(() => new ResNet(ResNetDepth.ResNet34, ResNetStem.SmallImage, 3, width: 8)), 16).SetName("ResNet34_SmallStem_w8");
        yield return new TestCaseData(new Func<Backbone>(() => new ResNet(ResNetDepth.ResNet50, ResNetStem.SmallImage, 3, width: 8)), 16).SetName("ResNet50_SmallStem_w8");
        yield return new TestCaseData(new Func<Backbone>(() => new SmallCnn(1, 64)), 16).SetName("SmallCnn_Gray_64");
    }

    private static Tensor Input(Backbone backbone, int size, int batch = 3) =>
        randn([batch, backbone.InputChannels, size, size], generator: new Generator(1));

    [TestCaseSource(nameof(Backbones))]
    public void ForwardFeatures_GivesFiniteFeaturesOfTheDeclaredWidth(Func<Backbone> create, int size)
    {
        using var backbone = create();
        using var scope = NewDisposeScope();

        var features = backbone.ForwardFeatures(Input(backbone, size));

        Assert.That(features.shape, Is.EqualTo(new long[] { 3, backbone.FeatureDimension }));
        Assert.That(features.isfinite().all().item<bool>(), Is.True);
        Assert.That(backbone.Classifier, Is.Null);
    }

    [TestCaseSource(nameof(Backbones))]
    public void ReplaceThenRemoveClassifier_SwitchesBetweenLogitsAndFeatures(Func<Backbone> create, int size)
    {
        using var backbone = create();
        using var scope = NewDisposeScope();
        int before = backbone.parameters().Count();

        backbone.ReplaceClassifier(7);
        var logits = backbone.call(Input(backbone, size));
        Assert.That(logits.shape, Is.EqualTo(new long[] { 3, 7 }));
        Assert.That(backbone.parameters().Count(), Is.EqualTo(before + 2));
        Assert.That(backbone.state_dict().Keys, Does.Contain("fc.weight"));

        backbone.ReplaceClassifier(4);
        Assert.That(backbone.call(Input(backbone, size)).shape, Is.EqualTo(new long[] { 3, 4 }));

        backbone.RemoveClassifier();
        Assert.That(backbone.call(Input(backbone, size)).shape, Is.EqualTo(new long[] { 3, backbone.FeatureDimension }));
        Assert.That(backbone.parameters().Count(), Is.EqualTo(before));
    }

    [TestCaseSource(nameof(Backbones))]
    public void CloneArchitecture_SameNamesAndShapes_FreshWeights(Func<Backbone> create, int size)
    {
        using var backbone = create();
        using var clone = backbone.CloneArchitecture();

        var a = backbone.state_dict();
        var b = clone.state_dict();

        Assert.That(b.Keys, Is.EqualTo(a.Keys));
        Assert.That(a.Keys.All(k => a[k].shape.SequenceEqual(b[k].shape)), Is.True);
        Assert.That(a.Keys.Where(k => k.EndsWith("conv1.weight", StringComparison.Ordinal) || k.EndsWith("conv.weight", StringComparison.Ordinal)).Any(k => !a[k].equal(b[k]).all().item<bool>()), Is.True, "random initialisation differs");
        Assert.That(clone.FeatureDimension, Is.EqualTo(backbone.FeatureDimension));
    }

    [TestCaseSource(nameof(Backbones))]
    public void SaveThenLoadIntoClone_ReproducesEvalOutputsExactly(Func<Backbone> create, int size)
    {
        using var dir = new TempDirectory();
        using var backbone = create();
        using var clone = backbone.CloneArchitecture();
        using var scope = NewDisposeScope();
        backbone.train();
        backbone.call(Input(backbone, size, batch: 4)); // moves BatchNorm running statistics away from their defaults
        backbone.eval();
        clone.eval();
        string path = dir.File("weights.dat");

        Checkpoint.Save(backbone, path);
        Checkpoint.LoadTorchSharp(clone, path);

        var x = Input(backbone, size);
        Assert.That(clone.call(x).equal(backbone.call(x)).all().item<bool>(), Is.True);
        Assert.That(Directory.GetFiles(dir.Path), Is.EqualTo(new[] { path }), "no temporary file is left behind");
    }

    [TestCaseSource(nameof(Backbones))]
    public void ForwardFeatures_WrongChannelCount_NamesExpectedShape(Func<Backbone> create, int size)
    {
        using var backbone = create();
        using var scope = NewDisposeScope();

        var e = Assert.Throws<ArgumentException>(() => backbone.ForwardFeatures(zeros(2, backbone.InputChannels + 1, size, size)));

        Assert.That(e!.Message, Does.Contain($"[B,{backbone.InputChannels},H,W]"));
    }

    [TestCase(ResNetDepth.ResNet18, 11_689_512)]
    [TestCase(ResNetDepth.ResNet34, 21_797_672)]
    [TestCase(ResNetDepth.ResNet50, 25_557_032)]
    public void ResNet_FullWidthWithImageNetClassifier_HasTorchvisionsParameterCount(ResNetDepth depth, long expected)
    {
        using var resnet = new ResNet(depth);
        resnet.ReplaceClassifier(1000);

        long count = resnet.parameters().Sum(p => p.numel());

        Assert.That(count, Is.EqualTo(expected));
        Assert.That(resnet.FeatureDimension, Is.EqualTo(depth == ResNetDepth.ResNet50 ? 2048 : 512));
    }
}
