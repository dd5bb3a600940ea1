namespace UnsupervisedFinetuning.Data;

/// <summary>
/// An image dataset with one class label per image. Labels are used by evaluation only; training code
/// takes <see cref="IImageDataset"/> (see <see cref="DatasetExtensions.WithoutLabels"/>).
/// </summary>
public interface ILabeledImageDataset : IImageDataset
{
    /// <summary>Number of classes; every label is in [0, ClassCount).</summary>
    int ClassCount { get; }

    /// <summary>A display name per class (index = label).</summary>
    IReadOnlyList<string> ClassNames { get; }

    /// <summary>The label of image <paramref name="index"/>.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The index is outside [0, Count).</exception>
    int GetLabel(int index);
}
