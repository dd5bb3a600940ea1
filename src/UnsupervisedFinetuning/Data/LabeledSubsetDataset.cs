namespace UnsupervisedFinetuning.Data;

/// <summary>A <see cref="SubsetDataset"/> of a labelled dataset; labels and classes come from the parent.</summary>
public sealed class LabeledSubsetDataset : SubsetDataset, ILabeledImageDataset
{
    private readonly ILabeledImageDataset _parent;

    /// <summary>Creates the view.</summary>
    public LabeledSubsetDataset(ILabeledImageDataset parent, IReadOnlyList<int> indices)
        : base(parent, indices)
    {
        _parent = parent;
    }

    /// <inheritdoc />
    public int ClassCount => _parent.ClassCount;

    /// <inheritdoc />
    public IReadOnlyList<string> ClassNames => _parent.ClassNames;

    /// <inheritdoc />
    public int GetLabel(int index) => _parent.GetLabel(ParentIndex(index));
}
