using TorchSharp;

namespace UnsupervisedFinetuning.Data;

/// <summary>
/// A view of selected images of another dataset, in the given order; no pixels are copied. Index
/// <c>i</c> of the subset is index <c>Indices[i]</c> of the parent, and is named as the parent names it.
/// </summary>
public class SubsetDataset : INamedImageDataset
{
    private readonly int[] _indices;

    /// <summary>Creates the view.</summary>
    /// <exception cref="ArgumentException">The index list is empty.</exception>
    /// <exception cref="ArgumentOutOfRangeException">An index is outside the parent (the message names its position).</exception>
    public SubsetDataset(IImageDataset parent, IReadOnlyList<int> indices)
    {
        ArgumentNullException.ThrowIfNull(parent);
        ArgumentNullException.ThrowIfNull(indices);
        if (indices.Count == 0)
        {
            throw new ArgumentException("A subset needs at least one index; the selection is empty.", nameof(indices));
        }

        _indices = new int[indices.Count];
        for (int i = 0; i < indices.Count; i++)
        {
            int index = indices[i];
            if ((uint)index >= (uint)parent.Count)
            {
                throw new ArgumentOutOfRangeException(nameof(indices), index, $"Subset index {index} at position {i} is outside the parent's {parent.Count} images.");
            }

            _indices[i] = index;
        }

        Parent = parent;
    }

    /// <summary>The dataset this is a view of.</summary>
    public IImageDataset Parent { get; }

    /// <summary>Parent indices of this subset's images, in order.</summary>
    public IReadOnlyList<int> Indices => _indices;

    /// <inheritdoc />
    public int Count => _indices.Length;

    /// <inheritdoc />
    public ImageShape Shape => Parent.Shape;

    /// <inheritdoc />
    public torch.Tensor GetBatch(ReadOnlySpan<int> indices) => Parent.GetBatch(MapToParent(indices));

    /// <inheritdoc />
    /// <returns>The parent's name of the image (<see cref="DatasetExtensions.NameOf"/>): a file's path, or its index in the parent.</returns>
    public string GetName(int index) => Parent.NameOf(ParentIndex(index));

    /// <summary>Translates subset indices into parent indices.</summary>
    protected int[] MapToParent(ReadOnlySpan<int> indices)
    {
        var mapped = new int[indices.Length];
        for (int i = 0; i < indices.Length; i++)
        {
            mapped[i] = ParentIndex(indices[i], i);
        }

        return mapped;
    }

    /// <summary>The parent index of subset image <paramref name="index"/>.</summary>
    protected int ParentIndex(int index, int position = 0)
    {
        if ((uint)index >= (uint)_indices.Length)
        {
            throw new ArgumentOutOfRangeException(nameof(index), index, $"Index {index} at position {position} is outside the subset's {_indices.Length} images.");
        }

        return _indices[index];
    }
}
