using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace UnsupervisedFinetuning.Evaluation;

/// <summary>
/// Label-free measures of an embedding, usable on the unlabelled target set itself: RankMe (Garrido et al.
/// 2023) and the alignment / uniformity pair of Wang and Isola (2020).
/// </summary>
public static class RepresentationMonitors
{
    /// <summary>
    /// RankMe: the effective rank exp(−Σ p_k log p_k) of an embedding matrix [N, D], with p_k = σ_k/‖σ‖₁ + ε
    /// its normalised singular values. D for a matrix with D equal singular values; 1 for a rank-one matrix.
    /// </summary>
    public static double RankMe(Tensor embeddings, double epsilon = 1e-7)
    {
        ArgumentNullException.ThrowIfNull(embeddings);
        if (embeddings.dim() != 2)
        {
            throw new ArgumentException($"RankMe needs an embedding matrix [N,D]; got [{string.Join(",", embeddings.shape)}].", nameof(embeddings));
        }

        using var scope = NewDisposeScope();
        var sigma = linalg.svdvals(embeddings.to(ScalarType.Float64));
        var p = (sigma / sigma.sum()) + epsilon;
        return (-(p * p.log()).sum()).exp().item<double>();
    }

    /// <summary>
    /// Alignment: E‖f(x) − f(x⁺)‖₂^α over positive pairs (rows of <paramref name="first"/> and <paramref name="second"/>),
    /// on L2-normalised embeddings; lower is better aligned. α = 2 by default.
    /// </summary>
    public static double Alignment(Tensor first, Tensor second, double alpha = 2)
    {
        ArgumentNullException.ThrowIfNull(first);
        ArgumentNullException.ThrowIfNull(second);
        if (!first.shape.SequenceEqual(second.shape) || first.dim() != 2)
        {
            throw new ArgumentException($"Alignment needs two [N,D] embeddings of one shape; got [{string.Join(",", first.shape)}] and [{string.Join(",", second.shape)}].", nameof(second));
        }

        using var scope = NewDisposeScope();
        var a = F.normalize(first.to(ScalarType.Float64), dim: 1);
        var b = F.normalize(second.to(ScalarType.Float64), dim: 1);
        return (a - b).norm(1).pow(alpha).mean().item<double>();
    }

    /// <summary>
    /// Uniformity: log E exp(−t·‖f(x) − f(y)‖₂²) over all pairs of distinct rows, on L2-normalised embeddings;
    /// lower is more uniform on the sphere. t = 2 by default.
    /// </summary>
    public static double Uniformity(Tensor embeddings, double t = 2)
    {
        ArgumentNullException.ThrowIfNull(embeddings);
        if (embeddings.dim() != 2 || embeddings.shape[0] < 2)
        {
            throw new ArgumentException($"Uniformity needs at least two embeddings [N≥2,D]; got [{string.Join(",", embeddings.shape)}].", nameof(embeddings));
        }

        using var scope = NewDisposeScope();
        var z = F.normalize(embeddings.to(ScalarType.Float64), dim: 1);
        long n = z.shape[0];
        var squared = (2 - (2 * z.matmul(z.t()))).clamp_min(0);                     // ‖zi − zj‖² for unit vectors
        var upper = ones(n, n, ScalarType.Bool).triu(1);                             // pairs i < j
        var values = squared.masked_select(upper);
        return ((-t * values).logsumexp(0) - Math.Log(values.shape[0])).item<double>();
    }
}
