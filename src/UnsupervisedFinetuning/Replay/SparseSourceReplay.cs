using UnsupervisedFinetuning.Data;

namespace UnsupervisedFinetuning.Replay;

/// <summary>
/// Sparse source replay (Li, Chen et al. 2021, "Unsupervised Finetuning"): a small subset S of the source
/// set, of size round(ratio·|D_t|) or an absolute count, is chosen once by an <see cref="IReplaySelector"/>
/// (uniformly at random by default) and trained on together with the target set, either as one shuffled
/// union or with a fixed share of source images in every batch. The replayed images occupy the region of
/// embedding space the pretrained model already uses, so the target data is pushed into a compact region
/// instead of scattering.
/// </summary>
public sealed class SparseSourceReplay : IReplaySampler
{
    private readonly SparseReplayOptions _options;
    private readonly IReplaySelector _selector;

    /// <summary>Creates the strategy.</summary>
    /// <param name="options">Its options (copied); the defaults (ratio 0.25, Union) when null.</param>
    /// <param name="selector">Which source images to replay: a custom rule, which then takes the place of
    /// <see cref="SparseReplayOptions.Selection"/> (leave that at Uniform); the rule the options name when null.</param>
    /// <exception cref="Microsoft.Extensions.Options.OptionsValidationException">An option is out of range (every failure is named).</exception>
    /// <exception cref="ArgumentException">Both a selector and a non-uniform <see cref="SparseReplayOptions.Selection"/> were given.</exception>
    public SparseSourceReplay(SparseReplayOptions? options = null, IReplaySelector? selector = null)
    {
        _options = new SparseReplayOptionsValidator().ThrowIfInvalid(options?.Clone() ?? new SparseReplayOptions());
        if (selector is not null && _options.Selection != ReplaySelection.Uniform)
        {
            throw new ArgumentException(
                $"SparseReplayOptions.Selection is {_options.Selection} and a selector ('{selector.Name}') was given too; give one or the other.", nameof(selector));
        }

        _selector = selector ?? ReplaySelectionCatalog.BuiltIn.First(e => e.Rule == _options.Selection).CreateSelector(_options);
        // The rule by its selector's name; the uniform share only where it applies, so that a uniform run's
        // settings (and its checkpoints' fingerprint) read as they did before selection rules existed.
        var settings = new Dictionary<string, string>(StrategySettings.Of(_options, ("Selection", _selector.Name)));
        if (_options.Selection != ReplaySelection.TargetNearest)
        {
            settings.Remove(nameof(SparseReplayOptions.UniformFraction));
        }

        if (_options.SelectionPool is null)
        {
            settings.Remove(nameof(SparseReplayOptions.SelectionPool));
        }

        Settings = settings;
    }

    /// <summary>The rule that chooses the replayed images.</summary>
    public IReplaySelector Selector => _selector;

    /// <inheritdoc />
    public string Name => "sparse";

    /// <inheritdoc />
    public IReadOnlyDictionary<string, string> Settings { get; }

    /// <inheritdoc />
    public int[] SelectSubset(ReplaySelectionContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        int size = CheckFits(context.Target, context.Source, nameof(context));
        int sourceCount = context.SourceCount;
        int[] chosen = _options.SelectionPool is int pool && pool < sourceCount ? SelectFromPool(context, size, pool) : _selector.Select(context, size);
        if (chosen.Length != size || chosen.Distinct().Count() != size || chosen.Any(i => (uint)i >= (uint)sourceCount))
        {
            throw new InvalidOperationException($"Replay selector '{_selector.Name}' returned {chosen.Length} indices; expected {size} distinct source indices in [0, {sourceCount}).");
        }

        Array.Sort(chosen); // ascending, so reports and checkpoints read the same whatever the rule's order
        return chosen;
    }

    /// <summary>
    /// Checks, without reading any image, that replay can select from these sets — a source set, a subset size
    /// between 1 and its size, a pool at least that large, labels for class-balanced selection — and returns |S|.
    /// </summary>
    /// <exception cref="ArgumentException">It cannot; the message names the numbers.</exception>
    internal int CheckFits(IImageDataset target, IImageDataset? source, string parameter)
    {
        int size = _options.SubsetSize(target.Count);
        int sourceCount = source?.Count ?? 0;
        if (sourceCount == 0)
        {
            throw new ArgumentException("Sparse source replay needs a source dataset; none was given (set FinetuneRequest.Source).", parameter);
        }

        if (size < 1 || size > sourceCount)
        {
            string asked = _options.Count is { } count ? $"count {count}" : $"ratio {_options.Ratio} × {target.Count} target images";
            throw new ArgumentException($"The replay subset would hold {size} images ({asked}); the source set has {sourceCount}. Expected 1 to {sourceCount}.", parameter);
        }

        if (_options.SelectionPool is int pool && pool < size)
        {
            throw new ArgumentException($"SparseReplayOptions.SelectionPool is {pool}, fewer than the {size} images to replay; expected at least {size} (or null for the whole source set).", parameter);
        }

        if (_selector is ClassBalancedReplaySelector && source is not ILabeledImageDataset)
        {
            throw new ArgumentException(
                $"Class-balanced replay selection needs the source set's labels, but the source is a {source!.GetType().Name}: pass an ILabeledImageDataset (not .WithoutLabels()) as FinetuneRequest.Source.", parameter);
        }

        return size;
    }

    /// <summary>The rule applied to a uniform sample of <paramref name="pool"/> source images; its choice mapped back to source indices.</summary>
    private int[] SelectFromPool(ReplaySelectionContext context, int size, int pool)
    {
        var source = context.Source!;
        int[] sample = context.Random.Permutation(source.Count)[..pool];
        Array.Sort(sample); // read the pool in source order (sequential on disk for a lazy set)
        // Labels travel with the pool, so class-balanced selection still sees them.
        IImageDataset pooled = source is ILabeledImageDataset labeled ? new LabeledSubsetDataset(labeled, sample) : new SubsetDataset(source, sample);
        using var poolContext = context.WithSource(pooled);
        int[] chosen = _selector.Select(poolContext, size);
        if (chosen.Length != size || chosen.Distinct().Count() != size || chosen.Any(i => (uint)i >= (uint)pool))
        {
            throw new InvalidOperationException($"Replay selector '{_selector.Name}' returned {chosen.Length} indices; expected {size} distinct indices into its pool of {pool}.");
        }

        return [.. chosen.Select(i => sample[i])];
    }

    /// <inheritdoc />
    public int StepsPerEpoch(int targetCount, int subsetCount, int batchSize) => _options.Composition == ReplayComposition.Union
        ? EpochPlans.UnionSteps(targetCount, subsetCount, batchSize)
        : EpochPlans.FixedShareSteps(targetCount, subsetCount, batchSize);

    /// <inheritdoc />
    public IReadOnlyList<ReplayBatch> PlanEpoch(int targetCount, IReadOnlyList<int> subset, int batchSize, SeededRandom random) =>
        _options.Composition == ReplayComposition.Union
            ? EpochPlans.Union(targetCount, subset, batchSize, random)
            : EpochPlans.FixedShare(targetCount, subset, batchSize, random);
}
