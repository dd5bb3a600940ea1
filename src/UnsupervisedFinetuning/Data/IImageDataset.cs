using TorchSharp;

namespace UnsupervisedFinetuning.Data;

/// <summary>
/// A finite, indexable set of images of one shape. Images are uint8 (0–255) tensors on the CPU:
/// augmentation converts them to float on the training device. Implementations must be safe to read
/// from one thread at a time; they need not be thread-safe.
/// </summary>
public interface IImageDataset
{
    /// <summary>Number of images.</summary>
    int Count { get; }

    /// <summary>Shape of every image.</summary>
    ImageShape Shape { get; }

    /// <summary>
    /// Gathers the images at <paramref name="indices"/>, in that order, as one uint8 tensor
    /// [indices.Length, C, H, W] on the CPU. The caller owns the returned tensor.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">An index is outside [0, Count).</exception>
    torch.Tensor GetBatch(ReadOnlySpan<int> indices);
}
