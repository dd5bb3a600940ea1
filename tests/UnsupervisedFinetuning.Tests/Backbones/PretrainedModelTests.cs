using System.Text.Json.Nodes;
using UnsupervisedFinetuning.Backbones;
using UnsupervisedFinetuning.Formats;
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
    [TestCase("backbone.featureDimension", "9", "backbone.featureDimension is 9; a SmallCnn has a multiple of 8 from 8 to 4096 features")]
    [TestCase("input.mean", "[0.5, 0.5]", "input mean and std need 1 value(s)")]
    [TestCase("backbone.file", "\"../elsewhere.dat\"", "must name a file in the description's folder")]
    [TestCase("input", "null", "input is missing")]
    public void Load_DescriptionWithABadField_NamesIt(string field, string json, string expected)
    {
        using var backbone = new SmallCnn(1, 8);
        string path = _dir.File("m.model.json");
        PretrainedModel.Save(path, backbone, InputDescription.Centered(28, 1));
        Edit(path, (field, json));

        var e = Assert.Throws<InvalidDataException>(() => PretrainedModel.Load(path))!;

        Assert.That(e.Message, Does.StartWith(path).And.Contain(expected));
    }

    // Sets fields of a description ("backbone.width" → value as JSON), as someone editing it by hand would.
    private static void Edit(string path, params (string Field, string Json)[] edits)
    {
        var document = JsonNode.Parse(File.ReadAllText(path))!;
        foreach (var (field, json) in edits)
        {
            string[] parts = field.Split('.');
            var parent = parts.Length == 1 ? document : document[parts[0]]!;
            parent[parts[^1]] = JsonNode.Parse(json);
        }

        File.WriteAllText(path, document.ToJsonString());
    }

    // A small saved model to edit: "smallcnn" (SmallCnn 8, no head), "head" (SmallCnn 8 with a head 8 → 16 → 8),
    // "resnet" (ResNet-18 of width 8, small-image stem, 5 classes: 64 features).
    private string SavedModel(string kind)
    {
        string path = _dir.File($"{kind}.model.json");
        using Backbone backbone = kind == "resnet" ? new ResNet(ResNetDepth.ResNet18, ResNetStem.SmallImage, 3, width: 8) : new SmallCnn(1, 8);
        if (kind == "resnet")
        {
            backbone.ReplaceClassifier(5);
        }

        using var head = kind == "head" ? new ProjectionHead(8, 16, 8, batchNorm: true) : null;
        PretrainedModel.Save(path, backbone, kind == "resnet" ? InputDescription.ImageNet(32) : InputDescription.Centered(28, 1), head);
        return path;
    }

    // What one Load of the edited description costs (peak resident memory added, native allocations included, and time)
    // and how it is refused.
    private static (InvalidDataException Error, double Megabytes, double Milliseconds) Refused(string path)
    {
        InvalidDataException? error = null;
        var clock = System.Diagnostics.Stopwatch.StartNew();
        double megabytes = PeakMemory.MegabytesAdded(() => error = Assert.Throws<InvalidDataException>(() => PretrainedModel.Load(path)));
        double milliseconds = clock.Elapsed.TotalMilliseconds;
        TestContext.Out.WriteLine($"{error!.Message} — peak added {megabytes:0.0} MB, {milliseconds:0} ms");
        Assert.That(error.Message, Does.Not.Contain("\n").And.Length.LessThan(400), "one short line");
        return (error, megabytes, milliseconds);
    }

    [TestCase("smallcnn", "backbone.featureDimension", "65536", "backbone.featureDimension is 65536; a SmallCnn has a multiple of 8 from 8 to 4096 features")]
    [TestCase("smallcnn", "backbone.featureDimension", "2147483647", "backbone.featureDimension is 2147483647; a SmallCnn has")]
    [TestCase("smallcnn", "backbone.inputChannels", "2147483647", "backbone.inputChannels is 2147483647; expected 1 to 64")]
    [TestCase("smallcnn", "backbone.inputChannels", "0", "backbone.inputChannels is 0; expected 1 to 64")]
    [TestCase("smallcnn", "input.height", "2147483647", "input size 2147483647x28 is out of range")]
    [TestCase("head", "head.hiddenLayers", "1000000", "head.hiddenLayers is 1000000; expected 0 to 64")]
    [TestCase("head", "head.hiddenLayers", "-1", "head.hiddenLayers is -1; expected 0 to 64")]
    [TestCase("head", "head.hidden", "2147483647", "head.hidden is 2147483647; expected 1 to 65536")]
    [TestCase("head", "head.output", "2147483647", "head.output is 2147483647; expected 1 to 65536")]
    [TestCase("head", "head.input", "2147483647", "head.input is 2147483647 but the backbone gives 8 features")]
    [TestCase("resnet", "backbone.width", "4096", "backbone.width is 4096; expected 1 to 1024")]
    [TestCase("resnet", "backbone.width", "2147483647", "backbone.width is 2147483647; expected 1 to 1024")]
    [TestCase("resnet", "backbone.classes", "10000000", "backbone.classes is 10000000; expected 1 to 1000000")]
    [TestCase("resnet", "backbone.classes", "0", "backbone.classes is 0; expected 1 to 1000000")]
    [TestCase("resnet", "backbone.stem", "7", "backbone.stem is 7; expected ImageNet or SmallImage")]
    [TestCase("resnet", "backbone.featureDimension", "2147483647", "backbone.featureDimension is 2147483647 but a ResNet18 of width 8 has 64")]
    public void Load_DescriptionWithAnAbsurdSize_IsRefusedNamingTheField_BeforeAllocating(string kind, string field, string json, string expected)
    {
        // Regression: featureDimension 65536, 10⁶ hidden layers, width 4096 or 10⁷ classes built the network first
        // (5 GB and rising; larger sizes ended in a 16-line native ExternalException).
        string path = SavedModel(kind);
        Edit(path, (field, json));

        var (error, megabytes, milliseconds) = Refused(path);

        Assert.That(error.Message, Does.StartWith(path + ": ").And.Contain(expected));
        Assert.That(megabytes, Is.LessThan(64), "MB of peak resident memory added: refused from the description");
        Assert.That(milliseconds, Is.LessThan(2000));
    }

    [TestCase("smallcnn", "backbone.featureDimension=4096", "SmallCnn backbone's 24 tensors take 396")]
    [TestCase("resnet", "backbone.width=1024;backbone.featureDimension=8192", "ResNet18 backbone's 122 tensors take")]
    [TestCase("resnet", "backbone.architecture=\"ResNet50\";backbone.width=1024;backbone.featureDimension=32768", "ResNet50 backbone's")]
    [TestCase("resnet", "backbone.classes=1000000", "ResNet18 backbone's 122 tensors take 26")]
    [TestCase("head", "head.hidden=65536;head.hiddenLayers=64", "head's")]
    public void Load_SizesInRangeButBeyondTheWeightsFile_AreRefusedBeforeBuilding(string kind, string edits, string expected)
    {
        // Within the bounds a description can still describe gigabytes (a ResNet-50 of width 1024: 26 GB): the weights
        // file must hold the described network's bytes, so that what a load allocates is bounded by the files.
        string path = SavedModel(kind);
        Edit(path, [.. edits.Split(';').Select(edit => (edit.Split('=')[0], edit.Split('=')[1]))]);
        string weights = _dir.File(kind + (kind == "head" && edits.StartsWith("head", StringComparison.Ordinal) ? ".head.dat" : ".backbone.dat"));

        var (error, megabytes, _) = Refused(path);

        Assert.That(error.Message, Does.StartWith(weights + ": does not fit the model " + path + " describes: it holds ").And.Contain(expected).And.EndWith("refused before building it."));
        Assert.That(megabytes, Is.LessThan(64), "MB of peak resident memory added: refused before building the network");
    }

    [Test]
    public void Load_LargerWeightsOfAnotherArchitecture_AreRefusedByTheirTensorsBeforeBuilding()
    {
        using (var backbone = new SmallCnn(1, 16))
        {
            PretrainedModel.Save(_dir.File("m.model.json"), backbone, InputDescription.Centered(28, 1));
        }

        Edit(_dir.File("m.model.json"), ("backbone.featureDimension", "8"));

        var (error, _, _) = Refused(_dir.File("m.model.json"));

        Assert.That(error.Message, Does.StartWith(_dir.File("m.backbone.dat") + ": does not fit the model").And.Contain("'features.0.conv.weight' is Float32 [2, 1, 3, 3] but the model has Float32 [1, 1, 3, 3]").And.EndWith("refused before building it."));
    }

    [Test]
    public void Load_WeightsWithAControlCharacterInAName_NameItPrintably()
    {
        string path = SavedModel("smallcnn");
        string weights = _dir.File("smallcnn.backbone.dat");
        const string Name = "features.1.conv.weight"; // not the first name, by which the format is recognised
        string evil = "\u001b[31m\n" + Name[6..]; // as many bytes as the name it replaces
        byte[] bytes = File.ReadAllBytes(weights);
        int at = bytes.AsSpan().IndexOf(System.Text.Encoding.ASCII.GetBytes(Name));
        System.Text.Encoding.ASCII.GetBytes(evil).CopyTo(bytes, at);
        File.WriteAllBytes(weights, bytes);
        Edit(path, ("backbone.sha256", $"\"{Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(bytes))}\""));

        var (error, _, _) = Refused(path);

        Assert.That(error.Message, Does.Contain("'?[31m?es.1.conv.weight', which the model does not have"));
        Assert.That(error.Message.Any(char.IsControl), Is.False);
    }

    [Test]
    public void Save_HeadBeyondTheDescriptionsBounds_IsRefusedAndWritesNothing()
    {
        using var backbone = new SmallCnn(1, 8);
        using var head = new ProjectionHead(8, 8, 8, batchNorm: false, hiddenLayers: 65);

        var e = Assert.Throws<ArgumentException>(() => PretrainedModel.Save(_dir.File("a.model.json"), backbone, InputDescription.Centered(28, 1), head))!;

        Assert.That(e.ParamName, Is.EqualTo("head"));
        Assert.That(e.Message, Does.StartWith("head.hiddenLayers is 65; expected 0 to 64"));
        Assert.That(Directory.GetFiles(_dir.Path), Is.Empty);
    }

    [Test]
    public void Import_ArchitectureBeyondTheBounds_IsRefusedBeforeBuilding()
    {
        string weights = Path.Combine(RepositoryPaths.SampleData, "pretrained", "smallcnn256-moco-fashion0to4.backbone.dat");
        InvalidDataException? e = null;

        double megabytes = PeakMemory.MegabytesAdded(() => e = Assert.Throws<InvalidDataException>(() =>
            PretrainedModel.Import(weights, new BackboneDescription("ResNet18", 3, 32768) { Width = 4096 }, InputDescription.ImageNet(32))));

        Assert.That(e!.Message, Does.StartWith(weights).And.Contain("backbone.width is 4096; expected 1 to 1024"));
        Assert.That(megabytes, Is.LessThan(64));
    }

    [Test]
    public void Load_DescriptionOfAnotherArchitecture_SaysTheWeightsDoNotFit()
    {
        using var backbone = new SmallCnn(1, 8);
        string path = _dir.File("m.model.json");
        PretrainedModel.Save(path, backbone, InputDescription.Centered(28, 1));
        File.WriteAllText(path, File.ReadAllText(path).Replace("\"featureDimension\": 8", "\"featureDimension\": 16", StringComparison.Ordinal));

        var e = Assert.Throws<InvalidDataException>(() => PretrainedModel.Load(path))!;

        Assert.That(e.Message, Does.StartWith(_dir.File("m.backbone.dat")).And.Contain("does not fit the model").And.Contain("SmallCnn backbone's 24 tensors take"));
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
