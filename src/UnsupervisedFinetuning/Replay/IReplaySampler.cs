namespace UnsupervisedFinetuning.Replay;

/// <summary>
/// Source replay in two parts: *selection* — which source images join finetuning, drawn once per run
/// (<see cref="SparseSourceReplay"/> delegates it to an <see cref="IReplaySelector"/>) — and *composition*
/// — how each epoch's batches mix target and replayed images. Implementations are stateless: the engine
/// keeps the chosen subset and the epoch plans and checkpoints them, so a resumed run replays the same
/// images in the same order.
/// </summary>
public interface IReplaySampler
{
    /// <summary>Short name for logs and checkpoints, e.g. "sparse".</summary>
    string Name { get; }

    /// <summary>Every setting that changes training, by name, as invariant strings; a run resumes only with equal settings.</summary>
    IReadOnlyDictionary<string, string> Settings { get; }

    /// <summary>Chooses the replayed subset S ⊂ D_s, as ascending source indices (empty for no replay).</summary>
    /// <exception cref="ArgumentException">Replay needs a source set, or asks for more images than it holds.</exception>
    int[] SelectSubset(ReplaySelectionContext context);

    /// <summary>Number of batches in one epoch for these sizes.</summary>
    /// <exception cref="ArgumentException">The data cannot fill one batch.</exception>
    int StepsPerEpoch(int targetCount, int subsetCount, int batchSize);

    /// <summary>The batches of one epoch, each of exactly <paramref name="batchSize"/> images.</summary>
    IReadOnlyList<ReplayBatch> PlanEpoch(int targetCount, IReadOnlyList<int> subset, int batchSize, SeededRandom random);
}
