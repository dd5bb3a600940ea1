using static TorchSharp.torch;

namespace UnsupervisedFinetuning.Replay;

/// <summary>
/// Replays the source images nearest to the target set in the pretrained feature space: each source image is
/// scored by its highest cosine similarity to any target image, and the best-scored are kept. A share
/// <see cref="UniformFraction"/> of the subset can instead be drawn uniformly from the remaining source images,
/// so that replay still touches the rest of the source representation.
/// </summary>
/// <remarks>
/// The paper motivates replay by the data density around the target; this rule puts the replayed density where
/// the target is. Scoring is chunked over the source rows, so memory beyond the features is O(N + chunk·M) for
/// M target images; time is O(N·M·D).
/// </remarks>
public sealed class TargetNearestReplaySelector : IReplaySelector
{
    private const long ChunkElements = 1 << 22; // 16 MB of similarities at a time

    /// <summary>Creates the rule.</summary>
    /// <param name="uniformFraction">Share of the subset drawn uniformly at random from the source images not chosen as nearest, in [0, 1].</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="uniformFraction"/> is outside [0, 1].</exception>
    public TargetNearestReplaySelector(double uniformFraction = 0)
    {
        if (!(uniformFraction >= 0 && uniformFraction <= 1))
        {
            throw new ArgumentOutOfRangeException(nameof(uniformFraction), uniformFraction, "The uniform share of target-nearest replay must be in [0, 1].");
        }

        UniformFraction = uniformFraction;
    }

    /// <summary>Share of the subset drawn uniformly from the rest; the other round((1 − share)·|S|) images are the nearest.</summary>
    public double UniformFraction { get; }

    /// <inheritdoc />
    public string Name => "target-nearest";

    /// <inheritdoc />
    /// <exception cref="ArgumentException">The context has no source set.</exception>
    public int[] Select(ReplaySelectionContext context, int count)
    {
        ArgumentNullException.ThrowIfNull(context);
        var source = context.Source ?? throw new ArgumentException("Target-nearest replay selection needs a source set.", nameof(context));
        int uniform = (int)Math.Round(UniformFraction * count, MidpointRounding.AwayFromZero);
        int nearestCount = count - uniform;
        int[] nearest;
        using (var scope = NewDisposeScope())
        {
            var scores = NearestSimilarity(context.Features(source), context.Features(context.Target));
            nearest = nearestCount == 0 ? [] : scores.topk(nearestCount).indexes.data<long>().Select(i => (int)i).ToArray();
        }

        if (uniform == 0)
        {
            return nearest;
        }

        // The uniform share: a seeded permutation of the source, skipping the images already chosen.
        var taken = new HashSet<int>(nearest);
        return [.. nearest, .. context.Random.Permutation(source.Count).Where(i => !taken.Contains(i)).Take(uniform)];
    }

    /// <summary>For every source feature row [N, D], its highest cosine similarity to any target row [M, D]: [N].</summary>
    internal static Tensor NearestSimilarity(Tensor source, Tensor target)
    {
        using var noGrad = no_grad();
        using var scope = NewDisposeScope();
        var targetUnit = nn.functional.normalize(target, p: 2, dim: 1).t(); // [D, M]
        long rows = Math.Max(1, ChunkElements / Math.Max(1, target.shape[0]));
        var chunks = new List<Tensor>();
        for (long start = 0; start < source.shape[0]; start += rows)
        {
            var chunk = source.narrow(0, start, Math.Min(rows, source.shape[0] - start));
            var similarity = nn.functional.normalize(chunk, p: 2, dim: 1).matmul(targetUnit); // [rows, M]
            chunks.Add(similarity.amax(1));
        }

        return cat(chunks, 0).MoveToOuterDisposeScope();
    }
}
