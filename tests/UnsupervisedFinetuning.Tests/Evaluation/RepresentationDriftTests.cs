using UnsupervisedFinetuning.Evaluation;
using static TorchSharp.torch;

namespace UnsupervisedFinetuning.Tests.Evaluation;

[TestFixture]
public sealed class RepresentationDriftTests
{
    private static Tensor Random(long n, long d, long seed)
    {
        random.manual_seed(seed);
        return randn(n, d, ScalarType.Float64);
    }

    /// <summary>The kernel form of linear CKA, with the centring matrix H = I − 11ᵀ/n: HSIC(K,L)/√(HSIC(K,K)·HSIC(L,L)), K = XXᵀ, L = YYᵀ.</summary>
    private static double KernelCka(Tensor x, Tensor y)
    {
        long n = x.shape[0];
        var h = eye(n, dtype: ScalarType.Float64) - (ones(n, n, ScalarType.Float64) / n);
        double Hsic(Tensor k, Tensor l) => k.matmul(h).matmul(l).matmul(h).trace().item<double>();
        var kx = x.matmul(x.t());
        var ly = y.matmul(y.t());
        return Hsic(kx, ly) / Math.Sqrt(Hsic(kx, kx) * Hsic(ly, ly));
    }

    [Test]
    public void LinearCka_EqualsTheKernelFormulation()
    {
        var x = Random(50, 8, 1);
        var y = x.matmul(Random(8, 5, 2)) + (0.5 * Random(50, 5, 3)); // related, of another width

        Assert.That(RepresentationDrift.LinearCka(x, y), Is.EqualTo(KernelCka(x, y)).Within(1e-10));
        Assert.That(RepresentationDrift.LinearCka(x, Random(50, 6, 4)), Is.EqualTo(KernelCka(x, Random(50, 6, 4))).Within(1e-10));
    }

    [Test]
    public void LinearCka_RotationScaleAndShift_LeaveItAtOne()
    {
        var x = Random(40, 6, 5);
        var (q, _) = linalg.qr(Random(6, 6, 6));                           // an orthogonal matrix

        Assert.That(RepresentationDrift.LinearCka(x, (3.5 * x.matmul(q)) + 7), Is.EqualTo(1.0).Within(1e-10));
        Assert.That(RepresentationDrift.LinearCka(x, Random(40, 6, 7)), Is.LessThan(0.5), "unrelated features");
    }

    [Test]
    public void NeighbourhoodPreservation_EqualsTheSetCountingReference()
    {
        var before = Random(30, 4, 8);
        var after = before + (0.6 * Random(30, 4, 9));
        const int K = 5;

        double Reference()
        {
            int[][] Nearest(Tensor f)
            {
                var z = nn.functional.normalize(f, dim: 1);
                var s = z.matmul(z.t());
                return Enumerable.Range(0, 30).Select(i => Enumerable.Range(0, 30).Where(j => j != i)
                    .OrderByDescending(j => s[i, j].item<double>()).Take(K).ToArray()).ToArray();
            }

            var a = Nearest(before);
            var b = Nearest(after);
            return Enumerable.Range(0, 30).Average(i => a[i].Intersect(b[i]).Count() / (double)K);
        }

        Assert.That(RepresentationDrift.NeighbourhoodPreservation(before, after, K), Is.EqualTo(Reference()).Within(1e-12));
    }

    [Test]
    public void NeighbourhoodPreservation_SameRepresentationIsOne_UnrelatedIsAboutChance()
    {
        var before = Random(400, 16, 10);

        Assert.That(RepresentationDrift.NeighbourhoodPreservation(before, 2 * before, 10), Is.EqualTo(1.0));
        // Unrelated features keep k/(N−1) = 10/399 = 0.025 of each neighbourhood on average.
        Assert.That(RepresentationDrift.NeighbourhoodPreservation(before, Random(400, 16, 11), 10), Is.EqualTo(10.0 / 399).Within(0.01));
    }

    [Test]
    public void Mismatched_RowCounts_AreNamed()
    {
        var e = Assert.Throws<ArgumentException>(() => RepresentationDrift.LinearCka(Random(10, 3, 1), Random(11, 3, 2)));

        Assert.That(e!.Message, Does.Contain("same N").And.Contain("[10,3]").And.Contain("[11,3]"));
    }
}
