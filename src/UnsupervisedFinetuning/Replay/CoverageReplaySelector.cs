using static TorchSharp.torch;

namespace UnsupervisedFinetuning.Replay;

/// <summary>
/// Replays a subset that covers the source representation: greedy k-center (Gonzalez 1985; the "core-set"
/// selection of Sener &amp; Savarese 2018) on the cosine distance 1 − cos(f_i, f_j) of the pretrained backbone's
/// features. The first image is drawn with the run's seed; each next one is the image farthest from every
/// image chosen so far. Measured in chordal distance √(2 − 2·cos) — a metric that orders pairs exactly as
/// 1 − cos does, so the choice is the same — the result's covering radius is at most twice the best possible for its size.
/// </summary>
/// <remarks>
/// Exact, not approximate: each of the |S| greedy steps is one matrix-vector product over the N source
/// features, so selection costs O(|S|·N·D) multiply-adds and O(N) memory beyond the features themselves
/// (docs/how-to/replay-selection.md gives measured times for a 100,000-image source).
/// </remarks>
public sealed class CoverageReplaySelector : IReplaySelector
{
    /// <summary>The shared instance.</summary>
    public static CoverageReplaySelector Instance { get; } = new();

    /// <inheritdoc />
    public string Name => "coverage";

    /// <inheritdoc />
    /// <exception cref="ArgumentException">The context has no source set.</exception>
    public int[] Select(ReplaySelectionContext context, int count)
    {
        ArgumentNullException.ThrowIfNull(context);
        var source = context.Source ?? throw new ArgumentException("Coverage replay selection needs a source set.", nameof(context));
        var features = context.Features(source);
        return KCenterGreedy(features, count, context.Random.NextInt(source.Count));
    }

    /// <summary>Greedy k-center on cosine distances of <paramref name="features"/> [N, D], starting from <paramref name="first"/>.</summary>
    internal static int[] KCenterGreedy(Tensor features, int count, int first)
    {
        long n = features.shape[0];
        ArgumentOutOfRangeException.ThrowIfGreaterThan(count, n);
        var chosen = new int[count];
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var inverseNorms = features.norm(1).clamp_min(1e-12).reciprocal(); // [N]
        // Distance of each image to its nearest chosen image; a chosen image is marked −∞ so it is never picked again,
        // even when rounding leaves its distance to itself slightly above 0 or the set holds duplicates.
        var nearest = full(n, float.PositiveInfinity, ScalarType.Float32);
        int next = first;
        for (int i = 0; i < count; i++)
        {
            chosen[i] = next;
            using var step = NewDisposeScope();
            var center = features[next] * inverseNorms[next]; // [D], unit length
            var distance = 1 - (features.mv(center) * inverseNorms); // [N] cosine distance to the new center
            nearest.copy_(nearest.minimum(distance));
            nearest[next].fill_(float.NegativeInfinity);
            if (i + 1 < count)
            {
                next = (int)nearest.argmax().item<long>();
            }
        }

        return chosen;
    }
}
