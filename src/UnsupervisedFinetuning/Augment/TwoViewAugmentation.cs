using static TorchSharp.torch;

namespace UnsupervisedFinetuning.Augment;

/// <summary>
/// Produces the two random views of each image that contrastive objectives compare: the query view
/// (first) and the key / target view (second). The views may use different pipelines (BYOL's are
/// asymmetric). Draws for the first view all happen before draws for the second, so a seed fixes both.
/// </summary>
public sealed class TwoViewAugmentation
{
    /// <summary>Creates the two-view augmentation.</summary>
    /// <param name="first">Pipeline of the query view.</param>
    /// <param name="second">Pipeline of the key view; <see langword="null"/> uses <paramref name="first"/> (symmetric views).</param>
    public TwoViewAugmentation(AugmentationPipeline first, AugmentationPipeline? second = null)
    {
        ArgumentNullException.ThrowIfNull(first);
        First = first;
        Second = second ?? first;
        Normalize? a = First.Normalization;
        Normalize? b = Second.Normalization;
        if ((a is null) != (b is null) || (a is not null && b is not null && (!a.Mean.SequenceEqual(b.Mean) || !a.Std.SequenceEqual(b.Std))))
        {
            throw new ArgumentException("Both views must end with the same normalisation (or none), so that features are comparable.", nameof(second));
        }
    }

    /// <summary>The query view's pipeline.</summary>
    public AugmentationPipeline First { get; }

    /// <summary>The key view's pipeline.</summary>
    public AugmentationPipeline Second { get; }

    /// <summary>The normalisation both views end with, if any; evaluation applies the same.</summary>
    public Normalize? Normalization => First.Normalization;

    /// <summary>
    /// Two views of <paramref name="images"/> (uint8 or float [B,C,H,W]) on the input's device.
    /// The caller owns both tensors.
    /// </summary>
    public (Tensor First, Tensor Second) Apply(Tensor images, SeededRandom random)
    {
        ArgumentNullException.ThrowIfNull(images);
        ArgumentNullException.ThrowIfNull(random);
        using var scope = NewDisposeScope();
        var x = AugmentationPipeline.ToFloat(images);
        var first = First.Apply(x, random);
        var second = Second.Apply(x, random);
        return (first.MoveToOuterDisposeScope(), second.MoveToOuterDisposeScope());
    }

    /// <summary>
    /// The deterministic transform for evaluation and feature extraction: uint8 → float in [0, 1], resized
    /// to <paramref name="height"/>×<paramref name="width"/> when the images differ in size (bilinear, whole
    /// image), then the same normalisation as training.
    /// </summary>
    public Tensor Evaluate(Tensor images, int height, int width) => EvaluationTransform(images, height, width, Normalization);

    /// <summary>uint8 → float in [0, 1], resized to <paramref name="height"/>×<paramref name="width"/> when needed, then <paramref name="normalization"/>.</summary>
    internal static Tensor EvaluationTransform(Tensor images, int height, int width, Normalize? normalization)
    {
        ArgumentNullException.ThrowIfNull(images);
        using var scope = NewDisposeScope();
        var x = AugmentationPipeline.ToFloat(images);
        if (x.shape[2] != height || x.shape[3] != width)
        {
            var whole = Enumerable.Repeat(new CropBox(0, 0, (int)x.shape[2], (int)x.shape[3]), (int)x.shape[0]).ToArray();
            x = RandomResizedCrop.Resample(x, whole, height, width);
        }

        if (normalization is not null)
        {
            x = normalization.Apply(x);
        }

        return x.MoveToOuterDisposeScope();
    }
}
