using static TorchSharp.torch;

namespace UnsupervisedFinetuning.Augment;

/// <summary>
/// Base of transforms that change a random subset of the batch in one fixed way: each sample is chosen
/// with probability <see cref="Probability"/> (one draw per sample, in order), and
/// <see cref="Transform"/> runs on the chosen samples only; the others are returned bit-identical.
/// </summary>
public abstract class RandomlyAppliedTransform : IBatchTransform
{
    /// <summary>Sets the probability.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The probability is outside [0, 1].</exception>
    protected RandomlyAppliedTransform(double probability)
    {
        Probability = Check.Probability(probability, nameof(probability));
    }

    /// <summary>Chance that a sample is transformed.</summary>
    public double Probability { get; }

    /// <inheritdoc />
    public Tensor Apply(Tensor images, SeededRandom random)
    {
        ArgumentNullException.ThrowIfNull(images);
        ArgumentNullException.ThrowIfNull(random);
        var selected = Check.DrawSelection((int)images.shape[0], Probability, random);
        return BatchOps.ApplyToSubset(images, selected, Transform);
    }

    /// <summary>Transforms the chosen samples, float [n,C,H,W].</summary>
    protected abstract Tensor Transform(Tensor selected);
}
