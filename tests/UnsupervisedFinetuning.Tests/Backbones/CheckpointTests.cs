using System.Collections;
using TorchSharp.PyBridge;
using UnsupervisedFinetuning.Backbones;
using UnsupervisedFinetuning.Formats;
using static TorchSharp.torch;

namespace UnsupervisedFinetuning.Tests.Backbones;

/// <summary>
/// Loads real checkpoints written by PyTorch 1.13 / torchvision 0.14 (Fixtures/make_checkpoints.py) and
/// compares our outputs with PyTorch's for the same input.
/// </summary>
[TestFixture]
public sealed class CheckpointTests
{
    private static readonly string Fixtures = Path.Combine(AppContext.BaseDirectory, "Backbones", "Fixtures");
    private Hashtable _reference = null!;

    private static string Fixture(string name) => Path.Combine(Fixtures, name);

    [OneTimeSetUp]
    public void LoadReference() => _reference = PyTorchUnpickler.UnpickleStateDict(Fixture("reference_outputs.pt"));

    private Tensor Reference(string key) => (Tensor)_reference[key]!;

    private static ResNet TorchvisionW16() => new(ResNetDepth.ResNet18, ResNetStem.ImageNet, 3, width: 16);

    private static ResNet MocoW8Small() => new(ResNetDepth.ResNet18, ResNetStem.SmallImage, 3, width: 8);

    [TestCase("resnet18_w16.pth")]
    [TestCase("resnet18_w16.safetensors")]
    public void Load_TorchvisionStateDict_MatchesPyTorchFeaturesAndLogits(string file)
    {
        using var model = TorchvisionW16();
        model.ReplaceClassifier(5);

        var report = Checkpoint.Load(model, Fixture(file), strict: true, new CheckpointKeyMap { KeepClassifier = true });

        Assert.That(report.IsExact, Is.True, report.ToString());
        Assert.That(report.Loaded, Has.Count.EqualTo(model.state_dict().Count));
        model.eval();
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var x = Reference("input");
        Assert.That(model.ForwardFeatures(x).allclose(Reference("resnet18_w16_features"), rtol: 0, atol: 1e-5), Is.True, "features");
        Assert.That(model.call(x).allclose(Reference("resnet18_w16_logits"), rtol: 0, atol: 1e-5), Is.True, "logits");
    }

    // The deeper architectures: ResNet-34's 3-4-6-3 BasicBlocks and ResNet-50's Bottlenecks (conv3/bn3,
    // expansion 4, the stride on the 3×3 conv as torchvision places it), both at width 8.
    [TestCase(ResNetDepth.ResNet34, "resnet34_w8", 64)]
    [TestCase(ResNetDepth.ResNet50, "resnet50_w8", 256)]
    public void Load_DeeperTorchvisionResNets_MatchPyTorchFeatures(ResNetDepth depth, string name, int featureDimension)
    {
        using var model = new ResNet(depth, ResNetStem.ImageNet, 3, width: 8);
        model.ReplaceClassifier(5);

        var report = Checkpoint.Load(model, Fixture(name + ".pth"), strict: true, new CheckpointKeyMap { KeepClassifier = true });

        Assert.That(report.IsExact, Is.True, report.ToString());
        Assert.That(model.FeatureDimension, Is.EqualTo(featureDimension));
        model.eval();
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var x = Reference("input");
        var ours = model.ForwardFeatures(x);
        var theirs = Reference(name + "_features");
        Assert.That(ours.allclose(theirs, rtol: 0, atol: 1e-5), Is.True, $"features differ by up to {(ours - theirs).abs().max().item<float>():E2}");
    }

    [Test]
    public void Load_ModelWithAClassifierTheMapDrops_ReportsTheMissingKeys()
    {
        // The default map drops fc.* from the file, but this model has a classifier: its keys are missing.
        using var model = TorchvisionW16();
        model.ReplaceClassifier(5);
        var before = model.state_dict()["fc.weight"].clone();

        var e = Assert.Throws<CheckpointMismatchException>(() => Checkpoint.Load(model, Fixture("resnet18_w16.pth")));
        Assert.That(e!.Report.Missing, Is.EquivalentTo(new[] { "fc.weight", "fc.bias" }));
        Assert.That(e.Message, Does.Contain("fc.weight"));
        // Regression: the message did not say the file has them and the key map dropped them.
        Assert.That(e.Message, Does.Contain("in the checkpoint but the key map dropped them").And.Contain("KeepClassifier is false"));

        var report = Checkpoint.Load(model, Fixture("resnet18_w16.pth"), strict: false);
        Assert.That(report.Missing, Is.EquivalentTo(new[] { "fc.weight", "fc.bias" }));
        Assert.That(report.MissingButDropped, Is.EquivalentTo(new[] { "fc.weight", "fc.bias" }), "the non-strict load says the classifier stayed as it was");
        Assert.That(report.ToString(), Does.Contain("KeepClassifier"));
        Assert.That(report.Loaded, Has.Count.EqualTo(model.state_dict().Count - 2));
        Assert.That(model.state_dict()["fc.weight"].eq(before).all().item<bool>(), Is.True, "a missing key keeps the model's own value");
    }

    [Test]
    public void Load_TorchvisionStateDict_DefaultMapDropsTheClassifier()
    {
        using var model = TorchvisionW16();

        var report = Checkpoint.Load(model, Fixture("resnet18_w16.pth"));

        Assert.That(report.IsExact, Is.True);
        Assert.That(report.Dropped, Is.EquivalentTo(new[] { "fc.weight", "fc.bias" }));
    }

    [Test]
    public void Load_MocoTrainingCheckpoint_TakesEncoderQWithoutHeadAndMatchesPyTorch()
    {
        using var model = MocoW8Small();

        var report = Checkpoint.Load(model, Fixture("moco_resnet18_w8_small.pth.tar"));

        Assert.That(report.IsExact, Is.True, report.ToString());
        Assert.That(report.Dropped, Does.Contain("module.queue").And.Contain("module.encoder_q.fc.0.weight").And.Contain("module.encoder_k.conv1.weight"));
        model.eval();
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        Assert.That(model.ForwardFeatures(Reference("input")).allclose(Reference("moco_w8_small_features"), rtol: 0, atol: 1e-5), Is.True);
    }

    [Test]
    public void Load_MocoHead_MapsFc0AndFc2IntoTheProjectionHead()
    {
        using var head = ProjectionHead.MocoV2(64, 128);
        var map = new CheckpointKeyMap { StripPrefixes = ["module.encoder_q.fc."], DropPrefixes = ["module."], KeepClassifier = true };

        var report = Checkpoint.Load(head, Fixture("moco_resnet18_w8_small.pth.tar"), strict: true, map);

        Assert.That(report.Loaded, Is.EquivalentTo(new[] { "0.weight", "0.bias", "2.weight", "2.bias" }));
    }

    [Test]
    public void Load_StrictIntoWrongStem_NamesKeyAndBothShapes_AndLoadsNothing()
    {
        using var model = new ResNet(ResNetDepth.ResNet18, ResNetStem.ImageNet, 3, width: 8);
        var before = model.state_dict()["layer1.0.conv1.weight"].clone();

        var e = Assert.Throws<CheckpointMismatchException>(() => Checkpoint.Load(model, Fixture("moco_resnet18_w8_small.pth.tar")));

        Assert.That(e!.Message, Does.Contain("'conv1.weight': checkpoint [8,3,3,3], model [8,3,7,7]").And.Contain("nothing was loaded"));
        Assert.That(model.state_dict()["layer1.0.conv1.weight"].equal(before).all().item<bool>(), Is.True);
    }

    [Test]
    public void Load_NonStrictIntoWrongStem_LoadsTheRestAndReportsTheMismatch()
    {
        using var model = new ResNet(ResNetDepth.ResNet18, ResNetStem.ImageNet, 3, width: 8);

        var report = Checkpoint.Load(model, Fixture("moco_resnet18_w8_small.pth.tar"), strict: false);

        Assert.That(report.ShapeMismatches.Select(m => m.Key), Is.EqualTo(new[] { "conv1.weight" }));
        Assert.That(report.Missing, Is.Empty);
        Assert.That(report.Loaded, Has.Count.EqualTo(model.state_dict().Count - 1));
    }

    [Test]
    public void Load_StrictWithUnexpectedKeys_ListsThem()
    {
        using var model = TorchvisionW16();

        var e = Assert.Throws<CheckpointMismatchException>(() => Checkpoint.Load(model, Fixture("resnet18_w16.pth"), strict: true, new CheckpointKeyMap { KeepClassifier = true }));

        Assert.That(e!.Report.Unexpected, Is.EquivalentTo(new[] { "fc.weight", "fc.bias" }));
        Assert.That(e.Message, Does.Contain("2 unexpected key(s)"));
    }

    [Test]
    public void ReadStateDict_NotACheckpoint_NamesTheFile()
    {
        using var dir = new TempDirectory();
        string path = dir.File("garbage.pth");
        File.WriteAllText(path, "this is not a pickle");

        var e = Assert.Throws<InvalidDataException>(() => Checkpoint.ReadStateDict(path));

        Assert.That(e!.Message, Does.Contain(path).And.Contain("torch.save"));
    }

    [Test]
    public void ReadStateDict_NestedStateDictBesideATopLevelTensor_TakesTheNestedOne()
    {
        var stateDict = Checkpoint.ReadStateDict(Fixture("nested_with_top_level_tensor.pth"));

        Assert.That(stateDict.Keys, Is.EquivalentTo(new[] { "w", "b" }));
        Assert.That(stateDict["w"].data<float>().ToArray(), Is.EqualTo(new float[] { 0, 1, 2, 3, 4, 5 }));
        Assert.That(stateDict["b"].data<float>().ToArray(), Is.EqualTo(new float[] { 0.5f, -0.5f }));
    }

    [Test]
    public void ReadStateDict_MissingFile_Throws()
    {
        var e = Assert.Throws<FileNotFoundException>(() => Checkpoint.ReadStateDict(Fixture("absent.pth")));
        Assert.That(e!.Message, Does.Contain("Checkpoint not found").And.Contain("absent.pth"));
    }

    [Test]
    public void TorchvisionKeys_EqualOurResNetParameterNames()
    {
        var keys = Checkpoint.ReadStateDict(Fixture("resnet18_w16.pth"));
        using var model = TorchvisionW16();
        model.ReplaceClassifier(5);

        Assert.That(model.state_dict().Keys, Is.EquivalentTo(keys.Keys));
        foreach (var t in keys.Values)
        {
            t.Dispose();
        }
    }

    [TestCase("module.encoder_q.layer1.0.conv1.weight", "layer1.0.conv1.weight")]
    [TestCase("module.encoder_k.layer1.0.conv1.weight", null)]
    [TestCase("module.queue", null)]
    [TestCase("module.encoder_q.fc.0.weight", null)]
    [TestCase("backbone.bn1.running_mean", "bn1.running_mean")]
    [TestCase("module.backbone.conv1.weight", "conv1.weight")]
    [TestCase("online_network.encoder.layer4.1.bn2.bias", "layer4.1.bn2.bias")]
    [TestCase("fc.weight", null)]
    public void KeyMap_Defaults_MapReferenceCheckpointKeys(string key, string? expected)
    {
        Assert.That(new CheckpointKeyMap().Map(key), Is.EqualTo(expected));
    }
}
