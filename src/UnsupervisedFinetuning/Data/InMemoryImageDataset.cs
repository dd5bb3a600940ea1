using TorchSharp;
using static TorchSharp.torch;

namespace UnsupervisedFinetuning.Data;

/// <summary>
/// Images decoded once and held as one uint8 tensor [N,C,H,W] on the CPU; batches are gathered with
/// one <c>index_select</c>. This is what every reader in this namespace returns: target sets have
/// hundreds to thousands of images, and a replayed source subset is of the same order.
/// </summary>
public class InMemoryImageDataset : IImageDataset, IDisposable
{
    private readonly Tensor _images;
    private bool _disposed;

    /// <summary>
    /// Wraps <paramref name="images"/>, a uint8 tensor [N,C,H,W] with N ≥ 1. The dataset takes ownership:
    /// the tensor is detached from any dispose scope and disposed with the dataset; a tensor on another device
    /// or not contiguous is copied to a contiguous CPU tensor and disposed at once.
    /// </summary>
    /// <exception cref="ArgumentException">The tensor is not uint8, not 4-dimensional, or empty.</exception>
    public InMemoryImageDataset(Tensor images)
    {
        ArgumentNullException.ThrowIfNull(images);
        if (images.dtype != ScalarType.Byte)
        {
            throw new ArgumentException($"Images must be a uint8 tensor [N,C,H,W]; got dtype {images.dtype}.", nameof(images));
        }

        if (images.dim() != 4)
        {
            throw new ArgumentException($"Images must be a 4-dimensional tensor [N,C,H,W]; got shape [{string.Join(",", images.shape)}].", nameof(images));
        }

        if (images.shape[0] == 0 || images.shape[1] == 0 || images.shape[2] == 0 || images.shape[3] == 0)
        {
            throw new ArgumentException($"Images must hold at least one non-empty image; got shape [{string.Join(",", images.shape)}].", nameof(images));
        }

        // Ownership: whatever tensor we end up not keeping (the caller's GPU or strided tensor, an
        // intermediate CPU copy) is disposed here, so the dataset never leaves a tensor behind.
        Tensor owned = images.device_type == DeviceType.CPU ? images : images.cpu();
        _images = owned.is_contiguous() ? owned : owned.contiguous();
        if (!ReferenceEquals(owned, _images))
        {
            owned.Dispose();
        }

        if (!ReferenceEquals(images, _images) && !ReferenceEquals(images, owned))
        {
            images.Dispose();
        }

        _images.DetachFromDisposeScope();
        Count = checked((int)_images.shape[0]);
        Shape = new ImageShape((int)_images.shape[1], (int)_images.shape[2], (int)_images.shape[3]);
    }

    /// <summary>Creates a dataset from raw bytes laid out as [N,C,H,W].</summary>
    /// <exception cref="ArgumentException">The byte count is not N·C·H·W.</exception>
    public static InMemoryImageDataset FromBytes(byte[] pixels, int count, ImageShape shape)
    {
        ArgumentNullException.ThrowIfNull(pixels);
        CheckPixelCount(pixels, count, shape);
        return new InMemoryImageDataset(tensor(pixels, shape.BatchShape(count), ScalarType.Byte));
    }

    /// <inheritdoc />
    public int Count { get; }

    /// <inheritdoc />
    public ImageShape Shape { get; }

    /// <summary>The whole uint8 tensor [N,C,H,W]; owned by the dataset, do not dispose.</summary>
    public Tensor Images
    {
        get
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            return _images;
        }
    }

    /// <inheritdoc />
    public Tensor GetBatch(ReadOnlySpan<int> indices)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        var positions = new long[indices.Length];
        for (int i = 0; i < indices.Length; i++)
        {
            int index = indices[i];
            if ((uint)index >= (uint)Count)
            {
                throw new ArgumentOutOfRangeException(nameof(indices), index, $"Index {index} at position {i} is outside the dataset's {Count} images.");
            }

            positions[i] = index;
        }

        using var select = tensor(positions, ScalarType.Int64);
        return _images.index_select(0, select);
    }

    /// <inheritdoc />
    public void Dispose()
    {
        Dispose(true);
        GC.SuppressFinalize(this);
    }

    /// <summary>Releases the image tensor.</summary>
    protected virtual void Dispose(bool disposing)
    {
        if (!_disposed && disposing)
        {
            _images.Dispose();
        }

        _disposed = true;
    }

    internal static void CheckPixelCount(byte[] pixels, int count, ImageShape shape)
    {
        if (count <= 0)
        {
            throw new ArgumentOutOfRangeException(nameof(count), count, "A dataset needs at least one image.");
        }

        if (shape.Channels <= 0 || shape.Height <= 0 || shape.Width <= 0)
        {
            throw new ArgumentOutOfRangeException(nameof(shape), shape, "Every image dimension must be positive.");
        }

        long expected = count * shape.Elements;
        if (pixels.LongLength != expected)
        {
            throw new ArgumentException($"{count} images of shape {shape} need {expected} bytes; got {pixels.LongLength}.", nameof(pixels));
        }
    }
}
