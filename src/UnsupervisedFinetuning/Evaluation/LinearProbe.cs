using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace UnsupervisedFinetuning.Evaluation;

/// <summary>The probe's choice of L2 strength and its accuracy.</summary>
/// <param name="L2">The λ that scored best on the validation split.</param>
/// <param name="ValidationAccuracy">Validation accuracy of the model trained with that λ on the train split.</param>
/// <param name="ValidationAccuracies">Validation accuracy of every λ tried, in grid order.</param>
/// <param name="Model">The final model, refitted on train ∪ validation with the chosen λ.</param>
public sealed record LinearProbeResult(double L2, double ValidationAccuracy, IReadOnlyList<(double L2, double Accuracy)> ValidationAccuracies, LinearModel Model);

/// <summary>
/// Linear probe: multinomial logistic regression on frozen, standardised features, minimising
/// <c>(1/n)·Σ CE(xW + b, y) + (λ/2)·‖W‖²</c> (the bias is not penalised) in float64 by Nesterov-accelerated
/// gradient descent with step 1/L, where L = ‖[X 1]‖₂²/(2n) + λ bounds the curvature (the softmax
/// cross-entropy's Hessian in the logits is at most ½·I); the problem is convex, so this reaches its unique
/// optimum. λ is chosen on a validation split, then the model is refitted on train ∪ validation.
/// </summary>
public sealed class LinearProbe
{
    /// <summary>Creates the probe.</summary>
    /// <param name="l2Grid">λ values to try (default 10⁻⁶ … 10⁰ by decades).</param>
    /// <param name="maxIterations">Iteration cap per fit (default 2000).</param>
    /// <param name="tolerance">Stop when the gradient's max-norm falls below this (default 1e-7).</param>
    public LinearProbe(IReadOnlyList<double>? l2Grid = null, int maxIterations = 2000, double tolerance = 1e-7)
    {
        L2Grid = l2Grid ?? [1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 1e-1, 1];
        if (L2Grid.Count == 0 || L2Grid.Any(l => !(l >= 0) || double.IsInfinity(l)))
        {
            throw new ArgumentOutOfRangeException(nameof(l2Grid), "The L2 grid needs at least one finite value ≥ 0.");
        }

        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxIterations);
        MaxIterations = maxIterations;
        Tolerance = tolerance;
    }

    /// <summary>λ values tried.</summary>
    public IReadOnlyList<double> L2Grid { get; }

    /// <summary>Iteration cap per fit.</summary>
    public int MaxIterations { get; }

    /// <summary>Gradient tolerance.</summary>
    public double Tolerance { get; }

    /// <summary>Chooses λ on the validation split and refits on train ∪ validation.</summary>
    public LinearProbeResult Fit(Tensor trainFeatures, IReadOnlyList<int> trainLabels, Tensor validationFeatures, IReadOnlyList<int> validationLabels, int classCount)
    {
        ArgumentNullException.ThrowIfNull(trainFeatures);
        ArgumentNullException.ThrowIfNull(validationFeatures);
        var scores = new List<(double L2, double Accuracy)>();
        foreach (double l2 in L2Grid)
        {
            using var model = Train(trainFeatures, trainLabels, classCount, l2);
            scores.Add((l2, model.Accuracy(validationFeatures, validationLabels)));
        }

        // Best validation accuracy; among ties the strongest regularisation (the simpler model).
        var best = scores.OrderByDescending(s => s.Accuracy).ThenByDescending(s => s.L2).First();
        using var all = cat([trainFeatures.to(ScalarType.Float32), validationFeatures.to(ScalarType.Float32)], 0);
        var final = Train(all, [.. trainLabels, .. validationLabels], classCount, best.L2);
        return new LinearProbeResult(best.L2, best.Accuracy, scores, final);
    }

    /// <summary>Trains one model with L2 strength <paramref name="l2"/> on features [N, D].</summary>
    /// <exception cref="ArgumentException">Label count differs from N, or a label is outside [0, classCount).</exception>
    public LinearModel Train(Tensor features, IReadOnlyList<int> labels, int classCount, double l2)
    {
        ArgumentNullException.ThrowIfNull(features);
        ArgumentNullException.ThrowIfNull(labels);
        if (features.dim() != 2 || features.shape[0] != labels.Count)
        {
            throw new ArgumentException($"Features [{string.Join(",", features.shape)}] need one label per row; got {labels.Count} labels.", nameof(labels));
        }

        int bad = labels.ToList().FindIndex(l => l < 0 || l >= classCount);
        if (bad >= 0)
        {
            throw new ArgumentException($"Label {labels[bad]} at index {bad} is outside [0, {classCount}).", nameof(labels));
        }

        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        long n = features.shape[0];
        long d = features.shape[1];
        var raw = features.to(ScalarType.Float64).cpu();
        var mean = raw.mean([0]);
        var std = raw.std(dimensions: [0], unbiased: false);
        std = where(std.gt(1e-12), std, ones_like(std));
        var x = (raw - mean) / std;
        var y = F.one_hot(tensor(labels.Select(l => (long)l).ToArray()), classCount).to(ScalarType.Float64); // [N,C]

        double lipschitz = (SpectralNormSquared(cat([x, ones(n, 1, ScalarType.Float64)], 1)) / (2.0 * n)) + l2;
        double step = 1.0 / (lipschitz * 1.01);

        var w = zeros(d, classCount, ScalarType.Float64);
        var b = zeros(classCount, ScalarType.Float64);
        var wPrev = w.clone();
        var bPrev = b.clone();
        double t = 1;
        int iteration = 0;
        double objective = double.NaN;
        for (; iteration < MaxIterations; iteration++)
        {
            // Nesterov extrapolation, then a gradient step from the extrapolated point.
            double tNext = (1 + Math.Sqrt(1 + (4 * t * t))) / 2;
            double beta = (t - 1) / tNext;
            var wLook = w + (beta * (w - wPrev));
            var bLook = b + (beta * (b - bPrev));
            var (gradW, gradB) = Gradient(x, y, wLook, bLook, l2, n);
            wPrev = w;
            bPrev = b;
            w = wLook - (step * gradW);
            b = bLook - (step * gradB);
            t = tNext;
            if (iteration % 25 == 24)
            {
                var (gw, gb) = Gradient(x, y, w, b, l2, n);
                double g = Math.Max(gw.abs().max().item<double>(), gb.abs().max().item<double>());
                if (g < Tolerance)
                {
                    iteration++;
                    break;
                }

                // Adaptive restart (O'Donoghue and Candès 2015) keeps the momentum from overshooting.
                double current = Objective(x, y, w, b, l2, n);
                if (current > objective)
                {
                    t = 1;
                }

                objective = current;
            }
        }

        objective = Objective(x, y, w, b, l2, n);
        return new LinearModel(w.MoveToOuterDisposeScope(), b.MoveToOuterDisposeScope(), mean.MoveToOuterDisposeScope(), std.MoveToOuterDisposeScope(), l2, iteration, objective);
    }

    private static (Tensor Weights, Tensor Bias) Gradient(Tensor x, Tensor y, Tensor w, Tensor b, double l2, long n)
    {
        var residual = (x.matmul(w).add(b).softmax(1) - y) / n; // ∂(mean CE)/∂logits
        return (x.t().matmul(residual) + (l2 * w), residual.sum(dim: 0));
    }

    private static double Objective(Tensor x, Tensor y, Tensor w, Tensor b, double l2, long n)
    {
        using var scope = NewDisposeScope();
        var logProbabilities = x.matmul(w).add(b).log_softmax(1);
        double ce = -(y * logProbabilities).sum().item<double>() / n;
        return ce + (0.5 * l2 * w.pow(2).sum().item<double>());
    }

    private static double SpectralNormSquared(Tensor x)
    {
        // Power iteration on XᵀX from a fixed start (deterministic); 50 rounds are ample for a step bound.
        var v = ones(x.shape[1], 1, ScalarType.Float64) / Math.Sqrt(x.shape[1]);
        double estimate = 0;
        for (int i = 0; i < 50; i++)
        {
            var u = x.t().matmul(x.matmul(v));
            estimate = u.norm().item<double>();
            v = u / Math.Max(estimate, 1e-300);
        }

        return estimate;
    }
}
