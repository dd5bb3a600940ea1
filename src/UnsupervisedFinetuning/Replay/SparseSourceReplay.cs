namespace UnsupervisedFinetuning.Replay;

/// <summary>
/// Sparse source replay (Li, Chen et al. 2021, "Unsupervised Finetuning"): a small subset S of the source
/// set, of size round(ratio·|D_t|) or an absolute count, is drawn once and trained on together with the
/// target set, either as one shuffled union or with a fixed share of source images in every batch.
/// The replayed images occupy the region of embedding space the pretrained model already uses, so the
/// target data is pushed into a compact region instead of scattering.
/// </summary>
public sealed class SparseSourceReplay : IReplaySampler
{
    /// <summary>Creates the strategy.</summary>
    /// <exception cref="ArgumentException">The options do not describe sparse replay (Mode must be Sparse, ratio or count positive).</exception>
    public SparseSourceReplay(ReplayOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (options.Mode != ReplayMode.Sparse)
        {
            throw new ArgumentException($"ReplayOptions.Mode is {options.Mode}; SparseSourceReplay needs Sparse (use NoReplay otherwise).", nameof(options));
        }

        if (options.Count < 0 || (options.Count == 0 && !(options.Ratio > 0 && double.IsFinite(options.Ratio))))
        {
            throw new ArgumentException($"ReplayOptions needs Count > 0 or a finite Ratio > 0; got Count {options.Count}, Ratio {options.Ratio}.", nameof(options));
        }

        Options = options;
    }

    /// <summary>The options this strategy follows.</summary>
    public ReplayOptions Options { get; }

    /// <inheritdoc />
    public int[] SelectSubset(int targetCount, int sourceCount, SeededRandom random)
    {
        ArgumentNullException.ThrowIfNull(random);
        int size = Options.SubsetSize(targetCount);
        if (sourceCount == 0)
        {
            throw new ArgumentException("Sparse source replay needs a source dataset; none was given.", nameof(sourceCount));
        }

        if (size < 1 || size > sourceCount)
        {
            throw new ArgumentException($"The replay subset would hold {size} images (ratio {Options.Ratio} × {targetCount} target images, or count {Options.Count}); the source set has {sourceCount}. Expected 1 to {sourceCount}.", nameof(sourceCount));
        }

        // Uniform selection: the first |S| entries of a seeded permutation, sorted for readability of reports.
        int[] chosen = random.Permutation(sourceCount)[..size];
        Array.Sort(chosen);
        return chosen;
    }

    /// <inheritdoc />
    public int StepsPerEpoch(int targetCount, int subsetCount, int batchSize) => Options.Composition == ReplayComposition.Union
        ? EpochPlans.UnionSteps(targetCount, subsetCount, batchSize)
        : EpochPlans.FixedShareSteps(targetCount, subsetCount, batchSize);

    /// <inheritdoc />
    public IReadOnlyList<ReplayBatch> PlanEpoch(int targetCount, IReadOnlyList<int> subset, int batchSize, SeededRandom random) =>
        Options.Composition == ReplayComposition.Union
            ? EpochPlans.Union(targetCount, subset, batchSize, random)
            : EpochPlans.FixedShare(targetCount, subset, batchSize, random);
}
