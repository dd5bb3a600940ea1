using System.Globalization;
using static TorchSharp.torch;

namespace UnsupervisedFinetuning.Data;

/// <summary>Fluent helpers over datasets.</summary>
public static class DatasetExtensions
{
    /// <summary>The dataset without its labels, for training code.</summary>
    public static IImageDataset WithoutLabels(this IImageDataset dataset) => new UnlabeledView(dataset);

    /// <summary>A view of the images at <paramref name="indices"/>.</summary>
    public static SubsetDataset Subset(this IImageDataset dataset, IReadOnlyList<int> indices) => new(dataset, indices);

    /// <summary>A labelled view of the images at <paramref name="indices"/>.</summary>
    public static LabeledSubsetDataset Subset(this ILabeledImageDataset dataset, IReadOnlyList<int> indices) => new(dataset, indices);

    /// <summary>The image at <paramref name="index"/> as a uint8 tensor [C,H,W]; the caller owns it.</summary>
    public static TorchSharp.torch.Tensor GetImage(this IImageDataset dataset, int index)
    {
        ArgumentNullException.ThrowIfNull(dataset);
        using var batch = dataset.GetBatch([index]);
        return batch[0].clone();
    }

    /// <summary>All labels of the dataset, in order.</summary>
    public static int[] GetLabels(this ILabeledImageDataset dataset)
    {
        ArgumentNullException.ThrowIfNull(dataset);
        var labels = new int[dataset.Count];
        for (int i = 0; i < labels.Length; i++)
        {
            labels[i] = dataset.GetLabel(i);
        }

        return labels;
    }

    /// <summary>
    /// Reads every image into one in-memory dataset (Count·C·H·W bytes), a bounded batch at a time — any dataset, from any
    /// source. A file-backed dataset (<see cref="ImageFileDataset"/>, <see cref="LabeledImageFileDataset"/>) decodes in
    /// parallel and, with <see cref="ImageFolderOptions.SkipUnreadable"/>, leaves out a file that fails to decode
    /// (<see cref="ImageFileDataset.LoadIntoMemory"/>); another dataset is read through <see cref="IImageDataset.GetBatch"/>.
    /// The caller owns the result; <paramref name="dataset"/> is unchanged.
    /// </summary>
    /// <exception cref="InsufficientMemoryException">The images would not fit in the memory available (Linux: MemAvailable); nothing was read.</exception>
    /// <exception cref="InvalidDataException">An image could not be read (the message names it), or none could.</exception>
    public static InMemoryImageDataset LoadIntoMemory(this IImageDataset dataset)
    {
        ArgumentNullException.ThrowIfNull(dataset);
        return dataset switch
        {
            ImageFileDataset files => files.LoadIntoMemory(),
            LabeledImageFileDataset labeled => labeled.Images.LoadIntoMemory(),
            _ => new InMemoryImageDataset(ReadAll(dataset)),
        };
    }

    /// <summary>
    /// Reads every image and its label into one in-memory labelled dataset, as <see cref="LoadIntoMemory(IImageDataset)"/>
    /// does (a <see cref="LabeledImageFileDataset"/> leaves out an undecodable file with its label when skipping).
    /// </summary>
    /// <exception cref="InsufficientMemoryException">The images would not fit in the memory available; nothing was read.</exception>
    /// <exception cref="InvalidDataException">An image could not be read (named), or a class has no readable image left.</exception>
    public static InMemoryLabeledImageDataset LoadIntoMemory(this ILabeledImageDataset dataset)
    {
        ArgumentNullException.ThrowIfNull(dataset);
        if (dataset is LabeledImageFileDataset files)
        {
            return files.LoadIntoMemory();
        }

        int[] labels = dataset.GetLabels();
        var classNames = dataset.ClassNames.ToArray();
        return new InMemoryLabeledImageDataset(ReadAll(dataset), labels, dataset.ClassCount, classNames);
    }

    /// <summary>
    /// Where image <paramref name="index"/> comes from: <see cref="INamedImageDataset.GetName"/> when the dataset names its
    /// images (a file-backed dataset: the file's path; a subset: as its parent does), otherwise the index itself ("17").
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">The index is outside [0, Count).</exception>
    public static string NameOf(this IImageDataset dataset, int index)
    {
        ArgumentNullException.ThrowIfNull(dataset);
        if (dataset is INamedImageDataset named)
        {
            return named.GetName(index);
        }

        return (uint)index < (uint)dataset.Count
            ? index.ToString(CultureInfo.InvariantCulture)
            : throw new ArgumentOutOfRangeException(nameof(index), index, $"Index {index} is outside the dataset's {dataset.Count} images.");
    }

    /// <summary>
    /// The images that can be read, in order, each read once now: for a pass that must see every image as itself (a
    /// file-backed dataset with <see cref="ImageFolderOptions.SkipUnreadable"/> would otherwise put the next readable
    /// image in an unreadable one's place). A file-backed dataset decodes each file and keeps those that decode; another
    /// dataset reads each image and keeps those whose read does not throw <see cref="InvalidDataException"/> or
    /// <see cref="FileNotFoundException"/>. Returns <paramref name="dataset"/> itself when nothing is left out (file-backed: always a new index).
    /// </summary>
    /// <exception cref="ArgumentException">No image can be read.</exception>
    public static IImageDataset WithoutUnreadable(this IImageDataset dataset)
    {
        ArgumentNullException.ThrowIfNull(dataset);
        switch (dataset)
        {
            case ImageFileDataset files:
                return files.Decodable();
            case LabeledImageFileDataset labeled:
                return labeled.Images.Decodable();
        }

        var kept = new List<int>(dataset.Count);
        for (int i = 0; i < dataset.Count; i++)
        {
            try
            {
                using var image = dataset.GetBatch([i]);
                kept.Add(i);
            }
            catch (Exception e) when (e is InvalidDataException or FileNotFoundException)
            {
                // left out: this is what the caller asked to find
            }
        }

        return kept.Count == dataset.Count ? dataset
            : kept.Count > 0 ? dataset.Subset(kept)
            : throw new ArgumentException($"None of the dataset's {dataset.Count} images can be read.", nameof(dataset));
    }

    /// <summary>
    /// Refuses, before anything is read, a load of <paramref name="count"/> images of <paramref name="planeBytes"/> bytes
    /// each that would not fit in the memory this machine has available.
    /// </summary>
    internal static void CheckFitsInMemory(int count, ImageShape shape, long planeBytes)
    {
        long total = planeBytes * count;
        if (NativeMemory.AvailableBytes() is { } available && total > available)
        {
            throw new InsufficientMemoryException(string.Create(CultureInfo.InvariantCulture,
                $"Loading {count:N0} images of {shape} into memory takes {total / 1e9:F1} GB, more than the {available / 1e9:F1} GB this machine has available; lower the working size (ImageFolderOptions.Height/Width, uft --working-size) or index the images instead of loading them."));
        }
    }

    /// <summary>Images a load reads through one batch: at most 256 and 1 GB (a batch tensor is filled through one span, which cannot pass 2 GB).</summary>
    internal static int LoadChunk(long planeBytes) => (int)Math.Clamp((1L << 30) / Math.Max(1, planeBytes), 1, 256);

    /// <summary>Every image of <paramref name="dataset"/> as one uint8 tensor [N,C,H,W], read a bounded batch at a time.</summary>
    private static Tensor ReadAll(IImageDataset dataset)
    {
        var shape = dataset.Shape;
        long plane = (long)shape.Channels * shape.Height * shape.Width;
        CheckFitsInMemory(dataset.Count, shape, plane);
        int chunk = LoadChunk(plane);
        long[] expected = shape.BatchShape(1);
        var all = empty(shape.BatchShape(dataset.Count), ScalarType.Byte);
        try
        {
            for (int start = 0; start < dataset.Count; start += chunk)
            {
                int count = Math.Min(chunk, dataset.Count - start);
                using var batch = dataset.GetBatch(Enumerable.Range(start, count).ToArray());
                if (batch.dtype != ScalarType.Byte || batch.dim() != 4 || batch.shape[0] != count || !batch.shape.Skip(1).SequenceEqual(expected.Skip(1)))
                {
                    throw new InvalidDataException($"The dataset returned a {batch.dtype} batch of shape [{string.Join(",", batch.shape)}] for {count} images of {shape}; IImageDataset.GetBatch returns uint8 [n,C,H,W].");
                }

                using var rows = all.narrow(0, start, count);
                rows.copy_(batch);
            }

            return all;
        }
        catch
        {
            all.Dispose();
            throw;
        }
    }
}
