using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace UnsupervisedFinetuning.Evaluation;

/// <summary>
/// How far a representation moved, without labels: two backbones' features of the same images (rows in the same
/// order) compared directly. On a probe set of source images these stand in for forgetting when the source has
/// no labels: 1 means nothing moved, lower means the finetuned backbone sees the source differently.
/// </summary>
public static class RepresentationDrift
{
    /// <summary>
    /// Linear CKA (Kornblith et al. 2019): with X [N, D₁] and Y [N, D₂] column-centred,
    /// CKA = ‖YᵀX‖²_F / (‖XᵀX‖_F · ‖YᵀY‖_F), in [0, 1]. Invariant to rotations and isotropic scaling of either
    /// side, so it compares what the two representations encode, not their coordinates; widths may differ.
    /// </summary>
    /// <exception cref="ArgumentException">The matrices are not [N, ·] with the same N ≥ 2, or one of them is constant.</exception>
    public static double LinearCka(Tensor before, Tensor after)
    {
        CheckPair(before, after, 2, "Linear CKA");
        using var scope = NewDisposeScope();
        var x = Centred(before);
        var y = Centred(after);
        double cross = y.t().matmul(x).square().sum().item<double>();
        double selfX = x.t().matmul(x).norm().item<double>();
        double selfY = y.t().matmul(y).norm().item<double>();
        if (selfX == 0 || selfY == 0)
        {
            throw new ArgumentException("Linear CKA is undefined when every row of one side is the same (its centred features are zero).", selfX == 0 ? nameof(before) : nameof(after));
        }

        return cross / (selfX * selfY);
    }

    /// <summary>
    /// Neighbourhood preservation: for each image, the share of its k nearest neighbours under
    /// <paramref name="before"/> (cosine similarity, itself excluded) that are still among its k nearest under
    /// <paramref name="after"/>; averaged over images. 1 when every neighbourhood is kept; about k/(N−1) for
    /// unrelated representations.
    /// </summary>
    /// <exception cref="ArgumentException">The matrices are not [N, ·] with the same N, or k is not in [1, N−1].</exception>
    public static double NeighbourhoodPreservation(Tensor before, Tensor after, int k = 10)
    {
        CheckPair(before, after, k + 1, "Neighbourhood preservation");
        ArgumentOutOfRangeException.ThrowIfLessThan(k, 1);
        using var scope = NewDisposeScope();
        var a = Neighbours(before, k);                                                  // [N, k]
        var b = Neighbours(after, k);                                                   // [N, k]
        var shared = a.unsqueeze(2).eq(b.unsqueeze(1)).any(2).sum(1);                   // [N]: |N_k(a,i) ∩ N_k(b,i)|
        return shared.to(ScalarType.Float64).mean().item<double>() / k;
    }

    // Indices [N, k] of each row's k most cosine-similar other rows, a block of rows at a time so that the
    // N × N similarities are never held at once (2,048 rows: 8 MB for N = 1,000 in float32).
    private static Tensor Neighbours(Tensor features, int k)
    {
        const long Block = 2048;
        var z = F.normalize(features.to(ScalarType.Float32), dim: 1);
        long n = z.shape[0];
        var parts = new List<Tensor>();
        for (long start = 0; start < n; start += Block)
        {
            long count = Math.Min(Block, n - start);
            var similarity = z.narrow(0, start, count).matmul(z.t());                   // [count, N]
            similarity.index_put_(float.NegativeInfinity, arange(count), arange(start, start + count)); // not its own neighbour
            parts.Add(similarity.topk(k, dim: 1).indexes);
        }

        return cat(parts, 0);
    }

    private static Tensor Centred(Tensor features)
    {
        var x = features.to(ScalarType.Float64);
        return x - x.mean([0], keepdim: true);
    }

    private static void CheckPair(Tensor before, Tensor after, long minimumRows, string what)
    {
        ArgumentNullException.ThrowIfNull(before);
        ArgumentNullException.ThrowIfNull(after);
        if (before.dim() != 2 || after.dim() != 2 || before.shape[0] != after.shape[0])
        {
            throw new ArgumentException($"{what} needs two feature matrices [N,D] of the same images (same N); got [{string.Join(",", before.shape)}] and [{string.Join(",", after.shape)}].", nameof(after));
        }

        if (before.shape[0] < minimumRows)
        {
            throw new ArgumentException($"{what} needs at least {minimumRows} images here; got {before.shape[0]}.", nameof(before));
        }
    }
}
