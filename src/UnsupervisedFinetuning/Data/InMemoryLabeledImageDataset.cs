using static TorchSharp.torch;

namespace UnsupervisedFinetuning.Data;

/// <summary>An <see cref="InMemoryImageDataset"/> with one class label per image.</summary>
public sealed class InMemoryLabeledImageDataset : InMemoryImageDataset, ILabeledImageDataset
{
    private readonly int[] _labels;

    /// <summary>
    /// Wraps <paramref name="images"/> (uint8 [N,C,H,W], ownership taken) with <paramref name="labels"/>
    /// (N values in [0, classCount)). Class names default to "0", "1", …
    /// </summary>
    /// <exception cref="ArgumentException">The label count differs from N, a label is out of range (the message
    /// names its index and value), or the class names do not match the class count.</exception>
    public InMemoryLabeledImageDataset(Tensor images, IReadOnlyList<int> labels, int classCount, IReadOnlyList<string>? classNames = null)
        : base(images)
    {
        ArgumentNullException.ThrowIfNull(labels);
        try
        {
            _labels = ValidateLabels(labels, Count, classCount);
            ClassNames = ValidateClassNames(classNames, classCount);
        }
        catch
        {
            Dispose();
            throw;
        }

        ClassCount = classCount;
    }

    /// <summary>Creates a labelled dataset from raw bytes laid out as [N,C,H,W].</summary>
    public static InMemoryLabeledImageDataset FromBytes(byte[] pixels, ImageShape shape, IReadOnlyList<int> labels, int classCount, IReadOnlyList<string>? classNames = null)
    {
        ArgumentNullException.ThrowIfNull(pixels);
        ArgumentNullException.ThrowIfNull(labels);
        CheckPixelCount(pixels, labels.Count, shape);
        return new InMemoryLabeledImageDataset(tensor(pixels, shape.BatchShape(labels.Count), ScalarType.Byte), labels, classCount, classNames);
    }

    /// <inheritdoc />
    public int ClassCount { get; }

    /// <inheritdoc />
    public IReadOnlyList<string> ClassNames { get; }

    /// <summary>All labels, in image order.</summary>
    public IReadOnlyList<int> Labels => _labels;

    /// <inheritdoc />
    public int GetLabel(int index)
    {
        if ((uint)index >= (uint)_labels.Length)
        {
            throw new ArgumentOutOfRangeException(nameof(index), index, $"Index {index} is outside the dataset's {_labels.Length} images.");
        }

        return _labels[index];
    }

    internal static int[] ValidateLabels(IReadOnlyList<int> labels, int count, int classCount)
    {
        if (classCount <= 0)
        {
            throw new ArgumentOutOfRangeException(nameof(classCount), classCount, "The class count must be positive.");
        }

        if (labels.Count != count)
        {
            throw new ArgumentException($"There are {count} images but {labels.Count} labels.", nameof(labels));
        }

        var copy = new int[count];
        for (int i = 0; i < count; i++)
        {
            int label = labels[i];
            if (label < 0 || label >= classCount)
            {
                throw new ArgumentException($"Label {label} at index {i} is outside [0, {classCount}).", nameof(labels));
            }

            copy[i] = label;
        }

        return copy;
    }

    internal static string[] ValidateClassNames(IReadOnlyList<string>? names, int classCount)
    {
        if (names is null)
        {
            return Enumerable.Range(0, classCount).Select(i => i.ToString(System.Globalization.CultureInfo.InvariantCulture)).ToArray();
        }

        if (names.Count != classCount)
        {
            throw new ArgumentException($"There are {classCount} classes but {names.Count} class names.", nameof(names));
        }

        return [.. names];
    }
}
