namespace UnsupervisedFinetuning.Replay;

/// <summary>The two batch-composition policies, as pure functions of sizes and a generator.</summary>
internal static class EpochPlans
{
    public static int UnionSteps(int targetCount, int subsetCount, int batchSize)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(batchSize);
        int pool = targetCount + subsetCount;
        if (pool < batchSize)
        {
            throw new ArgumentException($"FinetuneOptions.BatchSize is {batchSize}, but the target set has {targetCount} images and the replay subset {subsetCount}: a batch cannot be larger than the data; lower the batch size.");
        }

        return pool / batchSize;
    }

    /// <summary>Shuffle D_t ∪ S, cut into full batches; within a batch, target images come first.</summary>
    public static IReadOnlyList<ReplayBatch> Union(int targetCount, IReadOnlyList<int> subset, int batchSize, SeededRandom random)
    {
        int steps = UnionSteps(targetCount, subset.Count, batchSize);
        int[] order = random.Permutation(targetCount + subset.Count); // < targetCount: target index; else subset position
        var batches = new List<ReplayBatch>(steps);
        for (int s = 0; s < steps; s++)
        {
            var slice = order.AsSpan(s * batchSize, batchSize);
            var target = new List<int>(batchSize);
            var source = new List<int>();
            foreach (int item in slice)
            {
                if (item < targetCount)
                {
                    target.Add(item);
                }
                else
                {
                    source.Add(subset[item - targetCount]);
                }
            }

            batches.Add(new ReplayBatch([.. target], [.. source]));
        }

        return batches;
    }

    public static int SourcePerBatch(int targetCount, int subsetCount, int batchSize)
    {
        double ratio = (double)subsetCount / targetCount;
        return (int)Math.Round(batchSize * ratio / (1 + ratio), MidpointRounding.AwayFromZero);
    }

    public static int FixedShareSteps(int targetCount, int subsetCount, int batchSize)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(batchSize);
        int source = SourcePerBatch(targetCount, subsetCount, batchSize);
        int targetPerBatch = batchSize - source;
        if (subsetCount > 0 && source == 0)
        {
            throw new ArgumentException($"FixedShare with {subsetCount} replayed images for {targetCount} target images rounds to 0 source images in a batch of {batchSize}, so nothing would be replayed; raise the replay ratio or the batch size, or use Union composition.");
        }

        if (targetPerBatch <= 0)
        {
            throw new ArgumentException($"FixedShare with {subsetCount} replayed images for {targetCount} target images leaves no room for target images in a batch of {batchSize}.");
        }

        if (targetCount < targetPerBatch)
        {
            throw new ArgumentException($"FinetuneOptions.BatchSize is {batchSize}: with FixedShare a batch takes {targetPerBatch} target images, but the target set has only {targetCount}; lower the batch size.");
        }

        return targetCount / targetPerBatch;
    }

    /// <summary>
    /// One pass over the shuffled target set, B − s target images per batch, plus s source images taken in
    /// order from a shuffled copy of S that is reshuffled whenever it runs out.
    /// </summary>
    public static IReadOnlyList<ReplayBatch> FixedShare(int targetCount, IReadOnlyList<int> subset, int batchSize, SeededRandom random)
    {
        int steps = FixedShareSteps(targetCount, subset.Count, batchSize);
        int sourcePerBatch = SourcePerBatch(targetCount, subset.Count, batchSize);
        int targetPerBatch = batchSize - sourcePerBatch;
        int[] targetOrder = random.Permutation(targetCount);
        int[] sourceOrder = random.Permutation(subset.Count);
        int cursor = 0;
        var batches = new List<ReplayBatch>(steps);
        for (int s = 0; s < steps; s++)
        {
            int[] target = targetOrder.AsSpan(s * targetPerBatch, targetPerBatch).ToArray();
            var source = new int[sourcePerBatch];
            for (int j = 0; j < sourcePerBatch; j++)
            {
                if (cursor == sourceOrder.Length)
                {
                    sourceOrder = random.Permutation(subset.Count);
                    cursor = 0;
                }

                source[j] = subset[sourceOrder[cursor++]];
            }

            batches.Add(new ReplayBatch(target, source));
        }

        return batches;
    }
}
