namespace UnsupervisedFinetuning.Mixing;

/// <summary>How query views are mixed.</summary>
public enum MixingMode
{
    /// <summary>No mixing.</summary>
    None,

    /// <summary>Mixup: x̃ = λ·x + (1 − λ)·x[π].</summary>
    Mixup,

    /// <summary>CutMix: a box of area ≈ (1 − λ) from x[π] is pasted into x; λ is recomputed from the box actually pasted.</summary>
    CutMix,
}

/// <summary>Which samples may be mixing partners.</summary>
public enum MixingPartners
{
    /// <summary>Target images mix with target images; replayed source images stay unmixed.</summary>
    TargetOnly,

    /// <summary>Any image of the batch, target or replayed source.</summary>
    All,
}

/// <summary>The form of the mixed contrastive loss.</summary>
public enum MixingLossForm
{
    /// <summary>Un-Mix: λ·L(q̃, k) + (1 − λ)·L(q̃, k_π), each term the objective's own loss (for InfoNCE, against the queue).</summary>
    UnMix,

    /// <summary>i-Mix: logits against [all in-batch keys, queue] with soft target λ on k_i and 1 − λ on k_π(i) (InfoNCE only).</summary>
    IMix,
}

/// <summary>How mixing spends compute.</summary>
public enum MixingCompute
{
    /// <summary>Mixed queries take the place of the plain ones: no extra pass.</summary>
    Replace,

    /// <summary>A second, mixed query pass whose loss is averaged with the plain loss (as Un-Mix does): ≈ 1.7× the cost of a step.</summary>
    Add,
}

/// <summary>Options of data mixing. Every default is the specification's (DESIGN.md §2).</summary>
public sealed class MixingOptions
{
    /// <summary>Mixing method. Default <see cref="MixingMode.None"/>.</summary>
    public MixingMode Mode { get; set; } = MixingMode.None;

    /// <summary>α of λ ~ Beta(α, α). Default 1 (λ uniform).</summary>
    public double Alpha { get; set; } = 1.0;

    /// <summary>Probability that a batch is mixed at all. Default 1.</summary>
    public double Probability { get; set; } = 1.0;

    /// <summary>Partner pool. Default <see cref="MixingPartners.All"/> (target ∪ replayed source).</summary>
    public MixingPartners Partners { get; set; } = MixingPartners.All;

    /// <summary>Fold λ to max(λ, 1 − λ) so the anchor image dominates (as the i-Mix reference code does). Default true.</summary>
    public bool FoldLambda { get; set; } = true;

    /// <summary>Loss form. Default <see cref="MixingLossForm.UnMix"/>.</summary>
    public MixingLossForm LossForm { get; set; } = MixingLossForm.UnMix;

    /// <summary>Compute mode. Default <see cref="MixingCompute.Replace"/> (equal cost per step).</summary>
    public MixingCompute Compute { get; set; } = MixingCompute.Replace;

    /// <summary>Throws when a value is out of range, naming the option.</summary>
    public void Validate()
    {
        if (!Enum.IsDefined(Mode))
        {
            throw new ArgumentOutOfRangeException(nameof(Mode), Mode, "MixingOptions.Mode must be None, Mixup or CutMix.");
        }

        if (!(Alpha > 0) || double.IsInfinity(Alpha))
        {
            throw new ArgumentOutOfRangeException(nameof(Alpha), Alpha, "MixingOptions.Alpha must be a finite value > 0 (λ ~ Beta(α, α)).");
        }

        if (!(Probability >= 0 && Probability <= 1))
        {
            throw new ArgumentOutOfRangeException(nameof(Probability), Probability, "MixingOptions.Probability must lie in [0, 1].");
        }

        if (!Enum.IsDefined(Partners) || !Enum.IsDefined(LossForm) || !Enum.IsDefined(Compute))
        {
            throw new ArgumentOutOfRangeException(nameof(Partners), "MixingOptions.Partners, LossForm and Compute must be defined values.");
        }
    }
}
