using Microsoft.Extensions.Options;
using UnsupervisedFinetuning.Methods;
using UnsupervisedFinetuning.Mixing;
using UnsupervisedFinetuning.Objectives;
using static TorchSharp.torch;

namespace UnsupervisedFinetuning.Tests.Mixing;

[TestFixture]
public sealed class MixingTests
{
    /// <summary>Batch whose sample i is filled with the value i + 1 (so every pixel tells its origin).</summary>
    private static Tensor Labelled(int batch, int size = 8) =>
        (arange(1, batch + 1, ScalarType.Float32).view(-1, 1, 1, 1) * ones(batch, 1, size, size)).contiguous();

    private static bool[] Targets(int batch) => new bool[batch];

    /// <summary>Closed-form CDFs of Beta(α, α): arcsine law for ½, uniform for 1, 3x² − 2x³ for 2.</summary>
    private static double BetaCdf(double x, double alpha) => alpha switch
    {
        0.5 => 2 / Math.PI * Math.Asin(Math.Sqrt(x)),
        1.0 => x,
        2.0 => (3 * x * x) - (2 * x * x * x),
        _ => throw new ArgumentOutOfRangeException(nameof(alpha)),
    };

    [TestCase(1.0)]
    [TestCase(2.0)]
    [TestCase(0.5)]
    public void Mixup_Lambda_FollowsBetaAlphaAlpha(double alpha)
    {
        var mixup = new Mixup(new MixingOptions { Alpha = alpha, FoldLambda = false });
        var random = new SeededRandom(1);
        var lambdas = new List<double>();
        using var scope = NewDisposeScope();
        var x = Labelled(64, 2);
        for (int i = 0; i < 40; i++)
        {
            lambdas.AddRange(mixup.Mix(x, Targets(64), random).Plan.Lambda.Select(l => (double)l));
        }

        double[] sorted = [.. lambdas.OrderBy(v => v)];
        double d = 0;
        for (int i = 0; i < sorted.Length; i++)
        {
            double cdf = BetaCdf(sorted[i], alpha);
            d = Math.Max(d, Math.Max(Math.Abs(((i + 1.0) / sorted.Length) - cdf), Math.Abs((i / (double)sorted.Length) - cdf)));
        }

        Assert.That(d, Is.LessThan(1.95 / Math.Sqrt(sorted.Length)), "KS distance to Beta(α, α) at p = 0.001");
    }

    [Test]
    public void Mixup_Images_AreTheConvexCombinationOfThePlan()
    {
        using var scope = NewDisposeScope();
        var x = AugmentRandom(10);
        var result = new Mixup(new MixingOptions()).Mix(x, Targets(10), new SeededRandom(2));

        for (int i = 0; i < 10; i++)
        {
            float l = result.Plan.Lambda[i];
            var expected = (x[i] * l) + (x[result.Plan.Partner[i]] * (1 - l));
            Assert.That(result.Images[i].allclose(expected, rtol: 0, atol: 1e-6), Is.True, $"sample {i}");
        }

        Assert.That(result.Plan.Partner.OrderBy(p => p), Is.EqualTo(Enumerable.Range(0, 10)), "partners are a permutation");
    }

    private static Tensor AugmentRandom(int batch) => randn([batch, 3, 4, 4], generator: new Generator(3));

    [Test]
    public void FoldLambda_KeepsTheAnchorDominant()
    {
        using var scope = NewDisposeScope();
        var plan = new Mixup(new MixingOptions { FoldLambda = true }).Mix(Labelled(256, 2), Targets(256), new SeededRandom(4)).Plan;

        Assert.That(plan.Lambda.Min(), Is.GreaterThanOrEqualTo(0.5f));
    }

    [TestCase(false)]
    [TestCase(true)]
    public void CutMix_Lambda_EqualsTheShareOfPixelsKept(bool fold)
    {
        using var scope = NewDisposeScope();
        var x = Labelled(32, 12);
        var result = new CutMix(new MixingOptions { Alpha = 1.0, FoldLambda = fold }).Mix(x, Targets(32), new SeededRandom(5));

        for (int i = 0; i < 32; i++)
        {
            int partner = result.Plan.Partner[i];
            double kept = result.Images[i].eq(i + 1).to(ScalarType.Float32).mean().item<float>();
            double pasted = result.Images[i].eq(partner + 1).to(ScalarType.Float32).mean().item<float>();
            if (partner == i)
            {
                Assert.That(kept, Is.EqualTo(1.0));
                continue;
            }

            Assert.That(result.Plan.Lambda[i], Is.EqualTo(kept).Within(1e-6), $"sample {i}");
            Assert.That(kept + pasted, Is.EqualTo(1.0).Within(1e-6));
        }
    }

    [Test]
    public void TargetOnlyPartners_LeaveReplayedImagesUnmixed()
    {
        using var scope = NewDisposeScope();
        bool[] isSource = [false, false, false, false, false, true, true, true];
        var x = Labelled(8, 4);

        var result = new Mixup(new MixingOptions { Partners = MixingPartners.TargetOnly }).Mix(x, isSource, new SeededRandom(6));

        for (int i = 0; i < 8; i++)
        {
            if (isSource[i])
            {
                Assert.That(result.Plan.Partner[i], Is.EqualTo(i));
                Assert.That(result.Plan.Lambda[i], Is.EqualTo(1f));
                Assert.That(result.Images[i].equal(x[i]).all().item<bool>(), Is.True);
            }
            else
            {
                Assert.That(isSource[result.Plan.Partner[i]], Is.False, "a target image's partner is a target image");
            }
        }
    }

    [Test]
    public void Probability_DecidesPerBatch()
    {
        var mixup = new Mixup(new MixingOptions { Probability = 0.5 });
        var random = new SeededRandom(7);
        using var scope = NewDisposeScope();
        var x = Labelled(4, 2);

        int mixed = Enumerable.Range(0, 400).Count(_ => mixup.Mix(x, Targets(4), random).Plan.IsMixed);

        Assert.That(mixed, Is.InRange(200 - 40, 200 + 40));
        Assert.That(new Mixup(new MixingOptions { Probability = 0 }).Mix(x, Targets(4), random).Plan.IsMixed, Is.False);
    }

    [Test]
    public void UnMixLoss_IsTheLambdaWeightedSumOfOwnAndPartnerLosses()
    {
        using var scope = NewDisposeScope();
        var q = randn(6, 8);
        var k = randn(6, 8);
        var negatives = randn(12, 8);
        var objective = new InfoNceLoss(0.2);
        var plan = new MixPlan([1f, 0.8f, 0.6f, 0.5f, 0.9f, 0.7f], [0, 2, 1, 4, 3, 0], isMixed: true);

        var loss = objective.UnMixLoss(q, k, plan, negatives).item<float>();

        var own = objective.Compute(q, k, negatives).PerSample.data<float>().ToArray();
        var partner = objective.Compute(q, k.index_select(0, plan.PartnerTensor(CPU)), negatives).PerSample.data<float>().ToArray();
        double expected = Enumerable.Range(0, 6).Average(i => (plan.Lambda[i] * own[i]) + ((1 - plan.Lambda[i]) * partner[i]));
        Assert.That(loss, Is.EqualTo(expected).Within(1e-5));
        Assert.That(objective.UnMixLoss(q, k, MixPlan.Identity(6), negatives).item<float>(), Is.EqualTo(objective.Compute(q, k, negatives).Mean.item<float>()));
    }

    [Test]
    public void IMixLoss_MatchesNaiveSoftTargetCrossEntropy()
    {
        using var scope = NewDisposeScope();
        var q = randn(5, 6, generator: new Generator(8));
        var k = randn(5, 6, generator: new Generator(9));
        var negatives = randn(7, 6, generator: new Generator(10));
        var plan = new MixPlan([0.9f, 0.6f, 0.75f, 1f, 0.55f], [1, 0, 2, 4, 3], isMixed: true);
        const double Tau = 0.3;

        double loss = MixedObjective.IMixLoss(new InfoNceLoss(Tau), q, k, negatives, plan).item<float>();

        double[] Row(Tensor t, int i) => t[i].to(ScalarType.Float64).data<double>().ToArray();
        double[] N(double[] v) { double n = Math.Sqrt(v.Sum(x => x * x)); return v.Select(x => x / n).ToArray(); }
        double expected = 0;
        for (int i = 0; i < 5; i++)
        {
            var qi = N(Row(q, i));
            var candidates = Enumerable.Range(0, 5).Select(j => N(Row(k, j))).Concat(Enumerable.Range(0, 7).Select(j => N(Row(negatives, j)))).ToArray();
            var logits = candidates.Select(c => c.Zip(qi, (a, b) => a * b).Sum() / Tau).ToArray();
            double max = logits.Max();
            double logZ = max + Math.Log(logits.Sum(l => Math.Exp(l - max)));
            var targetWeights = new double[candidates.Length];
            targetWeights[i] += plan.Lambda[i];
            targetWeights[plan.Partner[i]] += 1 - plan.Lambda[i];
            expected += -Enumerable.Range(0, candidates.Length).Sum(j => targetWeights[j] * (logits[j] - logZ));
        }

        Assert.That(loss, Is.EqualTo(expected / 5).Within(1e-5));
    }

    [Test]
    public void MixPlan_InvalidLambda_IsRejectedWithItsIndex()
    {
        var e = Assert.Throws<ArgumentException>(() => _ = new MixPlan([1f, 1.5f], [0, 1], isMixed: true));

        Assert.That(e!.Message, Does.Contain("sample 1"));
    }

    [Test]
    public void InvalidOptions_NameEveryFieldAndValue()
    {
        var e = Assert.Throws<OptionsValidationException>(() => _ = new CutMix(new MixingOptions { Alpha = 0, Probability = 1.5, Partners = (MixingPartners)4 }));

        Assert.That(e!.Message, Does.Contain("MixingOptions.Alpha is 0; expected a finite value > 0")
            .And.Contain("MixingOptions.Probability is 1.5; expected a value in [0, 1]")
            .And.Contain("MixingOptions.Partners is 4; expected TargetOnly or All"));
    }
}
