using System.Text.Json.Nodes;
using TorchSharp.Modules;
using UnsupervisedFinetuning.Backbones;
using UnsupervisedFinetuning.Formats;
using static TorchSharp.torch;

namespace UnsupervisedFinetuning.Tests.Backbones;

/// <summary>
/// The architecture catalog holds what the closed switches held (names, default input, feature widths, key maps), each
/// fact checked against a network actually built; and an architecture of one's own, added with <c>With</c>, saves and
/// loads through a model card while the built-in catalog refuses it by name.
/// </summary>
[TestFixture]
public sealed class ArchitectureCatalogTests
{
    private TempDirectory _dir = null!;

    [SetUp]
    public void SetUp() => _dir = new TempDirectory();

    [TearDown]
    public void TearDown() => _dir.Dispose();

    [Test]
    public void BuiltIn_HasTheCnnsAndTheVits_SpeltAsModelCardsSpellThem()
    {
        var catalog = ArchitectureCatalog.BuiltIn;

        Assert.That(catalog.Names, Is.EqualTo(new[] { "smallcnn", "resnet18", "resnet34", "resnet50", "vit-s14", "vit-b14", "vit-l14", "vit-s14-reg4", "vit-b14-reg4", "vit-l14-reg4", "vit-t16", "vit-s16", "vit-b16" }));
        Assert.That(catalog.Select(e => e.Architecture).Take(5), Is.EqualTo(new[] { "SmallCnn", "ResNet18", "ResNet34", "ResNet50", "ViT-S14" }));
        Assert.That(catalog.Get("ResNet50"), Is.SameAs(catalog.Get("resnet50")), "a card's spelling finds the entry");
        Assert.That(catalog.All(e => e.Description.Length > 20), Is.True);
    }

    [TestCase("resnet18", 3, 512)]
    [TestCase("resnet34", 3, 512)]
    [TestCase("resnet50", 3, 2048)]
    [TestCase("smallcnn", 1, 256)]
    public void DefaultBackbone_FeatureWidthAndChannels_AreThoseOfTheBuiltNetwork(string name, int channels, int features)
    {
        var entry = ArchitectureCatalog.BuiltIn.Get(name);
        var d = entry.DefaultBackbone;
        using var backbone = entry.Build(d);
        backbone.eval();
        using var noGrad = no_grad();
        using var output = backbone.call(zeros(2, channels, 32, 32));

        Assert.That((d.InputChannels, d.FeatureDimension), Is.EqualTo((channels, features)), "the facts the closed switches had");
        Assert.That(output.shape, Is.EqualTo(new long[] { 2, features }), "what the network gives");
        Assert.That(entry.FeatureDimension(d), Is.EqualTo(features));
        Assert.That(backbone.Describe(), Is.EqualTo(d), "the network describes itself as the default description");
        if (name != "smallcnn")
        {
            Assert.That((d.Stem, d.Width), Is.EqualTo(((ResNetStem?)ResNetStem.ImageNet, (int?)64)), "torchvision's configuration");
        }
    }

    [TestCase("resnet18", 8, ResNetStem.SmallImage)]
    [TestCase("resnet50", 8, ResNetStem.SmallImage)]
    [TestCase("resnet34", 16, ResNetStem.ImageNet)]
    public void FeatureDimension_FollowsTheWidth_AsTheBuiltNetworkDoes(string name, int width, ResNetStem stem)
    {
        var entry = ArchitectureCatalog.BuiltIn.Get(name);
        var asked = entry.DefaultBackbone with { Width = width, Stem = stem, InputChannels = 1 };
        var d = asked with { FeatureDimension = entry.FeatureDimension(asked) };
        using var backbone = entry.Build(d);
        backbone.eval();
        using var noGrad = no_grad();
        using var output = backbone.call(zeros(1, 1, 32, 32));

        Assert.That(output.shape[1], Is.EqualTo(d.FeatureDimension));
        Assert.That(entry.Check(d with { FeatureDimension = d.FeatureDimension + 8 }), Is.EqualTo($"backbone.featureDimension is {d.FeatureDimension + 8} but a {entry.Architecture} of width {width} has {d.FeatureDimension}."));
    }

    [Test]
    public void DefaultInput_IsImageNetForResNets_AndCentredGrayscaleForSmallCnn()
    {
        var resnet = ArchitectureCatalog.BuiltIn.Get("resnet50");
        var small = ArchitectureCatalog.BuiltIn.Get("smallcnn");

        Assert.That(resnet.DefaultInput, Is.EqualTo(InputDescription.ImageNet(224)));
        Assert.That(small.DefaultInput, Is.EqualTo(InputDescription.Centered(28, 1)));
        Assert.That(resnet.DefaultInputFor(96, 3), Is.EqualTo(InputDescription.ImageNet(96)));
        Assert.That(resnet.DefaultInputFor(64, 1), Is.EqualTo(InputDescription.Centered(64, 1)), "no ImageNet statistics for one channel");
        Assert.That(small.DefaultInputFor(32, 3), Is.EqualTo(InputDescription.Centered(32, 3)));
        Assert.That(resnet.DefaultBackboneFor(1), Is.EqualTo(new BackboneDescription("ResNet50", 1, 2048) { Stem = ResNetStem.ImageNet, Width = 64 }));
        Assert.That(small.DefaultBackboneFor(3), Is.EqualTo(new BackboneDescription("SmallCnn", 3, 256)));
    }

    [Test]
    public void KeyMap_ReadsMocoAndTorchvisionKeys_AndIsACopy()
    {
        var entry = ArchitectureCatalog.BuiltIn.Get("resnet50");
        var map = entry.KeyMap;
        map.StripPrefixes.Clear();

        Assert.That(entry.KeyMap.Map("module.encoder_q.layer1.0.conv1.weight"), Is.EqualTo("layer1.0.conv1.weight"));
        Assert.That(entry.KeyMap.Map("module.encoder_q.fc.0.weight"), Is.Null, "MoCo's head is dropped");
        Assert.That(entry.KeyMap.Map("conv1.weight"), Is.EqualTo("conv1.weight"));
    }

    [TestCase("smallcnn", 12, "backbone.featureDimension is 12; a SmallCnn has a multiple of 8 from 8 to 4096 features.")]
    [TestCase("resnet18", 100, "backbone.featureDimension is 100 but a ResNet18 of width 64 has 512.")]
    public void Check_NamesTheFieldAndWhatTheArchitectureHas(string name, int features, string expected)
    {
        var entry = ArchitectureCatalog.BuiltIn.Get(name);
        var d = entry.DefaultBackbone with { FeatureDimension = features };

        Assert.That(entry.Check(d), Is.EqualTo(expected));
        Assert.That(Assert.Throws<ArgumentException>(() => entry.Build(d))!.Message, Does.StartWith(expected));
        Assert.That(entry.Check(d with { Architecture = "ResNet101" }), Does.StartWith("backbone.architecture is 'ResNet101', not "));
    }

    [Test]
    public void With_AddsAnArchitecture_AndLeavesTheBuiltInCatalogAsItWas()
    {
        var catalog = ArchitectureCatalog.BuiltIn.With(TinyNet.Entry);

        Assert.That(catalog.Names, Is.EqualTo(new[] { "smallcnn", "resnet18", "resnet34", "resnet50", "vit-s14", "vit-b14", "vit-l14", "vit-s14-reg4", "vit-b14-reg4", "vit-l14-reg4", "vit-t16", "vit-s16", "vit-b16", "tinynet" }));
        Assert.That(ArchitectureCatalog.BuiltIn.Find("TinyNet"), Is.Null);
        Assert.That(catalog.Get("TinyNet"), Is.SameAs(TinyNet.Entry));
    }

    [Test]
    public void OwnArchitecture_SavedWithItsCatalog_LoadsWithIt_WithTheSameWeightsAndOutputs()
    {
        var catalog = ArchitectureCatalog.BuiltIn.With(TinyNet.Entry);
        random.manual_seed(11);
        using var net = new TinyNet(1, 16);
        using var head = new ProjectionHead(16, 16, 8, batchNorm: false);
        string path = _dir.File("tiny.model.json");

        PretrainedModel.Save(path, net, InputDescription.Centered(20, 1), head, new Dictionary<string, string> { ["data"] = "noise" }, catalog);
        using var model = PretrainedModel.Load(path, catalog);

        Assert.That(model.Backbone, Is.TypeOf<TinyNet>());
        Assert.That(model.Description.Backbone, Is.EqualTo(new BackboneDescription("TinyNet", 1, 16)));
        net.eval();
        model.Backbone.eval();
        using var noGrad = no_grad();
        using var images = rand(3, 1, 20, 20);
        using var expected = net.call(images);
        using var actual = model.Backbone.call(images);
        Assert.That(actual.equal(expected).all().item<bool>(), Is.True, "the saved weights, bit for bit");
        Assert.That(model.Head!.OutputDimension, Is.EqualTo(8));
        Assert.That(JsonNode.Parse(File.ReadAllText(path))!["backbone"]!["architecture"]!.GetValue<string>(), Is.EqualTo("TinyNet"));
    }

    [Test]
    public void OwnArchitecture_IsRefusedByTheBuiltInCatalog_NamingWhatItBuilds()
    {
        var catalog = ArchitectureCatalog.BuiltIn.With(TinyNet.Entry);
        using var net = new TinyNet(1, 16);
        string path = _dir.File("tiny.model.json");
        PretrainedModel.Save(path, net, InputDescription.Centered(20, 1), architectures: catalog);

        var load = Assert.Throws<InvalidDataException>(() => PretrainedModel.Load(path))!;
        var save = Assert.Throws<ArgumentException>(() => PretrainedModel.Save(_dir.File("other.model.json"), net, InputDescription.Centered(20, 1)))!;

        Assert.That(load.Message, Is.EqualTo($"{path}: backbone.architecture is 'TinyNet'; this library builds SmallCnn, ResNet18, ResNet34, ResNet50, ViT-S14, ViT-B14, ViT-L14, ViT-S14-Reg4, ViT-B14-Reg4, ViT-L14-Reg4, ViT-T16, ViT-S16 and ViT-B16."));
        Assert.That(save.ParamName, Is.EqualTo("backbone"));
        Assert.That(save.Message, Does.Contain("backbone.architecture is 'TinyNet'; this library builds SmallCnn"));
        Assert.That(File.Exists(_dir.File("other.model.json")), Is.False);
    }

    [Test]
    public void OwnArchitecture_ForgedSizeOrOtherWeights_AreRefusedNamingTheFieldOrFile()
    {
        var catalog = ArchitectureCatalog.BuiltIn.With(TinyNet.Entry);
        using var net = new TinyNet(1, 16);
        string path = _dir.File("tiny.model.json");
        PretrainedModel.Save(path, net, InputDescription.Centered(20, 1), architectures: catalog);
        string card = File.ReadAllText(path);

        File.WriteAllText(path, card.Replace("\"featureDimension\": 16", "\"featureDimension\": 2000000000", StringComparison.Ordinal));
        var forged = Assert.Throws<InvalidDataException>(() => PretrainedModel.Load(path, catalog))!;
        File.WriteAllText(path, card.Replace("\"featureDimension\": 16", "\"featureDimension\": 8", StringComparison.Ordinal));
        var other = Assert.Throws<InvalidDataException>(() => PretrainedModel.Load(path, catalog))!;

        Assert.That(forged.Message, Is.EqualTo($"{path}: backbone.featureDimension is 2000000000; a TinyNet has 1 to 1024 features."));
        Assert.That(other.Message, Does.StartWith(_dir.File("tiny.backbone.dat") + ": does not fit the model " + path + " describes").And.Contain("'conv.weight' is Float32 [16, 1, 3, 3] but the model has Float32 [8, 1, 3, 3]").And.EndWith("refused before loading it."));
    }

    [Test]
    public void Import_OwnArchitecture_UsesItsKeyMap()
    {
        var catalog = ArchitectureCatalog.BuiltIn.With(TinyNet.Entry);
        using var net = new TinyNet(1, 16);
        string weights = _dir.File("tiny.dat");
        Checkpoint.Save(net, weights);

        using var model = PretrainedModel.Import(weights, TinyNet.Entry.DefaultBackboneFor(1), InputDescription.Centered(20, 1), architectures: catalog);
        var refused = Assert.Throws<InvalidDataException>(() => PretrainedModel.Import(weights, TinyNet.Entry.DefaultBackboneFor(1), InputDescription.Centered(20, 1)))!;

        Assert.That(model.ImportReport!.IsExact, Is.True);
        Assert.That(model.ImportReport.Loaded, Has.Count.EqualTo(2));
        Assert.That(refused.Message, Does.StartWith(weights + ": backbone.architecture is 'TinyNet'; this library builds"));
    }

    [Test]
    public void Entry_WhoseDefaultItRefuses_IsRefused()
    {
        var e = Assert.Throws<ArgumentException>(() => new ArchitectureEntry(
            "TinyNet", "A default of another architecture.", new BackboneDescription("SmallCnn", 1, 16), InputDescription.Centered(28, 1), d => new TinyNet(d.InputChannels, d.FeatureDimension)))!;
        var channels = Assert.Throws<ArgumentException>(() => new ArchitectureEntry(
            "TinyNet", "A default input of three channels for one.", new BackboneDescription("TinyNet", 1, 16), InputDescription.ImageNet(28), d => new TinyNet(d.InputChannels, d.FeatureDimension)))!;

        Assert.That(e.ParamName, Is.EqualTo("defaultBackbone"));
        Assert.That(e.Message, Does.Contain("backbone.architecture is 'SmallCnn', not TinyNet"));
        Assert.That(channels.ParamName, Is.EqualTo("defaultInput"));
    }

    [Test]
    public void ModelCard_ShippedCard_ReadsAndWritesBackByteForByte()
    {
        string shipped = Path.Combine(RepositoryPaths.SampleData, "pretrained", "smallcnn256-moco-fashion0to4.model.json");
        string copy = _dir.File("copy.model.json");

        var description = ModelCard.Read(shipped);
        ModelCard.Write(copy, description);

        Assert.That(File.ReadAllBytes(copy), Is.EqualTo(File.ReadAllBytes(shipped)));
        Assert.That(description.BackboneSha256, Is.EqualTo("dcf9786f6d085c3c5c014e6f02cd65f799b69b188cb42a4d3079673a649c413d"));
        Assert.That(description.Head!.Output, Is.EqualTo(128));
    }

    [Test]
    public void Save_ShippedModelAgain_WritesTheSameCardAndWeights()
    {
        string data = Path.Combine(RepositoryPaths.SampleData, "pretrained");
        const string Name = "smallcnn256-moco-fashion0to4";
        using var model = PretrainedModel.Load(Path.Combine(data, Name + ".model.json"));

        PretrainedModel.Save(_dir.File(Name + ".model.json"), model.Backbone, model.Description.Input, model.Head, model.Description.Provenance);

        foreach (string file in new[] { ".model.json", ".backbone.dat", ".head.dat" })
        {
            Assert.That(File.ReadAllBytes(_dir.File(Name + file)), Is.EqualTo(File.ReadAllBytes(Path.Combine(data, Name + file))), file);
        }
    }

    [Test]
    public void ModelCard_Write_RefusesADescriptionThatWouldNotReadBack()
    {
        var description = new ModelDescription
        {
            Backbone = new BackboneDescription("SmallCnn", 1, 12),
            Input = InputDescription.Centered(28, 1),
            BackboneFile = "m.backbone.dat",
        };

        var e = Assert.Throws<ArgumentException>(() => ModelCard.Write(_dir.File("m.model.json"), description))!;
        var file = Assert.Throws<ArgumentException>(() => ModelCard.Write(_dir.File("m.model.json"), description with { Backbone = new BackboneDescription("SmallCnn", 1, 16), BackboneFile = "../m.dat" }))!;

        Assert.That(e.Message, Does.Contain("backbone.featureDimension is 12; a SmallCnn has a multiple of 8"));
        Assert.That(file.Message, Does.Contain("file '../m.dat' must name a file in the description's folder"));
        Assert.That(Directory.GetFiles(_dir.Path), Is.Empty);
    }

    /// <summary>A network of one's own: one 3×3 convolution to F channels, global average pooling.</summary>
    internal sealed class TinyNet : Backbone
    {
        public static readonly ArchitectureEntry Entry = new(
            "TinyNet",
            "One convolution and a global average pool, for tests.",
            defaultBackbone: new BackboneDescription("TinyNet", 1, 16),
            defaultInput: InputDescription.Centered(20, 1),
            build: d => new TinyNet(d.InputChannels, d.FeatureDimension),
            check: d => d.FeatureDimension is < 1 or > 1024 ? $"backbone.featureDimension is {d.FeatureDimension}; a TinyNet has 1 to 1024 features." : null);

        private readonly Conv2d _conv;

        public TinyNet(int inputChannels, int features)
            : base(nameof(TinyNet))
        {
            InputChannels = inputChannels;
            FeatureDimension = features;
            _conv = nn.Conv2d(inputChannels, features, kernel_size: 3, padding: 1);
            register_module("conv", _conv);
        }

        public override int FeatureDimension { get; }

        public override int InputChannels { get; }

        public override Tensor ForwardFeatures(Tensor images) => _conv.call(images).relu().mean([2, 3]);

        public override Backbone CloneArchitecture() => new TinyNet(InputChannels, FeatureDimension);

        public override BackboneDescription Describe() => new("TinyNet", InputChannels, FeatureDimension) { Classes = ClassifierClasses };
    }
}
