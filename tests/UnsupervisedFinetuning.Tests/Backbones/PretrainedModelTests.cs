using System.Text.Json.Nodes;
using UnsupervisedFinetuning.Backbones;
using UnsupervisedFinetuning.Objectives;
using static TorchSharp.torch;

namespace UnsupervisedFinetuning.Tests.Backbones;

/// <summary>A saved model describes itself: one call rebuilds architecture, weights, head and input transform.</summary>
[TestFixture]
public sealed class PretrainedModelTests
{
    private TempDirectory _dir = null!;

    [SetUp]
    public void SetUp() => _dir = new TempDirectory();

    [TearDown]
    public void TearDown() => _dir.Dispose();

    private static bool SameWeights(nn.Module a, nn.Module b) =>
        a.state_dict().Count == b.state_dict().Count && a.state_dict().All(kv => kv.Value.equal(b.state_dict()[kv.Key]).all().item<bool>());

    [Test]
    public void InputDescription_EqualByValue_NotByListInstance()
    {
        var a = new InputDescription(28, 28, [0.5f], [0.5f]);
        var b = InputDescription.Centered(28, 1);

        Assert.That(a, Is.EqualTo(b));
        Assert.That(a == b, Is.True);
        Assert.That(a.GetHashCode(), Is.EqualTo(b.GetHashCode()));
        Assert.That(a == new InputDescription(28, 28, [0.5f], [0.25f]), Is.False);
        Assert.That(InputDescription.ImageNet(224) == InputDescription.ImageNet(96), Is.False);
    }

    [Test]
    public void SaveThenLoad_SmallCnnWithHead_RebuildsBothWithTheirWeights()
    {
        random.manual_seed(3);
        using var backbone = new SmallCnn(1, 16);
        using var head = new ProjectionHead(16, 24, 8, batchNorm: false);
        string path = _dir.File("demo.model.json");

        PretrainedModel.Save(path, backbone, InputDescription.Centered(28, channels: 1), head, new Dictionary<string, string> { ["data"] = "test" });
        using var model = PretrainedModel.Load(path);

        Assert.That(model.Backbone, Is.TypeOf<SmallCnn>());
        Assert.That(SameWeights(model.Backbone, backbone), Is.True);
        Assert.That(model.Head, Is.Not.Null);
        Assert.That((model.Head!.InputDimension, model.Head.HiddenDimension, model.Head.OutputDimension), Is.EqualTo((16, 24, 8)));
        Assert.That(SameWeights(model.Head, head), Is.True);
        Assert.That(model.Description.Backbone, Is.EqualTo(new BackboneDescription("SmallCnn", 1, 16)));
        Assert.That(model.Description.Provenance["data"], Is.EqualTo("test"));
        Assert.That(Directory.GetFiles(_dir.Path).Select(Path.GetFileName), Is.EquivalentTo(new[] { "demo.model.json", "demo.backbone.dat", "demo.head.dat" }));
        var options = model.ImageFolderOptions();
        Assert.That((options.Height, options.Width, options.Color), Is.EqualTo((28, 28, UnsupervisedFinetuning.Data.ImageColorMode.Grayscale)));
    }

    [Test]
    public void SaveThenLoad_ResNetWithClassifier_KeepsStemWidthAndClassifier()
    {
        random.manual_seed(4);
        using var backbone = new ResNet(ResNetDepth.ResNet18, ResNetStem.SmallImage, inputChannels: 3, width: 8);
        backbone.ReplaceClassifier(5);
        string path = _dir.File("r18.model.json");

        PretrainedModel.Save(path, backbone, InputDescription.ImageNet(32));
        using var model = PretrainedModel.Load(path);

        var resnet = (ResNet)model.Backbone;
        Assert.That((resnet.Depth, resnet.Stem, resnet.Width, resnet.InputChannels), Is.EqualTo((ResNetDepth.ResNet18, ResNetStem.SmallImage, 8, 3)));
        Assert.That(resnet.Classifier?.out_features, Is.EqualTo(5));
        Assert.That(SameWeights(resnet, backbone), Is.True);
        Assert.That(model.Head, Is.Null);
    }

    [Test]
    public void Preprocess_ScalesResizesAndNormalisesAsDescribed()
    {
        using var backbone = new SmallCnn(3, 8);
        string path = _dir.File("p.model.json");
        PretrainedModel.Save(path, backbone, new InputDescription(4, 4, [0.5f, 0.25f, 0f], [0.5f, 0.25f, 1f]));
        using var model = PretrainedModel.Load(path);
        using var images = full(new long[] { 1, 3, 2, 2 }, 255, ScalarType.Byte); // 2×2 white, resized to 4×4

        using var x = model.Preprocess(images);

        Assert.That(x.shape, Is.EqualTo(new long[] { 1, 3, 4, 4 }));
        // (1 − mean) / std per channel: (1 − 0.5)/0.5 = 1, (1 − 0.25)/0.25 = 3, (1 − 0)/1 = 1.
        Assert.That(x[0, 0].mean().item<float>(), Is.EqualTo(1f).Within(1e-5));
        Assert.That(x[0, 1].mean().item<float>(), Is.EqualTo(3f).Within(1e-5));
        Assert.That(x[0, 2].mean().item<float>(), Is.EqualTo(1f).Within(1e-5));
    }

    [Test]
    public void Load_WeightsReplacedAfterTheSave_IsRefusedByTheirHash()
    {
        using var backbone = new SmallCnn(1, 8);
        string path = _dir.File("m.model.json");
        PretrainedModel.Save(path, backbone, InputDescription.Centered(28, 1));
        using (var other = new SmallCnn(1, 8))
        {
            Checkpoint.Save(other, _dir.File("m.backbone.dat"));
        }

        var e = Assert.Throws<InvalidDataException>(() => PretrainedModel.Load(path))!;

        Assert.That(e.Message, Does.StartWith(_dir.File("m.backbone.dat")).And.Contain("does not match the SHA-256"));
    }

    [TestCase("format", "\"Other/2\"", "format is 'Other/2'")]
    [TestCase("backbone.architecture", "\"VisionTransformer\"", "backbone.architecture is 'VisionTransformer'; this library builds SmallCnn, ResNet18")]
    [TestCase("backbone.featureDimension", "9", "backbone describes a SmallCnn that cannot be built")]
    [TestCase("input.mean", "[0.5, 0.5]", "input mean and std need 1 value(s)")]
    [TestCase("backbone.file", "\"../elsewhere.dat\"", "must name a file in the description's folder")]
    [TestCase("input", "null", "input is missing")]
    public void Load_DescriptionWithABadField_NamesIt(string field, string json, string expected)
    {
        using var backbone = new SmallCnn(1, 8);
        string path = _dir.File("m.model.json");
        PretrainedModel.Save(path, backbone, InputDescription.Centered(28, 1));
        var document = JsonNode.Parse(File.ReadAllText(path))!;
        string[] parts = field.Split('.');
        var parent = parts.Length == 1 ? document : document[parts[0]]!;
        parent[parts[^1]] = JsonNode.Parse(json);
        File.WriteAllText(path, document.ToJsonString());

        var e = Assert.Throws<InvalidDataException>(() => PretrainedModel.Load(path))!;

        Assert.That(e.Message, Does.StartWith(path).And.Contain(expected));
    }

    [Test]
    public void Load_DescriptionOfAnotherArchitecture_SaysTheWeightsDoNotFit()
    {
        using var backbone = new SmallCnn(1, 8);
        string path = _dir.File("m.model.json");
        PretrainedModel.Save(path, backbone, InputDescription.Centered(28, 1));
        File.WriteAllText(path, File.ReadAllText(path).Replace("\"featureDimension\": 8", "\"featureDimension\": 16", StringComparison.Ordinal));

        var e = Assert.Throws<InvalidDataException>(() => PretrainedModel.Load(path))!;

        Assert.That(e.Message, Does.StartWith(_dir.File("m.backbone.dat")).And.Contain("does not fit the model").And.Contain("shape mismatches"));
    }

    [Test]
    public void Load_MissingWeightsFile_IsFileNotFoundNamingIt()
    {
        using var backbone = new SmallCnn(1, 8);
        string path = _dir.File("m.model.json");
        PretrainedModel.Save(path, backbone, InputDescription.Centered(28, 1));
        File.Delete(_dir.File("m.backbone.dat"));

        var e = Assert.Throws<FileNotFoundException>(() => PretrainedModel.Load(path))!;

        Assert.That(e.FileName, Is.EqualTo(_dir.File("m.backbone.dat")));
    }

    [Test]
    public void Save_InputThatDoesNotFitTheBackbone_IsRefusedAndWritesNothing()
    {
        using var backbone = new SmallCnn(1, 8);
        using var head = new ProjectionHead(16, 16, 8, batchNorm: false);

        var input = Assert.Throws<ArgumentException>(() => PretrainedModel.Save(_dir.File("a.model.json"), backbone, InputDescription.ImageNet(28)))!;
        var wrongHead = Assert.Throws<ArgumentException>(() => PretrainedModel.Save(_dir.File("b.model.json"), backbone, InputDescription.Centered(28, 1), head))!;

        Assert.That(input.Message, Does.Contain("mean and std need 1 value(s)"));
        Assert.That(wrongHead.Message, Does.Contain("the head takes 16 inputs but the backbone gives 8 features"));
        Assert.That(Directory.GetFiles(_dir.Path), Is.Empty);
    }

    [Test]
    public void ShippedSourceModel_LoadsInOneCall()
    {
        string data = Path.Combine(RepositoryPaths.SampleData, "pretrained");
        using var model = PretrainedModel.Load(Path.Combine(data, "smallcnn256-moco-fashion0to4.model.json"));
        using var direct = new SmallCnn(1, 256);
        Checkpoint.Load(direct, Path.Combine(data, "smallcnn256-moco-fashion0to4.backbone.dat"));

        Assert.That(SameWeights(model.Backbone, direct), Is.True);
        Assert.That(model.Head!.OutputDimension, Is.EqualTo(128));
        var input = model.Description.Input;
        Assert.That((input.Height, input.Width, input.Mean.Single(), input.Std.Single()), Is.EqualTo((28, 28, 0.5f, 0.5f)));
        Assert.That(double.Parse(model.Description.Provenance["heldOutSourceKnn"], System.Globalization.CultureInfo.InvariantCulture), Is.GreaterThan(0.8));
    }
}
