using static TorchSharp.torch;

namespace UnsupervisedFinetuning.Data;

/// <summary>
/// An <see cref="ImageFileDataset"/> with one class label per file: images stay on disk and are decoded on
/// demand; labels are held in memory. Create one with <see cref="ImageFolder.IndexLabeled"/> or
/// <see cref="ImageManifest.ReadLabeled"/>.
/// </summary>
public sealed class LabeledImageFileDataset : ILabeledImageDataset, INamedImageDataset
{
    private readonly int[] _labels;

    internal LabeledImageFileDataset(ImageFileDataset files, int[] labels, string[] classNames)
    {
        Images = files;
        _labels = labels;
        ClassNames = classNames;
    }

    /// <summary>The images, without labels.</summary>
    public ImageFileDataset Images { get; }

    /// <inheritdoc />
    public int Count => Images.Count;

    /// <inheritdoc />
    public ImageShape Shape => Images.Shape;

    /// <inheritdoc />
    public int ClassCount => ClassNames.Count;

    /// <inheritdoc />
    public IReadOnlyList<string> ClassNames { get; }

    /// <summary>All labels, in image order.</summary>
    public IReadOnlyList<int> Labels => _labels;

    /// <inheritdoc />
    /// <returns>The full path of image <paramref name="index"/>'s file.</returns>
    public string GetName(int index) => Images.GetName(index);

    /// <inheritdoc />
    public Tensor GetBatch(ReadOnlySpan<int> indices) => Images.GetBatch(indices);

    /// <inheritdoc />
    public int GetLabel(int index) => (uint)index < (uint)_labels.Length
        ? _labels[index]
        : throw new ArgumentOutOfRangeException(nameof(index), index, $"Index {index} is outside the dataset's {_labels.Length} images.");

    /// <summary>
    /// Decodes every image into one in-memory labelled dataset, in parallel. With
    /// <see cref="ImageFolderOptions.SkipUnreadable"/> a file that fails to decode is left out with its label.
    /// </summary>
    /// <exception cref="InvalidDataException">A file could not be decoded (named), or a class has no readable image left.</exception>
    public InMemoryLabeledImageDataset LoadIntoMemory()
    {
        var (images, kept) = Images.DecodeAll();
        try
        {
            int[] labels = kept.Select(i => _labels[i]).ToArray();
            int empty = Enumerable.Range(0, ClassCount).FirstOrDefault(c => !labels.Contains(c), -1);
            if (empty >= 0)
            {
                throw new InvalidDataException($"Class '{ClassNames[empty]}' has no readable image left after skipping unreadable files.");
            }

            return new InMemoryLabeledImageDataset(images, labels, ClassCount, ClassNames);
        }
        catch
        {
            images.Dispose();
            throw;
        }
    }
}
