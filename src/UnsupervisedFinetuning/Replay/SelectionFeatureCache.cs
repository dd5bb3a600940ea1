using UnsupervisedFinetuning.Data;
using static TorchSharp.torch;

namespace UnsupervisedFinetuning.Replay;

/// <summary>
/// Pretrained features shared by several runs that start from the same weights with the same evaluation view (the
/// trials of a <see cref="Tuning.FinetuneSearch"/>): the first run that asks for a dataset's features computes them,
/// later runs get an alias. Counted, so tests can see that a source set was embedded once.
/// </summary>
internal sealed class SelectionFeatureCache : IDisposable
{
    private readonly Dictionary<IImageDataset, Tensor> _features = new(ReferenceEqualityComparer.Instance);

    /// <summary>How many datasets were embedded (cache misses).</summary>
    public int Computed { get; private set; }

    /// <summary>The cached features of <paramref name="data"/> as a new alias (the caller disposes it), computing them on first use.</summary>
    public Tensor Get(IImageDataset data, Func<IImageDataset, Tensor> compute)
    {
        if (!_features.TryGetValue(data, out var features))
        {
            features = compute(data).DetachFromDisposeScope();
            _features[data] = features;
            Computed++;
        }

        return features.alias();
    }

    public void Dispose()
    {
        foreach (var features in _features.Values)
        {
            features.Dispose();
        }

        _features.Clear();
    }
}
