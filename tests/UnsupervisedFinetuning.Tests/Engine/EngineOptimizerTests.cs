using TorchSharp.Modules;
using UnsupervisedFinetuning.Engine;
using static TorchSharp.torch;

namespace UnsupervisedFinetuning.Tests.Engine;

/// <summary>
/// The engine's optimizers against their update formulas written out in double precision, over three steps
/// with constant gradients (loss = Σ c⊙w + Σ d⊙b, so ∂L/∂w = c and ∂L/∂b = d).
/// </summary>
[TestFixture]
public sealed class EngineOptimizerTests
{
    private static readonly double[] W0 = [0.5, -1.0, 2.0, 0.25, -0.75, 1.5];
    private static readonly double[] B0 = [0.1, -0.2, 0.3];
    private static readonly double[] C = [0.3, -0.1, 0.2, 0.05, 0.4, -0.25];
    private static readonly double[] D = [0.2, 0.1, -0.3];
    private const double Lr = 0.1;
    private const double Momentum = 0.9;
    private const double Decay = 0.01;
    private const double Trust = 0.5;

    [TestCase(OptimizerKind.Sgd)]
    [TestCase(OptimizerKind.AdamW)]
    [TestCase(OptimizerKind.Lars)]
    public void ThreeSteps_MatchTheNaiveUpdateFormula(OptimizerKind kind)
    {
        using var w = new Parameter(tensor(W0.Select(v => (float)v).ToArray(), [2, 3]));
        using var b = new Parameter(tensor(B0.Select(v => (float)v).ToArray()));
        var options = new FinetuneOptions { Optimizer = kind, LearningRate = Lr, OptimizerMomentum = Momentum, WeightDecay = Decay, LarsTrustCoefficient = Trust };
        using var optimizer = new EngineOptimizer([w, b], options);
        using var c = tensor(C.Select(v => (float)v).ToArray(), [2, 3]);
        using var d = tensor(D.Select(v => (float)v).ToArray());
        for (int step = 0; step < 3; step++)
        {
            using var scope = NewDisposeScope();
            optimizer.ZeroGrad();
            ((c * w).sum() + (d * b).sum()).backward();
            optimizer.Step();
        }

        var (expectedW, expectedB) = Naive(kind);
        Assert.That(w.data<float>().ToArray().Select(v => (double)v), Is.EqualTo(expectedW).Within(1e-6), "weights (2-D: decayed, and LARS-adapted under LARS)");
        Assert.That(b.data<float>().ToArray().Select(v => (double)v), Is.EqualTo(expectedB).Within(1e-6), "biases (1-D: LARS neither adapts nor decays them)");
    }

    private static (double[] W, double[] B) Naive(OptimizerKind kind)
    {
        double[] w = [.. W0];
        double[] b = [.. B0];
        return kind switch
        {
            OptimizerKind.Sgd => (Sgd(w, C, Decay), Sgd(b, D, Decay)),
            OptimizerKind.AdamW => (AdamW(w, C), AdamW(b, D)),
            _ => (Lars(w, C), Sgd(b, D, decay: 0)),
        };
    }

    // PyTorch SGD: g ← g + λw; buf ← g at the first step, then μ·buf + g; w ← w − lr·buf.
    private static double[] Sgd(double[] w, double[] grad, double decay)
    {
        var buffer = new double[w.Length];
        for (int t = 0; t < 3; t++)
        {
            for (int i = 0; i < w.Length; i++)
            {
                double g = grad[i] + (decay * w[i]);
                buffer[i] = t == 0 ? g : (Momentum * buffer[i]) + g;
                w[i] -= Lr * buffer[i];
            }
        }

        return w;
    }

    // LARS as SimCLR applies it to weights: g ← g + λw; g ← η‖w‖/‖g‖ · g; then SGD with momentum, no decay.
    private static double[] Lars(double[] w, double[] grad)
    {
        var buffer = new double[w.Length];
        for (int t = 0; t < 3; t++)
        {
            var g = w.Select((v, i) => grad[i] + (Decay * v)).ToArray();
            double ratio = Trust * Norm(w) / Norm(g);
            for (int i = 0; i < w.Length; i++)
            {
                buffer[i] = t == 0 ? ratio * g[i] : (Momentum * buffer[i]) + (ratio * g[i]);
                w[i] -= Lr * buffer[i];
            }
        }

        return w;
    }

    // AdamW (Loshchilov & Hutter): w ← w(1 − lr·λ); m, v moments with bias correction; w ← w − lr·m̂/(√v̂ + ε).
    private static double[] AdamW(double[] w, double[] grad)
    {
        const double Beta2 = 0.999;
        const double Epsilon = 1e-8;
        var m = new double[w.Length];
        var v = new double[w.Length];
        for (int t = 1; t <= 3; t++)
        {
            for (int i = 0; i < w.Length; i++)
            {
                w[i] *= 1 - (Lr * Decay);
                m[i] = (Momentum * m[i]) + ((1 - Momentum) * grad[i]);
                v[i] = (Beta2 * v[i]) + ((1 - Beta2) * grad[i] * grad[i]);
                double mHat = m[i] / (1 - Math.Pow(Momentum, t));
                double vHat = v[i] / (1 - Math.Pow(Beta2, t));
                w[i] -= Lr * mHat / (Math.Sqrt(vHat) + Epsilon);
            }
        }

        return w;
    }

    private static double Norm(double[] v) => Math.Sqrt(v.Sum(x => x * x));
}
