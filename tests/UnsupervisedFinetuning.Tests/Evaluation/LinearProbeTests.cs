using UnsupervisedFinetuning.Evaluation;
using static TorchSharp.torch;

namespace UnsupervisedFinetuning.Tests.Evaluation;

[TestFixture]
public sealed class LinearProbeTests
{
    [Test]
    public void Train_SymmetricTwoPointProblem_ReachesTheClosedFormOptimum()
    {
        // x = +1 (class 1) and x = −1 (class 0): standardisation leaves them as they are. By symmetry b = 0 and
        // w₁ = −w₀ = a/2, so the objective is log(1 + e^(−a)) + λa²/4, minimised where λa/2 = 1/(1 + e^a).
        const double Lambda = 0.1;
        double lo = 0;
        double hi = 50;
        for (int i = 0; i < 200; i++)
        {
            double mid = (lo + hi) / 2;
            if ((Lambda * mid / 2) - (1 / (1 + Math.Exp(mid))) < 0)
            {
                lo = mid;
            }
            else
            {
                hi = mid;
            }
        }

        double optimum = (lo + hi) / 2;
        using var scope = NewDisposeScope();
        var x = tensor(new float[] { 1, -1 }, [2, 1]);

        using var model = new LinearProbe(maxIterations: 20000, tolerance: 1e-12).Train(x, [1, 0], 2, Lambda);

        double w0 = model.Weights[0, 0].item<double>();
        double w1 = model.Weights[0, 1].item<double>();
        Assert.That(w1 - w0, Is.EqualTo(optimum).Within(1e-6));
        Assert.That(w1 + w0, Is.EqualTo(0).Within(1e-6));
        Assert.That(model.Bias[1].item<double>() - model.Bias[0].item<double>(), Is.EqualTo(0).Within(1e-6));
    }

    [Test]
    public void Train_SeparableProblem_ClassifiesEveryPointCorrectly()
    {
        using var scope = NewDisposeScope();
        var centres = tensor(new float[] { 4, 0, -4, 0, 0, 4 }, [3, 2]);
        var x = centres.repeat_interleave(20, 0) + (randn([60, 2], generator: new Generator(5)) * 0.5f);
        int[] y = Enumerable.Range(0, 60).Select(i => i / 20).ToArray();

        using var model = new LinearProbe().Train(x, y, 3, l2: 1e-4);

        Assert.That(model.Accuracy(x, y), Is.EqualTo(1.0));
    }

    [Test]
    public void Train_SmallRandomProblem_MatchesNaiveGradientDescent()
    {
        const int N = 30;
        const int D = 3;
        const int C = 3;
        const double Lambda = 0.1;
        var random = new SeededRandom(6);
        double[,] raw = new double[N, D];
        int[] y = new int[N];
        for (int i = 0; i < N; i++)
        {
            y[i] = i % C;
            for (int j = 0; j < D; j++)
            {
                raw[i, j] = random.NextGaussian() + (j == y[i] ? 1.5 : 0);
            }
        }

        // Naive reference: standardise with the population std, then plain gradient descent to convergence.
        var x = new double[N, D];
        for (int j = 0; j < D; j++)
        {
            double mean = Enumerable.Range(0, N).Average(i => raw[i, j]);
            double std = Math.Sqrt(Enumerable.Range(0, N).Average(i => (raw[i, j] - mean) * (raw[i, j] - mean)));
            for (int i = 0; i < N; i++)
            {
                x[i, j] = (raw[i, j] - mean) / std;
            }
        }

        var w = new double[D, C];
        var b = new double[C];
        for (int iteration = 0; iteration < 20000; iteration++)
        {
            var gw = new double[D, C];
            var gb = new double[C];
            for (int i = 0; i < N; i++)
            {
                var logits = Enumerable.Range(0, C).Select(c => b[c] + Enumerable.Range(0, D).Sum(j => x[i, j] * w[j, c])).ToArray();
                double max = logits.Max();
                double z = logits.Sum(l => Math.Exp(l - max));
                for (int c = 0; c < C; c++)
                {
                    double r = (Math.Exp(logits[c] - max) / z) - (c == y[i] ? 1 : 0);
                    gb[c] += r / N;
                    for (int j = 0; j < D; j++)
                    {
                        gw[j, c] += x[i, j] * r / N;
                    }
                }
            }

            for (int c = 0; c < C; c++)
            {
                b[c] -= 0.5 * gb[c];
                for (int j = 0; j < D; j++)
                {
                    w[j, c] -= 0.5 * (gw[j, c] + (Lambda * w[j, c]));
                }
            }
        }

        using var scope = NewDisposeScope();
        var features = tensor(Enumerable.Range(0, N * D).Select(k => (float)raw[k / D, k % D]).ToArray(), [N, D]);
        using var model = new LinearProbe(maxIterations: 20000, tolerance: 1e-12).Train(features, y, C, Lambda);

        for (int j = 0; j < D; j++)
        {
            for (int c = 0; c < C; c++)
            {
                Assert.That(model.Weights[j, c].item<double>(), Is.EqualTo(w[j, c]).Within(1e-5), $"W[{j},{c}]");
            }
        }

        // The bias is determined up to a constant shift across classes (softmax); compare centred biases.
        double meanB = b.Average();
        double modelMeanB = model.Bias.mean().item<double>();
        for (int c = 0; c < C; c++)
        {
            Assert.That(model.Bias[c].item<double>() - modelMeanB, Is.EqualTo(b[c] - meanB).Within(1e-5), $"b[{c}]");
        }
    }

    [Test]
    public void Fit_ChoosesTheL2StrengthOnValidation_AndReportsEveryCandidate()
    {
        using var scope = NewDisposeScope();
        var centres = tensor(new float[] { 2, 0, -2, 0 }, [2, 2]);
        var train = centres.repeat_interleave(15, 0) + (randn([30, 2], generator: new Generator(7)) * 1.5f);
        var validation = centres.repeat_interleave(15, 0) + (randn([30, 2], generator: new Generator(8)) * 1.5f);
        int[] labels = Enumerable.Range(0, 30).Select(i => i / 15).ToArray();
        var probe = new LinearProbe([1e-4, 1e-2, 1]);

        var result = probe.Fit(train, labels, validation, labels, 2);

        Assert.That(result.ValidationAccuracies.Select(v => v.L2), Is.EqualTo(new[] { 1e-4, 1e-2, 1 }));
        Assert.That(result.ValidationAccuracy, Is.EqualTo(result.ValidationAccuracies.Max(v => v.Accuracy)));
        Assert.That(result.Model.L2, Is.EqualTo(result.L2));
        result.Model.Dispose();
    }
}
