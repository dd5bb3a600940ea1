namespace UnsupervisedFinetuning.Tests;

[TestFixture]
public sealed class SeededRandomTests
{
    [Test]
    public void SameSeed_SameSequence_OtherSeed_OtherSequence()
    {
        var a = new SeededRandom(42);
        var b = new SeededRandom(42);
        var c = new SeededRandom(43);

        var sa = Enumerable.Range(0, 100).Select(_ => a.NextUInt64()).ToArray();
        var sb = Enumerable.Range(0, 100).Select(_ => b.NextUInt64()).ToArray();
        var sc = Enumerable.Range(0, 100).Select(_ => c.NextUInt64()).ToArray();

        Assert.That(sa, Is.EqualTo(sb));
        Assert.That(sa, Is.Not.EqualTo(sc));
    }

    [Test]
    public void GetStateThenFromState_ContinuesTheSequenceExactly()
    {
        var original = new SeededRandom(7);
        for (int i = 0; i < 13; i++)
        {
            original.NextDouble();
        }

        var restored = SeededRandom.FromState(original.GetState());

        Assert.That(Enumerable.Range(0, 50).Select(_ => restored.NextUInt64()), Is.EqualTo(Enumerable.Range(0, 50).Select(_ => original.NextUInt64())));
    }

    [Test]
    public void FromState_AllZero_IsRejected()
    {
        var e = Assert.Throws<ArgumentException>(() => SeededRandom.FromState([0, 0, 0, 0]));
        Assert.That(e!.Message, Does.Contain("all zeros is invalid"));
    }

    [Test]
    public void Fork_DoesNotAdvanceParent_AndStreamsDiffer()
    {
        var parent = new SeededRandom(1);
        var twin = new SeededRandom(1);

        var augment = parent.Fork("augment");
        var replay = parent.Fork("replay");

        Assert.That(parent.NextUInt64(), Is.EqualTo(twin.NextUInt64()));
        Assert.That(augment.NextUInt64(), Is.Not.EqualTo(replay.NextUInt64()));
        ulong again = new SeededRandom(1).Fork("augment").NextUInt64();
        Assert.That(new SeededRandom(1).Fork("augment").NextUInt64(), Is.EqualTo(again));
    }

    [Test]
    public void NextInt_IsUniform_ChiSquare()
    {
        var random = new SeededRandom(3);
        const int Bins = 7;
        const int Draws = 70_000;
        var counts = new int[Bins];
        for (int i = 0; i < Draws; i++)
        {
            counts[random.NextInt(Bins)]++;
        }

        double expected = (double)Draws / Bins;
        double chi2 = counts.Sum(c => (c - expected) * (c - expected) / expected);
        Assert.That(chi2, Is.LessThan(22.46), "chi-square with 6 degrees of freedom at p = 0.001");
    }

    [TestCase(0.2)]
    [TestCase(1.0)]
    [TestCase(2.5)]
    public void NextBeta_SymmetricAlpha_MatchesBetaMeanAndVariance(double alpha)
    {
        var random = new SeededRandom(11);
        const int Draws = 40_000;
        var samples = Enumerable.Range(0, Draws).Select(_ => random.NextBeta(alpha, alpha)).ToArray();

        double mean = samples.Average();
        double variance = samples.Select(x => (x - mean) * (x - mean)).Sum() / (Draws - 1);
        double expectedVariance = 1.0 / (4.0 * ((2.0 * alpha) + 1.0)); // αβ/((α+β)²(α+β+1)) with α = β

        Assert.That(samples.All(x => x is >= 0 and <= 1), Is.True);
        Assert.That(mean, Is.EqualTo(0.5).Within(0.01));
        Assert.That(variance, Is.EqualTo(expectedVariance).Within(expectedVariance * 0.05));
    }

    [Test]
    public void Permutation_HoldsEveryIndexOnce()
    {
        var permutation = new SeededRandom(5).Permutation(1000);

        Assert.That(permutation.OrderBy(i => i), Is.EqualTo(Enumerable.Range(0, 1000)));
        Assert.That(permutation, Is.Not.EqualTo(Enumerable.Range(0, 1000)));
    }
}
