using UnsupervisedFinetuning.Objectives;
using static TorchSharp.torch;

namespace UnsupervisedFinetuning.Tests.Objectives;

[TestFixture]
public sealed class ObjectiveTests
{
    private static double[][] Random(int rows, int cols, int seed)
    {
        var r = new SeededRandom(seed);
        return Enumerable.Range(0, rows).Select(_ => Enumerable.Range(0, cols).Select(_ => r.NextGaussian()).ToArray()).ToArray();
    }

    private static Tensor T(double[][] rows) => tensor(rows.SelectMany(r => r).ToArray(), [rows.Length, rows[0].Length], ScalarType.Float32);

    private static double[] Values(Tensor t) => t.to(ScalarType.Float64).data<double>().ToArray();

    private static readonly int[] Identity6 = [0, 1, 2, 3, 4, 5];
    private static readonly int[] Shuffled6 = [3, 0, 5, 1, 2, 4];

    [TestCase(false)]
    [TestCase(true)]
    public void InfoNce_MatchesNaiveLoop(bool permuted)
    {
        var q = Random(6, 8, 1);
        var k = Random(6, 8, 2);
        var n = Random(10, 8, 3);
        int[] positives = permuted ? Shuffled6 : Identity6;
        using var scope = NewDisposeScope();

        var loss = new InfoNceLoss(0.2).Compute(T(q), T(k), T(n), permuted ? tensor(positives.Select(i => (long)i).ToArray()) : null);

        double[] expected = NaiveLosses.InfoNce(q, k, n, positives, 0.2);
        Assert.That(Values(loss.PerSample), Is.EqualTo(expected).Within(1e-5));
        Assert.That(loss.Mean.item<float>(), Is.EqualTo(expected.Average()).Within(1e-5));
    }

    [Test]
    public void InfoNce_UniformLogits_GiveLogOfKPlusOne()
    {
        // Queries orthogonal to their key and to every negative: all K + 1 logits are 0.
        using var scope = NewDisposeScope();
        var q = zeros(4, 6);
        q[TensorIndex.Colon, 0] = ones(4);
        var k = zeros(4, 6);
        k[TensorIndex.Colon, 1] = ones(4);
        var negatives = zeros(9, 6);
        negatives[TensorIndex.Colon, 2] = ones(9);

        var loss = new InfoNceLoss(0.07).Compute(q, k, negatives);

        Assert.That(loss.Mean.item<float>(), Is.EqualTo(Math.Log(10)).Within(1e-6));
    }

    [Test]
    public void InfoNce_AlignedPositiveOrthogonalNegatives_ClosedForm()
    {
        using var scope = NewDisposeScope();
        var q = eye(3, 5);
        var negatives = zeros(7, 5);
        negatives[TensorIndex.Colon, 4] = ones(7);
        const double Tau = 0.5;

        var loss = new InfoNceLoss(Tau).Compute(q, q.clone(), negatives);

        double expected = (-1 / Tau) + Math.Log(Math.Exp(1 / Tau) + 7);
        Assert.That(Values(loss.PerSample), Is.All.EqualTo(expected).Within(1e-5));
    }

    [TestCase(false)]
    [TestCase(true)]
    public void NtXent_MatchesNaiveLoop(bool permuted)
    {
        var z1 = Random(6, 5, 4);
        var z2 = Random(6, 5, 5);
        int[] positives = permuted ? Shuffled6 : Identity6;
        using var scope = NewDisposeScope();

        var loss = new NtXentLoss(0.3).Compute(T(z1), T(z2), positives: permuted ? tensor(positives.Select(i => (long)i).ToArray()) : null);

        Assert.That(Values(loss.PerSample), Is.EqualTo(NaiveLosses.NtXent(z1, z2, positives, 0.3)).Within(1e-5));
    }

    [Test]
    public void NtXent_OrthonormalTwins_ClosedForm()
    {
        using var scope = NewDisposeScope();
        var z = eye(4, 8);
        const double Tau = 0.1;

        var loss = new NtXentLoss(Tau).Compute(z, z.clone());

        // Each anchor: its twin at cosine 1, the other 2B − 2 = 6 embeddings at cosine 0.
        double expected = (-1 / Tau) + Math.Log(Math.Exp(1 / Tau) + 6);
        Assert.That(loss.Mean.item<float>(), Is.EqualTo(expected).Within(1e-4));
    }

    [Test]
    public void NtXent_IsSymmetricInTheViews()
    {
        using var scope = NewDisposeScope();
        var a = T(Random(5, 4, 6));
        var b = T(Random(5, 4, 7));

        var ab = new NtXentLoss(0.5).Compute(a, b).PerSample;
        var ba = new NtXentLoss(0.5).Compute(b, a).PerSample;

        Assert.That(ab.allclose(ba, rtol: 0, atol: 1e-6), Is.True);
    }

    [TestCase(false)]
    [TestCase(true)]
    public void Byol_MatchesNaiveLoop(bool permuted)
    {
        var p = Random(6, 7, 8);
        var z = Random(6, 7, 9);
        int[] positives = permuted ? Shuffled6 : Identity6;
        using var scope = NewDisposeScope();

        var loss = new ByolLoss().Compute(T(p), T(z), positives: permuted ? tensor(positives.Select(i => (long)i).ToArray()) : null);

        Assert.That(Values(loss.PerSample), Is.EqualTo(NaiveLosses.Byol(p, z, positives)).Within(1e-5));
    }

    [Test]
    public void Byol_ClosedForms_IdenticalOrthogonalOpposite()
    {
        using var scope = NewDisposeScope();
        var p = tensor(new float[] { 1, 0, 0, 2, 0, 0, 3, 0, 0 }, [3, 3]);
        var z = tensor(new float[] { 5, 0, 0, 0, 1, 0, -1, 0, 0 }, [3, 3]);

        var loss = new ByolLoss().Compute(p, z);

        Assert.That(Values(loss.PerSample), Is.EqualTo(new[] { 0.0, 2.0, 4.0 }).Within(1e-6));
    }

    [TestCase(0.0)]
    [TestCase(-1.0)]
    [TestCase(double.NaN)]
    public void Temperature_Invalid_IsRejectedWithItsName(double tau)
    {
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => _ = new InfoNceLoss(tau));

        Assert.That(e!.Message, Does.Contain("temperature"));
    }

    [Test]
    public void Compute_MismatchedShapes_NamesBoth()
    {
        using var scope = NewDisposeScope();

        var e = Assert.Throws<ArgumentException>(() => new ByolLoss().Compute(zeros(4, 8), zeros(4, 6)));

        Assert.That(e!.Message, Does.Contain("[4,8]").And.Contain("[4,6]"));
    }

    [Test]
    public void InfoNce_WithoutNegatives_ExplainsTheQueue()
    {
        using var scope = NewDisposeScope();

        var e = Assert.Throws<ArgumentException>(() => new InfoNceLoss().Compute(zeros(2, 4), zeros(2, 4)));

        Assert.That(e!.Message, Does.Contain("queue"));
    }
}
