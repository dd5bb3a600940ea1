using static TorchSharp.torch;

namespace UnsupervisedFinetuning.Augment;

/// <summary>Mirrors each image left-to-right with probability <see cref="RandomlyAppliedTransform.Probability"/> (an exact pixel mirror).</summary>
public sealed class RandomHorizontalFlip : RandomlyAppliedTransform
{
    /// <summary>Creates the transform.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The probability is outside [0, 1].</exception>
    public RandomHorizontalFlip(double probability = 0.5)
        : base(probability)
    {
    }

    /// <inheritdoc />
    protected override Tensor Transform(Tensor selected) => selected.flip(3);
}
