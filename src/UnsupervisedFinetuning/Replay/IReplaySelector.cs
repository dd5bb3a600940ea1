namespace UnsupervisedFinetuning.Replay;

/// <summary>
/// Sparse replay's *selection*: which source images are replayed, chosen once per run. A rule may look at
/// the target and source images and at the pretrained backbone's features of either through the
/// <see cref="ReplaySelectionContext"/> (computed in batches, once). The engine checkpoints the choice, so
/// a resumed run replays the same images without selecting again.
/// </summary>
public interface IReplaySelector
{
    /// <summary>Short name for logs and checkpoints, e.g. "uniform".</summary>
    string Name { get; }

    /// <summary>Chooses <paramref name="count"/> distinct source indices, in any order (the sampler sorts them).</summary>
    /// <param name="context">The data, the run's generator and the pretrained features.</param>
    /// <param name="count">|S|, between 1 and the source set's size.</param>
    int[] Select(ReplaySelectionContext context, int count);
}
