using UnsupervisedFinetuning.Data;
using static TorchSharp.torch;

namespace UnsupervisedFinetuning.Replay;

/// <summary>
/// What a replay selection rule may look at: the target and source sets, the run's generator, and the
/// pretrained backbone's features of either set. Features are computed on first use, in batches, in eval
/// mode without gradients, and kept for the context's life, so a rule that embeds a large source set pays
/// for it once. The engine creates the context before training starts (the backbone is still the
/// pretrained one) and disposes it after selection.
/// </summary>
public sealed class ReplaySelectionContext : IDisposable
{
    private readonly Func<IImageDataset, Tensor>? _features;
    private readonly Dictionary<IImageDataset, Tensor> _cache = new(ReferenceEqualityComparer.Instance);

    /// <summary>Creates a context.</summary>
    /// <param name="target">The unlabelled target set D_t.</param>
    /// <param name="source">The source set D_s; null when the run has none.</param>
    /// <param name="random">The generator to draw with.</param>
    /// <param name="features">Features [N, D] (float32, CPU) of every image of a dataset under the pretrained
    /// backbone; null when none can be computed (<see cref="Features"/> then throws).</param>
    public ReplaySelectionContext(IImageDataset target, IImageDataset? source, SeededRandom random, Func<IImageDataset, Tensor>? features = null)
    {
        ArgumentNullException.ThrowIfNull(target);
        ArgumentNullException.ThrowIfNull(random);
        Target = target;
        Source = source;
        Random = random;
        _features = features;
    }

    /// <summary>The unlabelled target set D_t.</summary>
    public IImageDataset Target { get; }

    /// <summary>The source set D_s, if the run has one.</summary>
    public IImageDataset? Source { get; }

    /// <summary>|D_s|, 0 without a source set.</summary>
    public int SourceCount => Source?.Count ?? 0;

    /// <summary>The generator a rule draws with (the run's replay stream).</summary>
    public SeededRandom Random { get; }

    /// <summary>
    /// Features [N, D] (float32, CPU, in dataset order) of every image of <paramref name="data"/> under the
    /// pretrained backbone, computed once per dataset; owned by the context, do not dispose.
    /// </summary>
    /// <exception cref="InvalidOperationException">The context was created without a feature function.</exception>
    public Tensor Features(IImageDataset data)
    {
        ArgumentNullException.ThrowIfNull(data);
        if (_features is null)
        {
            throw new InvalidOperationException("This replay selection context has no pretrained backbone to compute features with.");
        }

        if (!_cache.TryGetValue(data, out var features))
        {
            features = _features(data).DetachFromDisposeScope();
            _cache[data] = features;
        }

        return features;
    }

    /// <summary>A context like this one over another source set (e.g. a sample of it), with the same target, generator and backbone.</summary>
    internal ReplaySelectionContext WithSource(IImageDataset source)
    {
        var context = new ReplaySelectionContext(Target, source, Random, _features);
        if (_cache.TryGetValue(Target, out var targetFeatures))
        {
            context._cache[Target] = targetFeatures.alias().DetachFromDisposeScope(); // shared, not recomputed; each context disposes its own handle
        }

        return context;
    }

    /// <summary>Frees the cached features.</summary>
    public void Dispose()
    {
        foreach (var features in _cache.Values)
        {
            features.Dispose();
        }

        _cache.Clear();
    }
}
