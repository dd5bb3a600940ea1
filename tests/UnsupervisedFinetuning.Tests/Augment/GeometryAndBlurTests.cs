using UnsupervisedFinetuning.Augment;
using static TorchSharp.torch;

namespace UnsupervisedFinetuning.Tests.Augment;

[TestFixture]
public sealed class GeometryAndBlurTests
{
    [Test]
    public void RandomHorizontalFlip_AlwaysOn_IsAnExactMirror()
    {
        using var scope = NewDisposeScope();
        var images = AugmentTestData.Images(3, 2, 5, 7, seed: 1);

        var output = new RandomHorizontalFlip(1.0).Apply(images, new SeededRandom(1));

        for (int x = 0; x < 7; x++)
        {
            Assert.That(AugmentTestData.BitEqual(output[TensorIndex.Ellipsis, x], images[TensorIndex.Ellipsis, 6 - x]), Is.True, $"column {x}");
        }
    }

    [Test]
    public void RandomHorizontalFlip_HalfProbability_FlipsAboutHalfAndLeavesTheRestBitIdentical()
    {
        using var scope = NewDisposeScope();
        var images = AugmentTestData.Images(400, 1, 2, 3, seed: 2);

        var output = new RandomHorizontalFlip(0.5).Apply(images, new SeededRandom(2));

        int flipped = 0;
        for (int i = 0; i < 400; i++)
        {
            bool same = AugmentTestData.BitEqual(output[i], images[i]);
            bool mirrored = AugmentTestData.BitEqual(output[i], images[i].flip(2));
            Assert.That(same || mirrored, Is.True);
            flipped += mirrored ? 1 : 0;
        }

        Assert.That(flipped, Is.InRange(200 - 40, 200 + 40), "binomial(400, 0.5) within 4 standard deviations");
    }

    [Test]
    public void GaussianBlur_Kernel_IsNormalisedSymmetricGaussian()
    {
        var blur = new GaussianBlur(7, 1.5, 1.5, 1.0);

        float[] kernel = blur.Kernel(1.5);

        Assert.That(kernel.Sum(), Is.EqualTo(1f).Within(1e-6));
        for (int k = 0; k < 7; k++)
        {
            Assert.That(kernel[k], Is.EqualTo(kernel[6 - k]));
        }

        Assert.That(kernel[3] / kernel[4], Is.EqualTo(Math.Exp(0.5 / (1.5 * 1.5))).Within(1e-5));
    }

    [Test]
    public void GaussianBlur_FixedSigma_MatchesNaiveReflectPaddedConvolution()
    {
        using var scope = NewDisposeScope();
        var images = AugmentTestData.Images(2, 2, 9, 8, seed: 3);
        var blur = new GaussianBlur(5, 1.2, 1.2, 1.0);
        float[] k = blur.Kernel(1.2);

        var output = blur.Apply(images, new SeededRandom(3));

        float[] input = images.data<float>().ToArray();
        int Reflect(int i, int n) => i < 0 ? -i : i >= n ? (2 * n) - 2 - i : i;
        for (int b = 0; b < 2; b++)
        {
            for (int c = 0; c < 2; c++)
            {
                for (int y = 0; y < 9; y++)
                {
                    for (int x = 0; x < 8; x++)
                    {
                        double sum = 0;
                        for (int dy = -2; dy <= 2; dy++)
                        {
                            for (int dx = -2; dx <= 2; dx++)
                            {
                                int yy = Reflect(y + dy, 9);
                                int xx = Reflect(x + dx, 8);
                                sum += k[dy + 2] * k[dx + 2] * input[(((b * 2) + c) * 72) + (yy * 8) + xx];
                            }
                        }

                        Assert.That(output[b, c, y, x].item<float>(), Is.EqualTo(sum).Within(1e-5), $"({b},{c},{y},{x})");
                    }
                }
            }
        }
    }

    [Test]
    public void GaussianBlur_ConstantImage_StaysConstant()
    {
        using var scope = NewDisposeScope();
        var images = full(new long[] { 3, 3, 10, 10 }, 0.37f);

        var output = new GaussianBlur(5, 0.1, 2.0, 1.0).Apply(images, new SeededRandom(4));

        Assert.That(output.allclose(images, rtol: 0, atol: 1e-6), Is.True);
    }

    [Test]
    public void GaussianBlur_KernelLargerThanImage_IsAClearError()
    {
        using var scope = NewDisposeScope();

        var e = Assert.Throws<ArgumentException>(() => new GaussianBlur(9, probability: 1).Apply(AugmentTestData.Images(1, 1, 4, 4), new SeededRandom(1)));

        Assert.That(e!.Message, Does.Contain("kernel size 9").And.Contain("4x4"));
    }
}
