using static TorchSharp.torch;

namespace UnsupervisedFinetuning.Augment;

/// <summary>
/// A sequence of batch transforms forming one view. Accepts a uint8 batch [B,C,H,W] (0–255, as datasets
/// return it) or a float batch in [0, 1]; uint8 input is converted to float32 / 255 on its own device
/// first, so move the compact uint8 batch to the GPU before augmenting.
/// </summary>
public sealed class AugmentationPipeline : IBatchTransform
{
    private readonly IBatchTransform[] _transforms;

    /// <summary>Creates the pipeline; transforms run in the given order.</summary>
    public AugmentationPipeline(params IBatchTransform[] transforms)
    {
        ArgumentNullException.ThrowIfNull(transforms);
        for (int i = 0; i < transforms.Length; i++)
        {
            ArgumentNullException.ThrowIfNull(transforms[i], $"{nameof(transforms)}[{i}]");
        }

        _transforms = [.. transforms];
        Normalization = _transforms.OfType<Normalize>().LastOrDefault();
    }

    /// <summary>The transforms, in order.</summary>
    public IReadOnlyList<IBatchTransform> Transforms => _transforms;

    /// <summary>The pipeline's final <see cref="Normalize"/> step, if any (evaluation must use the same statistics).</summary>
    public Normalize? Normalization { get; }

    /// <inheritdoc />
    /// <exception cref="ArgumentException">The batch is not 4-dimensional, or is neither uint8 nor floating point.</exception>
    public Tensor Apply(Tensor images, SeededRandom random)
    {
        ArgumentNullException.ThrowIfNull(images);
        ArgumentNullException.ThrowIfNull(random);
        using var scope = NewDisposeScope();
        var x = ToFloat(images);
        foreach (var transform in _transforms)
        {
            x = transform.Apply(x, random);
        }

        return x.MoveToOuterDisposeScope();
    }

    /// <summary>uint8 [B,C,H,W] → float32 in [0, 1]; float input is returned as is (an alias).</summary>
    public static Tensor ToFloat(Tensor images)
    {
        ArgumentNullException.ThrowIfNull(images);
        if (images.dim() != 4)
        {
            throw new ArgumentException($"Augmentation expects a batch [B,C,H,W]; got shape [{string.Join(",", images.shape)}].", nameof(images));
        }

        if (images.dtype == ScalarType.Byte)
        {
            return images.to(ScalarType.Float32).div_(255f);
        }

        if (!images.is_floating_point())
        {
            throw new ArgumentException($"Augmentation expects uint8 or floating-point images; got {images.dtype}.", nameof(images));
        }

        return images.alias();
    }
}
