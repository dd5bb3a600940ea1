using UnsupervisedFinetuning.Evaluation;
using static TorchSharp.torch;

namespace UnsupervisedFinetuning.Tests.Evaluation;

[TestFixture]
public sealed class KnnAndMonitorTests
{
    private static double[][] Rows(Tensor t) =>
        Enumerable.Range(0, (int)t.shape[0]).Select(i => t[i].to(ScalarType.Float64).data<double>().ToArray()).ToArray();

    private static double[] Unit(double[] v)
    {
        double n = Math.Sqrt(v.Sum(x => x * x));
        return v.Select(x => x / n).ToArray();
    }

    /// <summary>The weighted kNN vote, written as plainly as possible.</summary>
    private static int[] NaiveKnn(double[][] bank, int[] labels, double[][] queries, int k, double tau, int classes)
    {
        var b = bank.Select(Unit).ToArray();
        return queries.Select(q =>
        {
            var u = Unit(q);
            var neighbours = b.Select((row, i) => (Similarity: row.Zip(u, (x, y) => x * y).Sum(), Label: labels[i]))
                .OrderByDescending(n => n.Similarity).Take(k);
            var votes = new double[classes];
            foreach (var (similarity, label) in neighbours)
            {
                votes[label] += Math.Exp(similarity / tau);
            }

            return Array.IndexOf(votes, votes.Max());
        }).ToArray();
    }

    [TestCase(5, 0.07)]
    [TestCase(20, 0.5)]
    [TestCase(200, 0.1)]
    public void Knn_MatchesNaiveLoop(int k, double tau)
    {
        using var scope = NewDisposeScope();
        var bank = randn([60, 8], generator: new Generator(1));
        var queries = randn([25, 8], generator: new Generator(2));
        int[] labels = Enumerable.Range(0, 60).Select(i => (i * 7) % 4).ToArray();

        int[] predicted = new KnnClassifier(k, tau).Predict(bank, labels, 4, queries);

        Assert.That(predicted, Is.EqualTo(NaiveKnn(Rows(bank), labels, Rows(queries), Math.Min(k, 60), tau, 4)));
    }

    [TestCase(5, 0.07)]
    [TestCase(100, 0.2)]
    public void LeaveOneOut_MatchesTheNaiveVoteWithEachImageLeftOutOfTheBank(int k, double tau)
    {
        using var scope = NewDisposeScope();
        var features = randn([40, 6], generator: new Generator(3));
        int[] labels = Enumerable.Range(0, 40).Select(i => (i * 5) % 3).ToArray();
        double[][] rows = Rows(features);
        int correct = 0;
        for (int i = 0; i < rows.Length; i++)
        {
            var others = rows.Where((_, j) => j != i).ToArray();
            var otherLabels = labels.Where((_, j) => j != i).ToArray();
            correct += NaiveKnn(others, otherLabels, [rows[i]], Math.Min(k, 39), tau, 3)[0] == labels[i] ? 1 : 0;
        }

        double accuracy = new KnnClassifier(k, tau).LeaveOneOutAccuracy(features, labels, 3);

        Assert.That(accuracy, Is.EqualTo(correct / 40.0).Within(1e-12));
    }

    [Test]
    public void LeaveOneOut_DuplicatedImagesVoteForEachOther()
    {
        // Each image appears twice: with itself excluded, its twin (similarity 1) dominates the vote.
        using var scope = NewDisposeScope();
        var half = randn([15, 4], generator: new Generator(4));
        var features = cat([half, half], 0);
        int[] labels = [.. Enumerable.Range(0, 15).Select(i => i % 4), .. Enumerable.Range(0, 15).Select(i => i % 4)];

        Assert.That(new KnnClassifier(k: 1).LeaveOneOutAccuracy(features, labels, 4), Is.EqualTo(1.0));
    }

    [Test]
    public void Knn_Accuracy_OnPerfectlyClusteredFeaturesIsOne()
    {
        using var scope = NewDisposeScope();
        var centres = eye(3, 5) * 10;
        var bank = cat([centres.repeat_interleave(10, 0), randn(30, 5) * 0.1], 1);
        var queries = cat([centres.repeat_interleave(4, 0), randn(12, 5) * 0.1], 1);
        int[] bankLabels = Enumerable.Range(0, 30).Select(i => i / 10).ToArray();
        int[] queryLabels = Enumerable.Range(0, 12).Select(i => i / 4).ToArray();

        Assert.That(new KnnClassifier(k: 5).Accuracy(bank, bankLabels, 3, queries, queryLabels), Is.EqualTo(1.0));
    }

    [Test]
    public void Knn_LabelOutOfRange_NamesIndex()
    {
        using var scope = NewDisposeScope();

        var e = Assert.Throws<ArgumentException>(() => new KnnClassifier().Predict(randn(3, 2), [0, 5, 1], 3, randn(1, 2)));

        Assert.That(e!.Message, Does.Contain("label 5 at index 1"));
    }

    [Test]
    public void RankMe_OrthonormalMatrixIsFull_RankOneIsOne()
    {
        using var scope = NewDisposeScope();
        var orthonormal = linalg.qr(randn([40, 8], dtype: ScalarType.Float64, generator: new Generator(3))).Q; // 40×8, orthonormal columns
        var rankOne = randn(40, 1, dtype: ScalarType.Float64).matmul(randn(1, 8, dtype: ScalarType.Float64));

        Assert.That(RepresentationMonitors.RankMe(orthonormal), Is.EqualTo(8).Within(1e-4));
        Assert.That(RepresentationMonitors.RankMe(rankOne), Is.EqualTo(1).Within(1e-3));
    }

    [Test]
    public void Alignment_IsTheMeanSquaredDistanceOfNormalisedPairs()
    {
        using var scope = NewDisposeScope();
        var a = tensor(new double[] { 2, 0, 0, 3 }, [2, 2]);
        var b = tensor(new double[] { 0, 5, 0, 1 }, [2, 2]);

        // Pair 1: (1,0) vs (0,1) → ‖·‖² = 2. Pair 2: (0,1) vs (0,1) → 0. Mean 1.
        Assert.That(RepresentationMonitors.Alignment(a, b), Is.EqualTo(1.0).Within(1e-12));
    }

    [Test]
    public void Uniformity_MatchesTheFormulaOverAllPairs()
    {
        using var scope = NewDisposeScope();
        var z = randn([7, 3], dtype: ScalarType.Float64, generator: new Generator(4));
        var unit = Rows(z).Select(Unit).ToArray();
        var terms = new List<double>();
        for (int i = 0; i < 7; i++)
        {
            for (int j = i + 1; j < 7; j++)
            {
                double d2 = unit[i].Zip(unit[j], (x, y) => (x - y) * (x - y)).Sum();
                terms.Add(Math.Exp(-2 * d2));
            }
        }

        Assert.That(RepresentationMonitors.Uniformity(z), Is.EqualTo(Math.Log(terms.Average())).Within(1e-10));
    }
}
