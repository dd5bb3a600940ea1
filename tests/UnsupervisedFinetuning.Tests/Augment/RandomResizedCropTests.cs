using UnsupervisedFinetuning.Augment;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace UnsupervisedFinetuning.Tests.Augment;

[TestFixture]
public sealed class RandomResizedCropTests
{
    /// <summary>Kolmogorov–Smirnov distance between a sample and the uniform distribution on [low, high].</summary>
    private static double KsUniform(IEnumerable<double> sample, double low, double high)
    {
        double[] sorted = sample.OrderBy(x => x).ToArray();
        double d = 0;
        for (int i = 0; i < sorted.Length; i++)
        {
            double cdf = Math.Clamp((sorted[i] - low) / (high - low), 0, 1);
            d = Math.Max(d, Math.Max(Math.Abs(((i + 1.0) / sorted.Length) - cdf), Math.Abs((i / (double)sorted.Length) - cdf)));
        }

        return d;
    }

    [Test]
    public void SampleBox_AreaFractionStaysWithinScaleBounds()
    {
        var crop = new RandomResizedCrop(32, 32, scaleMin: 0.2, scaleMax: 0.9);
        var random = new SeededRandom(1);

        var fractions = Enumerable.Range(0, 5000).Select(_ => crop.SampleBox(32, 32, random).AreaFraction(32, 32)).ToArray();

        // Rounding sides to whole pixels moves the area by at most about one row and one column.
        double slack = (2.0 * 32) / (32.0 * 32);
        Assert.That(fractions.Min(), Is.GreaterThanOrEqualTo(0.2 - slack));
        Assert.That(fractions.Max(), Is.LessThanOrEqualTo(0.9 + slack));
    }

    [Test]
    public void SampleBox_SquareCrops_AreaFractionIsUniformOverScale()
    {
        // With ratio fixed at 1 no draw is rejected, so the area fraction is U(scale) up to pixel rounding.
        var crop = new RandomResizedCrop(32, 32, scaleMin: 0.2, scaleMax: 1.0, ratioMin: 1, ratioMax: 1);
        var random = new SeededRandom(2);

        var fractions = Enumerable.Range(0, 4000).Select(_ => crop.SampleBox(1000, 1000, random).AreaFraction(1000, 1000)).ToArray();

        Assert.That(KsUniform(fractions, 0.2, 1.0), Is.LessThan(1.95 / Math.Sqrt(4000)), "KS test at p = 0.001");
    }

    [Test]
    public void SampleBox_AspectRatioIsLogUniform()
    {
        var crop = new RandomResizedCrop(32, 32, scaleMin: 0.08, scaleMax: 0.2);
        var random = new SeededRandom(3);

        var logRatios = Enumerable.Range(0, 4000)
            .Select(_ => crop.SampleBox(1000, 1000, random))
            .Select(b => Math.Log((double)b.Width / b.Height)).ToArray();

        Assert.That(KsUniform(logRatios, Math.Log(3.0 / 4.0), Math.Log(4.0 / 3.0)), Is.LessThan(1.95 / Math.Sqrt(4000)));
    }

    [Test]
    public void SampleBox_BoxesLieInsideTheImage()
    {
        var crop = new RandomResizedCrop(16, 16);
        var random = new SeededRandom(4);

        for (int i = 0; i < 2000; i++)
        {
            var box = crop.SampleBox(20, 30, random);
            Assert.That(box.Top >= 0 && box.Left >= 0 && box.Top + box.Height <= 20 && box.Left + box.Width <= 30 && box.Width > 0 && box.Height > 0, Is.True, box.ToString());
        }
    }

    [Test]
    public void SampleBox_ImpossibleRatio_FallsBackToCentredCropOfNearestRatio()
    {
        // A 3:1 minimum ratio never fits a near-full-area crop of a square image: torchvision's fallback is
        // the full width with height = round(width / 3), centred.
        var crop = new RandomResizedCrop(8, 8, scaleMin: 0.95, scaleMax: 1.0, ratioMin: 3, ratioMax: 4);

        var box = crop.SampleBox(30, 30, new SeededRandom(5));

        Assert.That(box, Is.EqualTo(new CropBox(Top: 10, Left: 0, Height: 10, Width: 30)));
    }

    [Test]
    public void Resample_MatchesInterpolatingTheCroppedRegion()
    {
        using var scope = NewDisposeScope();
        var images = AugmentTestData.Images(3, 2, 12, 10, seed: 6);
        CropBox[] boxes = [new(2, 1, 6, 8), new(0, 0, 12, 10), new(5, 3, 4, 4)];

        var resampled = RandomResizedCrop.Resample(images, boxes, 7, 9);

        for (int i = 0; i < boxes.Length; i++)
        {
            var b = boxes[i];
            var region = images[i].narrow(1, b.Top, b.Height).narrow(2, b.Left, b.Width).unsqueeze(0);
            var reference = F.interpolate(region, [7, 9], mode: InterpolationMode.Bilinear, align_corners: false);
            Assert.That(resampled[i].allclose(reference[0], rtol: 0, atol: 1e-5), Is.True, $"sample {i}");
        }
    }

    [Test]
    public void Apply_SameSeed_BitIdentical_SamplesGetDifferentCrops()
    {
        using var scope = NewDisposeScope();
        var one = AugmentTestData.Images(1, 3, 16, 16, seed: 7);
        var images = one.expand(8, 3, 16, 16).contiguous();
        var crop = new RandomResizedCrop(12, 12);

        var a = crop.Apply(images, new SeededRandom(9));
        var b = crop.Apply(images, new SeededRandom(9));

        Assert.That(AugmentTestData.BitEqual(a, b), Is.True);
        Assert.That(a.shape, Is.EqualTo(new long[] { 8, 3, 12, 12 }));
        Assert.That(AugmentTestData.BitEqual(a[0], a[1]), Is.False, "two samples of one batch get different crops");
    }

    [TestCase(0.0, 1.0)]
    [TestCase(0.5, 0.4)]
    [TestCase(0.1, 1.0)]
    public void Constructor_InvalidScale_IsRejected(double min, double max)
    {
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => new RandomResizedCrop(8, 8, scaleMin: min, scaleMax: max == 1.0 && min == 0.1 ? 1.5 : max));

        Assert.That(e!.Message, Does.Contain("scale"));
    }
}
