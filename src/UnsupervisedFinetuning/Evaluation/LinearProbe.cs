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
/// <c>(1/n)·Σ CE(xW + b, y) + (λ/2)·‖W‖²</c> (the bias is not penalised) in float64 by L-BFGS (memory 10)
/// with a backtracking Armijo line search. The problem is convex (strictly so in W for λ &gt; 0), so this
/// reaches its optimum; the grid of λ is solved from strong to weak regularisation, each fit starting from
/// the previous solution. λ is chosen on a validation split, then the model is refitted on train ∪ validation.
/// </summary>
public sealed class LinearProbe
{
    /// <summary>Creates the probe.</summary>
    /// <param name="l2Grid">λ values to try (default 10⁻⁶ … 10⁰ by decades).</param>
    /// <param name="maxIterations">L-BFGS iteration cap per fit (default 500).</param>
    /// <param name="tolerance">Stop when the gradient's max-norm falls below this (default 1e-6).</param>
    public LinearProbe(IReadOnlyList<double>? l2Grid = null, int maxIterations = 500, double tolerance = 1e-6)
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
        LinearModel? previous = null;
        OnOneThread(() =>
        {
            // Standardise and encode the training split once; every λ of the grid solves on the same data.
            using var data = Standardized.Create(trainFeatures, trainLabels, classCount);
            try
            {
                foreach (double l2 in L2Grid.OrderByDescending(l => l))
                {
                    var model = Solve(data, l2, previous);
                    previous?.Dispose();
                    previous = model;
                    scores.Add((l2, model.Accuracy(validationFeatures, validationLabels)));
                }
            }
            finally
            {
                previous?.Dispose();
            }
        });

        scores = [.. L2Grid.Select(l => scores.First(s => s.L2 == l))];

        // Best validation accuracy; among ties the strongest regularisation (the simpler model).
        var best = scores.OrderByDescending(s => s.Accuracy).ThenByDescending(s => s.L2).First();
        using var all = cat([trainFeatures.to(ScalarType.Float32), validationFeatures.to(ScalarType.Float32)], 0);
        var final = Train(all, [.. trainLabels, .. validationLabels], classCount, best.L2);
        return new LinearProbeResult(best.L2, best.Accuracy, scores, final);
    }

    /// <summary>Trains one model with L2 strength <paramref name="l2"/> on features [N, D].</summary>
    /// <param name="features">Raw features [N, D]; standardised inside with their own mean and (population) std.</param>
    /// <param name="labels">One class per row.</param>
    /// <param name="classCount">Number of classes.</param>
    /// <param name="l2">λ.</param>
    /// <param name="warmStart">A model trained on the same features to start from (its standardisation must match).</param>
    /// <exception cref="ArgumentException">Label count differs from N, or a label is outside [0, classCount).</exception>
    public LinearModel Train(Tensor features, IReadOnlyList<int> labels, int classCount, double l2, LinearModel? warmStart = null)
    {
        LinearModel? model = null;
        OnOneThread(() =>
        {
            using var data = Standardized.Create(features, labels, classCount);
            model = Solve(data, l2, warmStart);
        });
        return model!;
    }

    // The probe's operations are small ([N,D]·[D,C] with C ≈ 10): OpenMP fork/join costs more than it
    // saves, and under any CPU contention it costs ten times more. Run them on one thread.
    private static void OnOneThread(Action work)
    {
        int threads = get_num_threads();
        set_num_threads(1);
        try
        {
            work();
        }
        finally
        {
            set_num_threads(threads);
        }
    }

    private LinearModel Solve(Standardized data, double l2, LinearModel? warmStart)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        long d = data.X.shape[1];
        int classCount = (int)data.Y.shape[1];
        var problem = new Problem(data.X, data.Y, l2, d, classCount);
        var start = warmStart is not null && warmStart.Weights.shape.SequenceEqual(new[] { d, (long)classCount })
            ? cat([warmStart.Weights.flatten(), warmStart.Bias], 0)
            : zeros((d * classCount) + classCount, ScalarType.Float64);
        var (theta, objective, iterations) = Lbfgs(problem, start);
        var w = theta.narrow(0, 0, d * classCount).view(d, classCount).clone();
        var b = theta.narrow(0, d * classCount, classCount).clone();
        return new LinearModel(w.MoveToOuterDisposeScope(), b.MoveToOuterDisposeScope(), data.Mean.clone().MoveToOuterDisposeScope(), data.Std.clone().MoveToOuterDisposeScope(), l2, iterations, objective);
    }

    /// <summary>A training set ready for the solver: float64 features standardised by their own mean and (population) std, one-hot labels.</summary>
    private sealed record Standardized(Tensor X, Tensor Y, Tensor Mean, Tensor Std) : IDisposable
    {
        /// <exception cref="ArgumentException">Label count differs from N, or a label is outside [0, classCount).</exception>
        public static Standardized Create(Tensor features, IReadOnlyList<int> labels, int classCount)
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
            var raw = features.to(ScalarType.Float64).cpu();
            var mean = raw.mean([0]);
            var std = raw.std(dimensions: [0], unbiased: false);
            std = where(std.gt(1e-12), std, ones_like(std));
            var x = (raw - mean) / std;
            var y = F.one_hot(tensor(labels.Select(l => (long)l).ToArray()), classCount).to(ScalarType.Float64); // [N,C]
            return new Standardized(x.DetachFromDisposeScope(), y.DetachFromDisposeScope(), mean.DetachFromDisposeScope(), std.DetachFromDisposeScope());
        }

        public void Dispose()
        {
            X.Dispose();
            Y.Dispose();
            Mean.Dispose();
            Std.Dispose();
        }
    }

    /// <summary>L-BFGS (two-loop recursion) with Armijo backtracking; returns the optimum, its objective and the iterations.</summary>
    private (Tensor Theta, double Objective, int Iterations) Lbfgs(Problem problem, Tensor start)
    {
        const int Memory = 10;
        var history = new List<(Tensor S, Tensor Y, double Rho)>();
        var theta = start.clone().DetachFromDisposeScope();
        var (f, g) = problem.Evaluate(theta);
        g = g.DetachFromDisposeScope();
        int iteration = 0;
        try
        {
            for (; iteration < MaxIterations; iteration++)
            {
                using var iterationScope = NewDisposeScope();
                if (g.abs().max().item<double>() < Tolerance)
                {
                    break;
                }

                // Two-loop recursion: direction = −H·g with H the L-BFGS inverse-Hessian estimate.
                var q = g.clone();
                var alphas = new double[history.Count];
                for (int i = history.Count - 1; i >= 0; i--)
                {
                    alphas[i] = history[i].Rho * history[i].S.dot(q).item<double>();
                    q.add_(history[i].Y, alpha: -alphas[i]);
                }

                if (history.Count > 0)
                {
                    var (sLast, yLast, _) = history[^1];
                    q.mul_(sLast.dot(yLast).item<double>() / yLast.dot(yLast).item<double>());
                }

                for (int i = 0; i < history.Count; i++)
                {
                    double beta = history[i].Rho * history[i].Y.dot(q).item<double>();
                    q.add_(history[i].S, alpha: alphas[i] - beta);
                }

                var direction = -q;
                double slope = g.dot(direction).item<double>();
                if (!(slope < 0))
                {
                    // Not a descent direction (numerical trouble): fall back to steepest descent.
                    ClearHistory(history);
                    direction = -g;
                    slope = -g.dot(g).item<double>();
                }

                double step = history.Count == 0 ? Math.Min(1.0, 1.0 / Math.Max(g.abs().sum().item<double>(), 1e-12)) : 1.0;
                Tensor next;
                double fNext;
                Tensor gNext;
                int halvings = 0;
                while (true)
                {
                    next = theta + (step * direction);
                    (fNext, gNext) = problem.Evaluate(next);
                    if (fNext <= f + (1e-4 * step * slope) || halvings++ >= 40)
                    {
                        break;
                    }

                    step *= 0.5;
                }

                var s = (next - theta).DetachFromDisposeScope();
                var yDiff = (gNext - g).DetachFromDisposeScope();
                double sy = s.dot(yDiff).item<double>();
                if (sy > 1e-12)
                {
                    history.Add((s, yDiff, 1.0 / sy));
                    if (history.Count > Memory)
                    {
                        history[0].S.Dispose();
                        history[0].Y.Dispose();
                        history.RemoveAt(0);
                    }
                }
                else
                {
                    s.Dispose();
                    yDiff.Dispose();
                }

                theta.Dispose();
                g.Dispose();
                theta = next.DetachFromDisposeScope();
                g = gNext.DetachFromDisposeScope();
                bool stalled = Math.Abs(f - fNext) <= 1e-15 * Math.Max(1.0, Math.Abs(f));
                f = fNext;
                if (stalled)
                {
                    iteration++;
                    break;
                }
            }

            return (theta.MoveToOuterDisposeScope(), f, iteration);
        }
        finally
        {
            g.Dispose();
            ClearHistory(history);
        }
    }

    private static void ClearHistory(List<(Tensor S, Tensor Y, double Rho)> history)
    {
        foreach (var (s, y, _) in history)
        {
            s.Dispose();
            y.Dispose();
        }

        history.Clear();
    }

    /// <summary>The objective and its gradient at a flat parameter vector θ = [vec(W); b].</summary>
    private sealed class Problem(Tensor x, Tensor y, double l2, long d, int classes)
    {
        public (double Value, Tensor Gradient) Evaluate(Tensor theta)
        {
            var w = theta.narrow(0, 0, d * classes).view(d, classes);
            var b = theta.narrow(0, d * classes, classes);
            var logProbabilities = x.matmul(w).add(b).log_softmax(1);                 // [N,C]
            long n = x.shape[0];
            double value = (-(y * logProbabilities).sum().item<double>() / n) + (0.5 * l2 * w.pow(2).sum().item<double>());
            var residual = (logProbabilities.exp() - y) / n;                           // ∂(mean CE)/∂logits
            var gradient = cat([(x.t().matmul(residual) + (l2 * w)).flatten(), residual.sum(dim: 0)], 0);
            return (value, gradient);
        }
    }
}
