namespace UnsupervisedFinetuning.Replay;

/// <summary>
/// Decides which source images join finetuning (drawn once per run) and how batches mix target and
/// replayed source images. Implementations are stateless strategies: the engine keeps the chosen subset
/// and the epoch plans, and checkpoints them, so a resumed run replays the same images in the same order.
/// </summary>
public interface IReplaySampler
{
    /// <summary>
    /// Chooses the replayed subset S ⊂ D_s, as ascending source indices (empty for no replay).
    /// </summary>
    /// <param name="targetCount">|D_t|, which sizes a ratio-based subset.</param>
    /// <param name="sourceCount">|D_s|; 0 when no source set was given.</param>
    /// <param name="random">The generator to draw with.</param>
    /// <exception cref="ArgumentException">Replay needs a source set, or asks for more images than it holds.</exception>
    int[] SelectSubset(int targetCount, int sourceCount, SeededRandom random);

    /// <summary>Number of batches in one epoch for these sizes.</summary>
    /// <exception cref="ArgumentException">The data cannot fill one batch.</exception>
    int StepsPerEpoch(int targetCount, int subsetCount, int batchSize);

    /// <summary>The batches of one epoch, each of exactly <paramref name="batchSize"/> images.</summary>
    IReadOnlyList<ReplayBatch> PlanEpoch(int targetCount, IReadOnlyList<int> subset, int batchSize, SeededRandom random);
}
