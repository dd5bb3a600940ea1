using static TorchSharp.torch;

namespace UnsupervisedFinetuning.Augment;

/// <summary>
/// Inverts, with probability <see cref="RandomlyAppliedTransform.Probability"/>, every pixel value at or
/// above <see cref="Threshold"/>: x ↦ 1 − x (BYOL's asymmetric second view uses p = 0.2, threshold 0.5).
/// </summary>
public sealed class RandomSolarize : RandomlyAppliedTransform
{
    /// <summary>Creates the transform.</summary>
    public RandomSolarize(double threshold = 0.5, double probability = 0.2)
        : base(probability)
    {
        if (!(threshold >= 0 && threshold <= 1))
        {
            throw new ArgumentOutOfRangeException(nameof(threshold), threshold, "Solarize threshold must lie in [0, 1] (images are in [0, 1]).");
        }

        Threshold = threshold;
    }

    /// <summary>Values at or above this are inverted.</summary>
    public double Threshold { get; }

    /// <inheritdoc />
    protected override Tensor Transform(Tensor selected) => where(selected.ge(Threshold), 1 - selected, selected);
}
