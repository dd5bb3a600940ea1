namespace UnsupervisedFinetuning.Replay;

/// <summary>Naive finetuning: no source images; each epoch shuffles the target set into batches (the last partial batch is dropped).</summary>
public sealed class NoReplay : IReplaySampler
{
    /// <summary>The shared instance.</summary>
    public static NoReplay Instance { get; } = new();

    /// <inheritdoc />
    public string Name => "none";

    /// <inheritdoc />
    public IReadOnlyDictionary<string, string> Settings { get; } = new Dictionary<string, string>();

    /// <inheritdoc />
    public int[] SelectSubset(ReplaySelectionContext context) => [];

    /// <inheritdoc />
    public int StepsPerEpoch(int targetCount, int subsetCount, int batchSize) => EpochPlans.UnionSteps(targetCount, 0, batchSize);

    /// <inheritdoc />
    public IReadOnlyList<ReplayBatch> PlanEpoch(int targetCount, IReadOnlyList<int> subset, int batchSize, SeededRandom random) =>
        EpochPlans.Union(targetCount, [], batchSize, random);
}
