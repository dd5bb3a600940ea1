using UnsupervisedFinetuning.Augment;
using static TorchSharp.torch;

namespace UnsupervisedFinetuning.Tests.Augment;

[TestFixture]
public sealed class TwoViewAugmentationTests
{
    private static Tensor Uint8Batch(int b, int c, int size, long seed)
    {
        var generator = new Generator((ulong)seed);
        return randint(0, 256, [b, c, size, size], generator: generator).to(ScalarType.Byte);
    }

    private static IEnumerable<TestCaseData> Presets()
    {
        yield return new TestCaseData(AugmentationPresets.MocoV2(24), 3).SetName("MocoV2");
        yield return new TestCaseData(AugmentationPresets.SimClr(24), 3).SetName("SimClr");
        yield return new TestCaseData(AugmentationPresets.Byol(24), 3).SetName("Byol");
        yield return new TestCaseData(AugmentationPresets.SmallImage(24, 1), 1).SetName("SmallImageGray");
        yield return new TestCaseData(AugmentationPresets.SmallImage(24, 3), 3).SetName("SmallImageRgb");
    }

    [TestCaseSource(nameof(Presets))]
    public void Preset_SameSeed_ReproducesBothViewsBitForBit(TwoViewAugmentation augmentation, int channels)
    {
        using var scope = NewDisposeScope();
        var batch = Uint8Batch(6, channels, 28, seed: 1);

        var (a1, a2) = augmentation.Apply(batch, new SeededRandom(5));
        var (b1, b2) = augmentation.Apply(batch, new SeededRandom(5));
        var (c1, _) = augmentation.Apply(batch, new SeededRandom(6));

        Assert.That(a1.shape, Is.EqualTo(new long[] { 6, channels, 24, 24 }));
        Assert.That(a1.dtype, Is.EqualTo(ScalarType.Float32));
        Assert.That(AugmentTestData.BitEqual(a1, b1) && AugmentTestData.BitEqual(a2, b2), Is.True, "same seed, same views");
        Assert.That(AugmentTestData.BitEqual(a1, c1), Is.False, "another seed, other views");
        Assert.That(AugmentTestData.BitEqual(a1, a2), Is.False, "the two views differ");
    }

    [TestCaseSource(nameof(Presets))]
    public void Preset_IdenticalImagesInOneBatch_GetDifferentViews(TwoViewAugmentation augmentation, int channels)
    {
        using var scope = NewDisposeScope();
        var one = Uint8Batch(1, channels, 28, seed: 2);
        var batch = one.expand(4, channels, 28, 28).contiguous();

        var (first, _) = augmentation.Apply(batch, new SeededRandom(7));

        for (int i = 1; i < 4; i++)
        {
            Assert.That(AugmentTestData.BitEqual(first[0], first[i]), Is.False, $"sample {i} equals sample 0");
        }
    }

    [Test]
    public void Pipeline_Uint8Input_IsScaledToUnitRange()
    {
        using var scope = NewDisposeScope();
        var batch = tensor(new byte[] { 0, 51, 255, 102 }, [1, 1, 2, 2]);

        var output = new AugmentationPipeline().Apply(batch, new SeededRandom(1));

        Assert.That(output.flatten().data<float>().ToArray(), Is.EqualTo(new[] { 0f, 0.2f, 1f, 0.4f }).Within(1e-7f));
    }

    [Test]
    public void Evaluate_ResizesAndNormalisesLikeTraining_WithoutRandomness()
    {
        using var scope = NewDisposeScope();
        var augmentation = AugmentationPresets.SmallImage(16, 1);
        var batch = full(new long[] { 2, 1, 28, 28 }, 255, ScalarType.Byte);

        var output = augmentation.Evaluate(batch, 16, 16);

        Assert.That(output.shape, Is.EqualTo(new long[] { 2, 1, 16, 16 }));
        Assert.That(output.allclose(ones_like(output), rtol: 0, atol: 1e-6), Is.True, "(1 − 0.5) / 0.5 = 1");
    }

    [Test]
    public void Constructor_ViewsWithDifferentNormalisation_AreRejected()
    {
        var a = new AugmentationPipeline(new Normalize([0.5f], [0.5f]));
        var b = new AugmentationPipeline(new Normalize([0.4f], [0.5f]));

        var e = Assert.Throws<ArgumentException>(() => _ = new TwoViewAugmentation(a, b));
        Assert.That(e!.Message, Does.Contain("same normalisation"));
    }
}
