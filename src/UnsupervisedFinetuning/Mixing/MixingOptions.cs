using Microsoft.Extensions.Options;

namespace UnsupervisedFinetuning.Mixing;

/// <summary>Which samples may be mixing partners.</summary>
public enum MixingPartners
{
    /// <summary>Target images mix with target images; replayed source images stay unmixed.</summary>
    TargetOnly,

    /// <summary>Any image of the batch, target or replayed source.</summary>
    All,
}

/// <summary>Options of <see cref="Mixup"/> and <see cref="CutMix"/>. Every default is the specification's (DESIGN §2).</summary>
public sealed class MixingOptions
{
    /// <summary>α of λ ~ Beta(α, α), finite and &gt; 0. Default 1 (λ uniform).</summary>
    public double Alpha { get; set; } = 1.0;

    /// <summary>Probability that a batch is mixed at all, in [0, 1]. Default 1.</summary>
    public double Probability { get; set; } = 1.0;

    /// <summary>Partner pool. Default <see cref="MixingPartners.All"/> (target ∪ replayed source).</summary>
    public MixingPartners Partners { get; set; } = MixingPartners.All;

    /// <summary>Fold λ to max(λ, 1 − λ) so the anchor image dominates (as the i-Mix reference code does). Default true.</summary>
    public bool FoldLambda { get; set; } = true;

    internal MixingOptions Clone() => (MixingOptions)MemberwiseClone();
}

/// <summary>Validates <see cref="MixingOptions"/>, naming every field that is out of range.</summary>
internal sealed class MixingOptionsValidator : IValidateOptions<MixingOptions>
{
    public ValidateOptionsResult Validate(string? name, MixingOptions options)
    {
        var check = new OptionsFailures(nameof(MixingOptions));
        check.Require(double.IsFinite(options.Alpha) && options.Alpha > 0, nameof(options.Alpha), options.Alpha, "a finite value > 0 (λ ~ Beta(α, α))");
        check.Require(options.Probability is >= 0 and <= 1, nameof(options.Probability), options.Probability, "a value in [0, 1]");
        check.Require(Enum.IsDefined(options.Partners), nameof(options.Partners), options.Partners, "TargetOnly or All");
        return check.Result();
    }
}
