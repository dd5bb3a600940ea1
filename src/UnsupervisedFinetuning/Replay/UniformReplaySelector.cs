namespace UnsupervisedFinetuning.Replay;

/// <summary>Replays a uniformly random subset of the source set, drawn with the run's seed (the paper's rule).</summary>
public sealed class UniformReplaySelector : IReplaySelector
{
    /// <summary>The shared instance.</summary>
    public static UniformReplaySelector Instance { get; } = new();

    /// <inheritdoc />
    public string Name => "uniform";

    /// <inheritdoc />
    public int[] Select(ReplaySelectionContext context, int count)
    {
        ArgumentNullException.ThrowIfNull(context);
        // The first |S| entries of a seeded permutation (the sampler sorts them).
        return context.Random.Permutation(context.SourceCount)[..count];
    }
}
