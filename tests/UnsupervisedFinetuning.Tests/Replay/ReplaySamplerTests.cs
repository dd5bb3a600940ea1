using Microsoft.Extensions.Options;
using UnsupervisedFinetuning.Data;
using UnsupervisedFinetuning.Replay;
using static TorchSharp.torch;

namespace UnsupervisedFinetuning.Tests.Replay;

[TestFixture]
public sealed class ReplaySamplerTests
{
    private static SparseSourceReplay Sparse(ReplayComposition composition, double ratio = 0.25, int? count = null) =>
        new(new SparseReplayOptions { Ratio = ratio, Count = count, Composition = composition });

    /// <summary>n 1×1 grayscale images with pixel value i mod 256: a dataset of a given size, cheap to build.</summary>
    private static InMemoryImageDataset Images(int n) =>
        InMemoryImageDataset.FromBytes(Enumerable.Range(0, n).Select(i => (byte)i).ToArray(), n, new ImageShape(1, 1, 1));

    /// <summary>Selects with a target of <paramref name="targetCount"/> and a source of <paramref name="sourceCount"/> images (none when 0).</summary>
    private static int[] Select(IReplaySampler sampler, int targetCount, int sourceCount, SeededRandom random)
    {
        using var target = Images(targetCount);
        using var source = sourceCount > 0 ? Images(sourceCount) : null;
        using var context = new ReplaySelectionContext(target, source, random);
        return sampler.SelectSubset(context);
    }

    [Test]
    public void SelectSubset_RatioOfTarget_DistinctSortedSeeded()
    {
        var sampler = Sparse(ReplayComposition.Union, ratio: 0.25);

        int[] a = Select(sampler, targetCount: 300, sourceCount: 5000, new SeededRandom(1));
        int[] b = Select(sampler, 300, 5000, new SeededRandom(1));
        int[] c = Select(sampler, 300, 5000, new SeededRandom(2));

        Assert.That(a, Has.Length.EqualTo(75));
        Assert.That(a, Is.Unique.And.Ordered);
        Assert.That(a.All(i => i is >= 0 and < 5000), Is.True);
        Assert.That(a, Is.EqualTo(b));
        Assert.That(a, Is.Not.EqualTo(c));
    }

    [Test]
    public void SelectSubset_AbsoluteCount_OverridesRatio()
    {
        Assert.That(Select(Sparse(ReplayComposition.Union, ratio: 0.25, count: 40), 300, 5000, new SeededRandom(1)), Has.Length.EqualTo(40));
    }

    [Test]
    public void SelectSubset_NoSourceSet_SaysSo()
    {
        var e = Assert.Throws<ArgumentException>(() => Select(Sparse(ReplayComposition.Union), 300, 0, new SeededRandom(1)));

        Assert.That(e!.Message, Does.Contain("needs a source dataset"));
    }

    [Test]
    public void SelectSubset_MoreThanTheSourceHolds_NamesBothNumbers()
    {
        var e = Assert.Throws<ArgumentException>(() => Select(Sparse(ReplayComposition.Union, count: 60), 300, 50, new SeededRandom(1)));

        Assert.That(e!.Message, Does.Contain("60 images").And.Contain("has 50"));
    }

    [Test]
    public void Union_EveryImageOncePerEpoch_FullBatches_TargetFirst()
    {
        var sampler = Sparse(ReplayComposition.Union);
        int[] subset = Select(sampler, 100, 1000, new SeededRandom(3)); // 25 images

        var plan = sampler.PlanEpoch(100, subset, 16, new SeededRandom(4));

        Assert.That(plan, Has.Count.EqualTo(125 / 16));
        Assert.That(sampler.StepsPerEpoch(100, 25, 16), Is.EqualTo(7));
        Assert.That(plan.All(b => b.Count == 16), Is.True);
        var targets = plan.SelectMany(b => b.Target).ToList();
        var sources = plan.SelectMany(b => b.Source).ToList();
        Assert.That(targets, Is.Unique);
        Assert.That(sources, Is.Unique);
        Assert.That(targets.Count + sources.Count, Is.EqualTo(7 * 16), "125 − 13 dropped images");
        Assert.That(sources.All(subset.Contains), Is.True, "replayed images come from the subset only");
        Assert.That(plan.Select(b => b.Source.Length).Distinct().Count(), Is.GreaterThan(1), "Union lets the source share vary per batch");
    }

    [TestCase(0.25, 128, 26)] // round(128 · 0.25 / 1.25) = 25.6 → 26
    [TestCase(0.5, 64, 21)]   // round(64 / 3) = 21.33 → 21
    [TestCase(1.0, 16, 8)]
    public void FixedShare_EveryBatchHoldsExactlyTheShare(double ratio, int batch, int expectedSource)
    {
        var sampler = Sparse(ReplayComposition.FixedShare, ratio: ratio);
        int target = 400;
        int[] subset = Select(sampler, target, 10_000, new SeededRandom(5));

        var plan = sampler.PlanEpoch(target, subset, batch, new SeededRandom(6));

        Assert.That(plan.All(b => b.Source.Length == expectedSource && b.Target.Length == batch - expectedSource), Is.True);
        Assert.That(plan, Has.Count.EqualTo(target / (batch - expectedSource)));
        Assert.That(plan.SelectMany(b => b.Target), Is.Unique, "one pass over the target set");
        // The source subset is cycled through before any image repeats.
        var sources = plan.SelectMany(b => b.Source).ToList();
        var firstCycle = sources.Take(subset.Length).ToList();
        Assert.That(firstCycle, Is.Unique);
    }

    [Test]
    public void FixedShare_ShareRoundingToZero_IsAClearError()
    {
        // 0.02 · 16 / 1.02 = 0.31 → 0 source images per batch: replay would silently do nothing.
        var sampler = Sparse(ReplayComposition.FixedShare, ratio: 0.02);
        int[] subset = Select(sampler, 400, 10_000, new SeededRandom(5));

        var e = Assert.Throws<ArgumentException>(() => sampler.PlanEpoch(400, subset, 16, new SeededRandom(6)));

        Assert.That(e!.Message, Does.Contain("rounds to 0 source images in a batch of 16").And.Contain("Union"));
    }

    [Test]
    public void NoReplay_BatchesHoldTargetImagesOnly()
    {
        var plan = NoReplay.Instance.PlanEpoch(50, [], 8, new SeededRandom(7));

        Assert.That(plan, Has.Count.EqualTo(6));
        Assert.That(plan.All(b => b.Source.Length == 0 && b.Target.Length == 8), Is.True);
        Assert.That(plan.SelectMany(b => b.Target), Is.Unique);
    }

    [Test]
    public void Union_BatchLargerThanData_IsAClearError()
    {
        var e = Assert.Throws<ArgumentException>(() => NoReplay.Instance.StepsPerEpoch(10, 0, 16));

        Assert.That(e!.Message, Is.EqualTo("FinetuneOptions.BatchSize is 16, but the target set has 10 images and the replay subset 0: a batch cannot be larger than the data; lower the batch size."));
        Assert.That(e.ParamName, Is.Null, "the option is named in the message, not as a parameter of an internal method");
    }

    [Test]
    public void InvalidOptions_NameEveryField()
    {
        var e = Assert.Throws<OptionsValidationException>(() => _ = new SparseSourceReplay(new SparseReplayOptions { Ratio = -1, Count = 0, Composition = (ReplayComposition)9 }));

        Assert.That(e!.Message, Does.Contain("SparseReplayOptions.Ratio is -1; expected a finite value > 0")
            .And.Contain("SparseReplayOptions.Count is 0; expected null (use Ratio) or a positive number of source images")
            .And.Contain("SparseReplayOptions.Composition is 9"));
    }

    [Test]
    public void Selector_SeesTheContextAndItsChoiceIsReplayed()
    {
        // A content-aware rule: the source images whose (1-px) feature is largest. The context computes the
        // features once, however often the rule asks.
        int calls = 0;
        using var target = Images(40);
        using var source = Images(200);
        using var context = new ReplaySelectionContext(target, source, new SeededRandom(1), data =>
        {
            calls++;
            return data.GetBatch(Enumerable.Range(0, data.Count).ToArray()).to(ScalarType.Float32).view(data.Count, 1);
        });
        var sampler = new SparseSourceReplay(new SparseReplayOptions { Ratio = 0.25 }, new BrightestSelector());

        int[] subset = sampler.SelectSubset(context);
        _ = context.Features(source);

        Assert.That(subset, Is.EqualTo(Enumerable.Range(190, 10).ToArray()), "the 10 images with pixel values 190…199");
        Assert.That(calls, Is.EqualTo(1), "features are computed once per dataset");
        Assert.That(sampler.Settings["Selection"], Is.EqualTo("brightest"));
    }

    [Test]
    public void Selector_ReturningTheWrongIndices_IsNamed()
    {
        var sampler = new SparseSourceReplay(new SparseReplayOptions { Count = 5 }, new RepeatingSelector());

        var e = Assert.Throws<InvalidOperationException>(() => Select(sampler, 40, 100, new SeededRandom(1)));

        Assert.That(e!.Message, Does.Contain("Replay selector 'repeating' returned 5 indices; expected 5 distinct source indices in [0, 100)"));
    }

    [Test]
    public void Features_WithoutABackbone_SaySo()
    {
        using var target = Images(4);
        using var context = new ReplaySelectionContext(target, null, new SeededRandom(1));

        var e = Assert.Throws<InvalidOperationException>(() => context.Features(target));

        Assert.That(e!.Message, Does.Contain("no pretrained backbone"));
    }

    private sealed class BrightestSelector : IReplaySelector
    {
        public string Name => "brightest";

        public int[] Select(ReplaySelectionContext context, int count) =>
            context.Features(context.Source!).squeeze(1).argsort(descending: true).narrow(0, 0, count).data<long>().Select(i => (int)i).ToArray();
    }

    private sealed class RepeatingSelector : IReplaySelector
    {
        public string Name => "repeating";

        public int[] Select(ReplaySelectionContext context, int count) => Enumerable.Repeat(3, count).ToArray();
    }
}
