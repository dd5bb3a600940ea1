using static TorchSharp.torch;

namespace UnsupervisedFinetuning.Augment;

/// <summary>Per-channel standardisation (x − mean) / std; deterministic, draws nothing.</summary>
public sealed class Normalize : IBatchTransform
{
    private readonly float[] _mean;
    private readonly float[] _std;

    /// <summary>Creates the transform.</summary>
    /// <exception cref="ArgumentException">Mean and std differ in length, are empty, or a std is not positive.</exception>
    public Normalize(IReadOnlyList<float> mean, IReadOnlyList<float> std)
    {
        ArgumentNullException.ThrowIfNull(mean);
        ArgumentNullException.ThrowIfNull(std);
        if (mean.Count == 0 || mean.Count != std.Count)
        {
            throw new ArgumentException($"Normalize needs one mean and one std per channel; got {mean.Count} means and {std.Count} stds.", nameof(std));
        }

        if (std.Any(s => !(s > 0) || float.IsInfinity(s)))
        {
            throw new ArgumentException($"Normalize std values must be positive and finite; got [{string.Join(", ", std)}].", nameof(std));
        }

        _mean = [.. mean];
        _std = [.. std];
    }

    /// <summary>ImageNet channel means (RGB), the statistics torchvision models are trained with.</summary>
    public static IReadOnlyList<float> ImageNetMean { get; } = [0.485f, 0.456f, 0.406f];

    /// <summary>ImageNet channel standard deviations (RGB).</summary>
    public static IReadOnlyList<float> ImageNetStd { get; } = [0.229f, 0.224f, 0.225f];

    /// <summary>Per-channel means.</summary>
    public IReadOnlyList<float> Mean => _mean;

    /// <summary>Per-channel standard deviations.</summary>
    public IReadOnlyList<float> Std => _std;

    /// <inheritdoc />
    public Tensor Apply(Tensor images, SeededRandom random) => Apply(images);

    /// <summary>Standardises <paramref name="images"/> [B,C,H,W]; C must equal the number of means.</summary>
    /// <exception cref="ArgumentException">The channel count differs.</exception>
    public Tensor Apply(Tensor images)
    {
        ArgumentNullException.ThrowIfNull(images);
        if (images.shape[1] != _mean.Length)
        {
            throw new ArgumentException($"Normalize was configured for {_mean.Length} channels but the images have {images.shape[1]}.", nameof(images));
        }

        using var scope = NewDisposeScope();
        var mean = tensor(_mean, ScalarType.Float32).view(1, -1, 1, 1).to(images.device).to(images.dtype);
        var std = tensor(_std, ScalarType.Float32).view(1, -1, 1, 1).to(images.device).to(images.dtype);
        return ((images - mean) / std).MoveToOuterDisposeScope();
    }
}
