using static TorchSharp.torch;

namespace UnsupervisedFinetuning.Augment;

/// <summary>
/// One augmentation applied to a whole batch at once, with parameters drawn per sample from a seeded
/// generator, so that samples of one batch get different parameters and the same seed reproduces the
/// output bit for bit. Works on the device of its input (CPU or GPU).
/// </summary>
public interface IBatchTransform
{
    /// <summary>
    /// Transforms <paramref name="images"/>, float32 [B,C,H,W] with values in [0, 1] (before
    /// <see cref="Normalize"/>), into a new tensor; the input is not modified.
    /// </summary>
    Tensor Apply(Tensor images, SeededRandom random);
}
