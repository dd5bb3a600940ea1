using static TorchSharp.torch;

namespace UnsupervisedFinetuning.Augment;

/// <summary>
/// Replaces each RGB image, with probability <see cref="RandomlyAppliedTransform.Probability"/>, by its
/// ITU-R 601-2 luma (0.299 R + 0.587 G + 0.114 B) repeated in all three channels. One-channel images are
/// unchanged (the draws are still made, so the random sequence does not depend on the channel count).
/// </summary>
public sealed class RandomGrayscale : RandomlyAppliedTransform
{
    /// <summary>Creates the transform.</summary>
    public RandomGrayscale(double probability = 0.2)
        : base(probability)
    {
    }

    /// <inheritdoc />
    protected override Tensor Transform(Tensor selected) =>
        selected.shape[1] == 1 ? selected.alias() : BatchOps.Luma(selected).expand(selected.shape).contiguous();
}
