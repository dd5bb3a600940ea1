using UnsupervisedFinetuning.Augment;
using static TorchSharp.torch;

namespace UnsupervisedFinetuning.Tests.Augment;

[TestFixture]
public sealed class ColorTransformTests
{
    [Test]
    public void ColorJitter_AllStrengthsZero_IsTheIdentity()
    {
        using var scope = NewDisposeScope();
        var images = AugmentTestData.Images(6, 3, 8, 8, seed: 1);

        var output = new ColorJitter(0, 0, 0, 0).Apply(images, new SeededRandom(1));

        Assert.That(AugmentTestData.BitEqual(output, images), Is.True);
    }

    [Test]
    public void ColorJitter_BrightnessOnly_ScalesEachSampleByOneFactorInRange()
    {
        using var scope = NewDisposeScope();
        // Values ≤ 0.5 never clip at factors ≤ 1.4, so out / in is the sample's factor everywhere.
        var images = AugmentTestData.Images(16, 3, 6, 6, seed: 2, low: 0.1f, high: 0.5f);

        var output = new ColorJitter(0.4, 0, 0, 0).Apply(images, new SeededRandom(2));

        var ratio = output / images;
        var perSample = ratio.amax([1, 2, 3]);
        Assert.That((ratio.amax([1, 2, 3]) - ratio.amin([1, 2, 3])).max().item<float>(), Is.LessThan(1e-5f), "one factor per sample");
        Assert.That(perSample.min().item<float>(), Is.GreaterThanOrEqualTo(0.6f - 1e-6f));
        Assert.That(perSample.max().item<float>(), Is.LessThanOrEqualTo(1.4f + 1e-6f));
        Assert.That(perSample.unique().Item1.shape[0], Is.EqualTo(16), "samples get different factors");
    }

    [Test]
    public void ColorJitter_ContrastOnly_BlendsTowardsTheSampleMeanLuma()
    {
        using var scope = NewDisposeScope();
        var images = AugmentTestData.Images(8, 3, 6, 6, seed: 3, low: 0.3f, high: 0.6f);

        var output = new ColorJitter(0, 0.3, 0, 0).Apply(images, new SeededRandom(3));

        // Naive reference: out − m = f·(x − m) with m the sample's mean ITU-R 601-2 luma.
        for (int i = 0; i < 8; i++)
        {
            var x = images[i];
            double m = ((x[0] * 0.299) + (x[1] * 0.587) + (x[2] * 0.114)).mean().item<float>();
            var f = (output[i] - m) / (x - m);
            float spread = (f.max() - f.min()).item<float>();
            Assert.That(spread, Is.LessThan(1e-3f), $"sample {i}: one contrast factor");
            Assert.That(f.mean().item<float>(), Is.InRange(0.7f - 1e-4f, 1.3f + 1e-4f));
        }
    }

    [Test]
    public void ColorJitter_GrayscaleImages_IgnoreSaturationAndHue()
    {
        using var scope = NewDisposeScope();
        var images = AugmentTestData.Images(4, 1, 8, 8, seed: 4);

        var output = new ColorJitter(0, 0, 0.8, 0.4).Apply(images, new SeededRandom(4));

        Assert.That(AugmentTestData.BitEqual(output, images), Is.True);
    }

    [Test]
    public void ColorJitter_ProbabilityZero_LeavesEverySample()
    {
        using var scope = NewDisposeScope();
        var images = AugmentTestData.Images(4, 3, 8, 8, seed: 5);

        var output = new ColorJitter(0.4, 0.4, 0.4, 0.1, probability: 0).Apply(images, new SeededRandom(5));

        Assert.That(AugmentTestData.BitEqual(output, images), Is.True);
    }

    [Test]
    public void RgbToHsv_MatchesNaivePerPixelConversion()
    {
        using var scope = NewDisposeScope();
        var images = AugmentTestData.Images(2, 3, 5, 5, seed: 6);
        // Include gray pixels (zero chroma) and each channel being the maximum.
        images[0, TensorIndex.Colon, 0, 0] = tensor(new[] { 0.5f, 0.5f, 0.5f });
        images[0, TensorIndex.Colon, 0, 1] = tensor(new[] { 0.9f, 0.2f, 0.1f });
        images[0, TensorIndex.Colon, 0, 2] = tensor(new[] { 0.2f, 0.9f, 0.1f });
        images[0, TensorIndex.Colon, 0, 3] = tensor(new[] { 0.2f, 0.1f, 0.9f });

        var hsv = BatchOpsAccess.RgbToHsv(images);

        for (int b = 0; b < 2; b++)
        {
            for (int y = 0; y < 5; y++)
            {
                for (int x = 0; x < 5; x++)
                {
                    var (h, s, v) = NaiveRgbToHsv(images[b, 0, y, x].item<float>(), images[b, 1, y, x].item<float>(), images[b, 2, y, x].item<float>());
                    Assert.That(hsv[b, 0, y, x].item<float>(), Is.EqualTo(h).Within(1e-5), $"hue at {b},{y},{x}");
                    Assert.That(hsv[b, 1, y, x].item<float>(), Is.EqualTo(s).Within(1e-5));
                    Assert.That(hsv[b, 2, y, x].item<float>(), Is.EqualTo(v).Within(1e-6));
                }
            }
        }
    }

    [Test]
    public void HsvToRgb_InvertsRgbToHsv()
    {
        using var scope = NewDisposeScope();
        var images = AugmentTestData.Images(4, 3, 7, 7, seed: 7);

        var back = BatchOpsAccess.HsvToRgb(BatchOpsAccess.RgbToHsv(images));

        Assert.That(back.allclose(images, rtol: 0, atol: 1e-5), Is.True);
    }

    [Test]
    public void ShiftHue_EqualsConvertingToHsvShiftingAndConvertingBack()
    {
        using var scope = NewDisposeScope();
        var images = AugmentTestData.Images(5, 3, 6, 6, seed: 11);
        images[0] = full(new long[] { 3, 6, 6 }, 0.4f); // a gray image: hue rotation leaves it unchanged
        var shift = tensor(new[] { 0.3f, -0.2f, 0.5f, 0.05f, -0.45f }).view(5, 1, 1, 1);

        var direct = BatchOpsAccess.ShiftHue(images, shift);

        var hsv = BatchOpsAccess.RgbToHsv(images);
        var shifted = stack([(hsv[TensorIndex.Colon, 0] + shift.squeeze(1)).remainder(1.0), hsv[TensorIndex.Colon, 1], hsv[TensorIndex.Colon, 2]], 1);
        var reference = BatchOpsAccess.HsvToRgb(shifted);
        Assert.That(direct.allclose(reference, rtol: 0, atol: 1e-5), Is.True);
        Assert.That(direct[0].allclose(images[0], rtol: 0, atol: 1e-7), Is.True);
    }

    [Test]
    public void ColorJitter_HueShift_RotatesHueAndKeepsSaturationAndValue()
    {
        using var scope = NewDisposeScope();
        var images = AugmentTestData.Images(6, 3, 4, 4, seed: 8);

        var output = new ColorJitter(0, 0, 0, 0.25).Apply(images, new SeededRandom(8));

        var before = BatchOpsAccess.RgbToHsv(images);
        var after = BatchOpsAccess.RgbToHsv(output);
        Assert.That(after[TensorIndex.Colon, 2].allclose(before[TensorIndex.Colon, 2], rtol: 0, atol: 1e-5), Is.True, "value unchanged");
        Assert.That(after[TensorIndex.Colon, 1].allclose(before[TensorIndex.Colon, 1], rtol: 0, atol: 1e-4), Is.True, "saturation unchanged");
        var shift = (after[TensorIndex.Colon, 0] - before[TensorIndex.Colon, 0]).remainder(1.0);
        for (int i = 0; i < 6; i++)
        {
            var s = shift[i];
            // Circular spread of the shift inside one sample is tiny: one shift per sample.
            var centred = (s - s[0, 0]).add(0.5).remainder(1.0).sub(0.5).abs();
            Assert.That(centred.max().item<float>(), Is.LessThan(1e-4f), $"sample {i}");
            float amount = s[0, 0].item<float>();
            Assert.That(Math.Min(amount, 1 - amount), Is.LessThanOrEqualTo(0.25f + 1e-4f));
        }
    }

    [Test]
    public void RandomGrayscale_AlwaysOn_WritesItuR601LumaToEveryChannel()
    {
        using var scope = NewDisposeScope();
        var images = AugmentTestData.Images(3, 3, 4, 4, seed: 9);

        var output = new RandomGrayscale(1.0).Apply(images, new SeededRandom(9));

        var luma = (images[TensorIndex.Colon, 0] * 0.299f) + (images[TensorIndex.Colon, 1] * 0.587f) + (images[TensorIndex.Colon, 2] * 0.114f);
        for (int c = 0; c < 3; c++)
        {
            Assert.That(output[TensorIndex.Colon, c].allclose(luma, rtol: 0, atol: 1e-6), Is.True, $"channel {c}");
        }
    }

    [Test]
    public void RandomSolarize_AlwaysOn_InvertsValuesAtOrAboveThreshold()
    {
        using var scope = NewDisposeScope();
        var images = tensor(new[] { 0.0f, 0.49f, 0.5f, 0.75f, 1.0f }).view(1, 1, 1, 5);

        var output = new RandomSolarize(0.5, 1.0).Apply(images, new SeededRandom(1));

        Assert.That(output.flatten().data<float>().ToArray(), Is.EqualTo(new[] { 0.0f, 0.49f, 0.5f, 0.25f, 0.0f }).Within(1e-7f));
    }

    [Test]
    public void Normalize_IsThePerChannelAffineMap()
    {
        using var scope = NewDisposeScope();
        var images = AugmentTestData.Images(2, 3, 2, 2, seed: 10);
        var normalize = new Normalize([0.1f, 0.2f, 0.3f], [0.5f, 0.25f, 2f]);

        var output = normalize.Apply(images);

        Assert.That(output[1, 1, 0, 1].item<float>(), Is.EqualTo((images[1, 1, 0, 1].item<float>() - 0.2f) / 0.25f).Within(1e-6));
        var e = Assert.Throws<ArgumentException>(() => normalize.Apply(AugmentTestData.Images(1, 1, 2, 2)));
        Assert.That(e!.Message, Does.Contain("configured for 3 channels but the images have 1"));
    }

    /// <summary>The textbook RGB → HSV conversion (Python's colorsys), per pixel.</summary>
    private static (double H, double S, double V) NaiveRgbToHsv(double r, double g, double b)
    {
        double max = Math.Max(r, Math.Max(g, b));
        double min = Math.Min(r, Math.Min(g, b));
        if (max == min)
        {
            return (0, 0, max);
        }

        double s = (max - min) / max;
        double rc = (max - r) / (max - min);
        double gc = (max - g) / (max - min);
        double bc = (max - b) / (max - min);
        double h = r == max ? bc - gc : g == max ? 2.0 + rc - bc : 4.0 + gc - rc;
        h = ((h / 6.0) % 1.0 + 1.0) % 1.0;
        return (h, s, max);
    }
}
