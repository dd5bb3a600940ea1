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
}
