using UnsupervisedFinetuning.Backbones;
using UnsupervisedFinetuning.Formats;
using static TorchSharp.torch;

namespace UnsupervisedFinetuning.Tests.Backbones;

/// <summary>
/// Tiny DINOv2-layout ViTs saved by PyTorch (tests/.../Fixtures/vit, made by generate.py and checked there against
/// facebookresearch/dinov2's own DinoVisionTransformer) load by their names and give PyTorch's class token and mean patch
/// token — at the stored 4 × 4 grid and at 3 × 3, 5 × 5 and 3 × 5 grids, where the position embedding is resized (the
/// plain hub models' offset path, and the register models' antialiased size path).
/// </summary>
[TestFixture]
public sealed class VisionTransformerPyTorchTests
{
    private static readonly string Fixtures = Path.Combine(RepositoryPaths.Root, "tests", "UnsupervisedFinetuning.Tests", "Fixtures", "vit");

    private static VisionTransformerOptions Options(bool registers) => new()
    {
        EmbedDimension = 32, Depth = 2, Heads = 2, PatchSize = 14, ImageSize = 56, LayerScaleInit = 1.0,
        RegisterTokens = registers ? 1 : 0,
        InterpolateOffset = registers ? 0.0 : 0.1,       // as DINOv2's hub builds the _reg models and the plain ones
        InterpolateAntialias = registers,
        Feature = VisionTransformerFeature.ClassTokenAndMeanPatch,
    };

    [TestCase("dinov2_tiny", false, "56", 56, 56)]
    [TestCase("dinov2_tiny", false, "42", 42, 42)]
    [TestCase("dinov2_tiny", false, "70", 70, 70)]
    [TestCase("dinov2_tiny", false, "42x70", 42, 70)]
    [TestCase("dinov2_tiny_reg1", true, "56", 56, 56)]
    [TestCase("dinov2_tiny_reg1", true, "42", 42, 42)]
    [TestCase("dinov2_tiny_reg1", true, "70", 70, 70)]
    [TestCase("dinov2_tiny_reg1", true, "42x70", 42, 70)]
    public void DinoV2Checkpoint_LoadsWhole_AndGivesPyTorchsTokens(string model, bool registers, string size, int height, int width)
    {
        using var vit = new VisionTransformer(Options(registers));
        var report = Checkpoint.Load(vit, Path.Combine(Fixtures, model + ".pth"), keyMap: VisionTransformer.DinoV2Keys);
        vit.eval();
        using var noGrad = no_grad();
        using var images = Read("inputs_" + size, 2, 3, height, width);

        using var features = vit.ForwardFeatures(images);                                  // [2, 64]: class token ⊕ mean patch token
        using var cls = Read($"{model}_expected_{size}_cls", 2, 32);
        using var patchMean = Read($"{model}_expected_{size}_patch_mean", 2, 32);

        Assert.That(report.Missing, Is.Empty);
        Assert.That(report.Unexpected, Is.Empty);
        Assert.That(report.Dropped, Is.EqualTo(new[] { "mask_token" }), "iBOT's mask token has no use here");
        Assert.That((features.narrow(1, 0, 32) - cls).abs().max().item<float>(), Is.LessThan(1e-5));
        Assert.That((features.narrow(1, 32, 32) - patchMean).abs().max().item<float>(), Is.LessThan(1e-5));
    }

    [Test]
    public void TorchvisionCheckpoint_LoadsThroughItsKeyMap_AndGivesTheClassTokenAfterEncoderLn()
    {
        using var vit = new VisionTransformer(Options(registers: false) with { LayerScaleInit = null, Feature = VisionTransformerFeature.ClassToken });
        var report = Checkpoint.Load(vit, Path.Combine(Fixtures, "torchvision_vit_tiny.pth"), keyMap: VisionTransformer.TorchvisionKeys);
        vit.eval();
        using var noGrad = no_grad();
        using var images = Read("inputs_56", 2, 3, 56, 56);

        using var features = vit.ForwardFeatures(images);
        using var expected = Read("torchvision_expected_cls", 2, 32);

        Assert.That(report.Missing, Is.Empty);
        Assert.That(report.Unexpected, Is.Empty);
        Assert.That(report.Dropped, Is.EquivalentTo(new[] { "heads.head.weight", "heads.head.bias" }));
        Assert.That(report.Loaded, Has.Count.EqualTo(4 + (2 * 12) + 2));
        Assert.That((features - expected).abs().max().item<float>(), Is.LessThan(1e-5));
    }

    [Test]
    public void VitEntries_BuildTheirShape_AndAFinetunedVitSavesAndLoadsAsAModelCard()
    {
        var entry = ArchitectureCatalog.BuiltIn.Get("vit-s14");
        using var built = (VisionTransformer)entry.Build(entry.DefaultBackbone);
        Assert.That((built.Options.EmbedDimension, built.Options.Depth, built.Options.Heads, built.Options.PatchSize, built.Options.ImageSize), Is.EqualTo((384, 12, 6, 14, 518)));
        Assert.That(built.named_parameters().First(p => p.name == "pos_embed").parameter.shape, Is.EqualTo(new long[] { 1, 1370, 384 }), "dinov2_vits14's position embedding");
        Assert.That(entry.Check(entry.DefaultBackbone with { FeatureDimension = 768 }), Does.Contain("backbone.featureDimension is 768 but a ViT-S14 has 384"));

        using var dir = new TempDirectory();
        var tiny = ArchitectureCatalog.BuiltIn.Get("vit-t16");
        random.manual_seed(7);
        using var vit = (VisionTransformer)tiny.Build(tiny.DefaultBackbone);
        string card = dir.File("vit.model.json");
        PretrainedModel.Save(card, vit, tiny.DefaultInput);
        using var loaded = PretrainedModel.Load(card);
        vit.eval();
        loaded.Backbone.eval();
        using var noGrad = no_grad();
        using var images = randn(1, 3, 32, 48);                                            // a 2 × 3 grid: resized embedding

        Assert.That(loaded.Description.Backbone.Architecture, Is.EqualTo("ViT-T16"));
        Assert.That(loaded.Backbone.ForwardFeatures(images).equal(vit.ForwardFeatures(images)).all().item<bool>(), Is.True, "the same weights, bit for bit");
    }

    // A little-endian float32 file of the given shape.
    private static Tensor Read(string name, params long[] shape)
    {
        byte[] bytes = File.ReadAllBytes(Path.Combine(Fixtures, name + ".bin"));
        Assert.That(bytes.Length, Is.EqualTo(shape.Aggregate(4L, (a, b) => a * b)), name);
        var values = new float[bytes.Length / 4];
        Buffer.BlockCopy(bytes, 0, values, 0, bytes.Length);
        return tensor(values).reshape(shape);
    }
}

