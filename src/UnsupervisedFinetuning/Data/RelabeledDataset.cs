using TorchSharp;

namespace UnsupervisedFinetuning.Data;

/// <summary>
/// A labelled dataset whose labels are renumbered 0…k−1 in the order of <see cref="OriginalClasses"/>, e.g.
/// Fashion-MNIST classes 5–9 seen as a 5-class problem. Images are those of the inner dataset (no copy);
/// every image's label must be one of the original classes.
/// </summary>
public sealed class RelabeledDataset : ILabeledImageDataset
{
    private readonly ILabeledImageDataset _inner;

    /// <summary>The dataset this is a view of (for the resume fingerprint).</summary>
    internal ILabeledImageDataset Inner => _inner;
    private readonly Dictionary<int, int> _map;

    /// <summary>Creates the view.</summary>
    /// <exception cref="ArgumentException">A class is listed twice, or an image has a label not listed (named with its index).</exception>
    public RelabeledDataset(ILabeledImageDataset inner, IReadOnlyList<int> originalClasses)
    {
        ArgumentNullException.ThrowIfNull(inner);
        ArgumentNullException.ThrowIfNull(originalClasses);
        if (originalClasses.Count == 0 || originalClasses.Distinct().Count() != originalClasses.Count)
        {
            throw new ArgumentException($"Relabelling needs distinct classes; got [{string.Join(", ", originalClasses)}].", nameof(originalClasses));
        }

        _inner = inner;
        _map = originalClasses.Select((c, i) => (c, i)).ToDictionary(p => p.c, p => p.i);
        for (int i = 0; i < inner.Count; i++)
        {
            if (!_map.ContainsKey(inner.GetLabel(i)))
            {
                throw new ArgumentException($"Image {i} has label {inner.GetLabel(i)}, which is not among the classes [{string.Join(", ", originalClasses)}].", nameof(inner));
            }
        }

        OriginalClasses = [.. originalClasses];
        ClassNames = originalClasses.Select(c => c < inner.ClassNames.Count ? inner.ClassNames[c] : c.ToString(System.Globalization.CultureInfo.InvariantCulture)).ToArray();
    }

    /// <summary>The inner labels, in new-label order.</summary>
    public IReadOnlyList<int> OriginalClasses { get; }

    /// <inheritdoc />
    public int Count => _inner.Count;

    /// <inheritdoc />
    public ImageShape Shape => _inner.Shape;

    /// <inheritdoc />
    public int ClassCount => OriginalClasses.Count;

    /// <inheritdoc />
    public IReadOnlyList<string> ClassNames { get; }

    /// <inheritdoc />
    public int GetLabel(int index) => _map[_inner.GetLabel(index)];

    /// <inheritdoc />
    public torch.Tensor GetBatch(ReadOnlySpan<int> indices) => _inner.GetBatch(indices);
}
