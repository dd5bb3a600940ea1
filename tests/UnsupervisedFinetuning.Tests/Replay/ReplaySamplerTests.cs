using UnsupervisedFinetuning.Replay;

namespace UnsupervisedFinetuning.Tests.Replay;

[TestFixture]
public sealed class ReplaySamplerTests
{
    private static SparseSourceReplay Sparse(ReplayComposition composition, double ratio = 0.25, int count = 0) =>
        new(new ReplayOptions { Mode = ReplayMode.Sparse, Ratio = ratio, Count = count, Composition = composition });

    [Test]
    public void SelectSubset_RatioOfTarget_DistinctSortedSeeded()
    {
        var sampler = Sparse(ReplayComposition.Union, ratio: 0.25);

        int[] a = sampler.SelectSubset(targetCount: 300, sourceCount: 5000, new SeededRandom(1));
        int[] b = sampler.SelectSubset(300, 5000, new SeededRandom(1));
        int[] c = sampler.SelectSubset(300, 5000, new SeededRandom(2));

        Assert.That(a, Has.Length.EqualTo(75));
        Assert.That(a, Is.Unique.And.Ordered);
        Assert.That(a.All(i => i is >= 0 and < 5000), Is.True);
        Assert.That(a, Is.EqualTo(b));
        Assert.That(a, Is.Not.EqualTo(c));
    }

    [Test]
    public void SelectSubset_AbsoluteCount_OverridesRatio()
    {
        Assert.That(Sparse(ReplayComposition.Union, ratio: 0.25, count: 40).SelectSubset(300, 5000, new SeededRandom(1)), Has.Length.EqualTo(40));
    }

    [Test]
    public void SelectSubset_NoSourceSet_SaysSo()
    {
        var e = Assert.Throws<ArgumentException>(() => Sparse(ReplayComposition.Union).SelectSubset(300, 0, new SeededRandom(1)));

        Assert.That(e!.Message, Does.Contain("needs a source dataset"));
    }

    [Test]
    public void SelectSubset_MoreThanTheSourceHolds_NamesBothNumbers()
    {
        var e = Assert.Throws<ArgumentException>(() => Sparse(ReplayComposition.Union, count: 60).SelectSubset(300, 50, new SeededRandom(1)));

        Assert.That(e!.Message, Does.Contain("60 images").And.Contain("has 50"));
    }

    [Test]
    public void Union_EveryImageOncePerEpoch_FullBatches_TargetFirst()
    {
        var sampler = Sparse(ReplayComposition.Union);
        int[] subset = sampler.SelectSubset(100, 1000, new SeededRandom(3)); // 25 images

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
        int[] subset = sampler.SelectSubset(target, 10_000, new SeededRandom(5));

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
        int[] subset = sampler.SelectSubset(400, 10_000, new SeededRandom(5));

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

        Assert.That(e!.Message, Does.Contain("batch of 16").And.Contain("lower the batch size"));
    }

    [Test]
    public void Constructor_ModeNone_IsRejected()
    {
        Assert.Throws<ArgumentException>(() => _ = new SparseSourceReplay(new ReplayOptions { Mode = ReplayMode.None }));
    }
}
