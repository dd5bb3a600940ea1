using TorchSharp;

namespace UnsupervisedFinetuning.Data;

/// <summary>
/// A labelled dataset seen without its labels: the type training code receives, so that labels cannot
/// leak into unsupervised finetuning by accident (they are for evaluation only).
/// </summary>
public sealed class UnlabeledView : IImageDataset
{
    private readonly IImageDataset _inner;

    /// <summary>The dataset this is a view of (for the resume fingerprint).</summary>
    internal IImageDataset Inner => _inner;

    /// <summary>Hides the labels of <paramref name="inner"/>.</summary>
    public UnlabeledView(IImageDataset inner)
    {
        ArgumentNullException.ThrowIfNull(inner);
        _inner = inner is UnlabeledView view ? view._inner : inner;
    }

    /// <inheritdoc />
    public int Count => _inner.Count;

    /// <inheritdoc />
    public ImageShape Shape => _inner.Shape;

    /// <inheritdoc />
    public torch.Tensor GetBatch(ReadOnlySpan<int> indices) => _inner.GetBatch(indices);
}
