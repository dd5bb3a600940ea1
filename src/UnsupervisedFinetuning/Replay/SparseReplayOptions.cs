using Microsoft.Extensions.Options;

namespace UnsupervisedFinetuning.Replay;

/// <summary>How batches are composed from target and replayed images.</summary>
public enum ReplayComposition
{
    /// <summary>Each epoch shuffles D_t ∪ S and cuts it into batches; the share of source images varies per batch.</summary>
    Union,

    /// <summary>Every batch holds round(B·r/(1+r)) source images (r = |S|/|D_t|); an epoch is one pass over the target set.</summary>
    FixedShare,
}

/// <summary>Options of <see cref="SparseSourceReplay"/>. Every default is the specification's (DESIGN §2).</summary>
public sealed class SparseReplayOptions
{
    /// <summary>|S| = round(Ratio · |D_t|), finite and &gt; 0; used when <see cref="Count"/> is null. Default 0.25.</summary>
    public double Ratio { get; set; } = 0.25;

    /// <summary>An absolute |S| (at least 1) that overrides <see cref="Ratio"/>. Default null.</summary>
    public int? Count { get; set; }

    /// <summary>Batch composition. Default <see cref="ReplayComposition.Union"/>.</summary>
    public ReplayComposition Composition { get; set; } = ReplayComposition.Union;

    /// <summary>
    /// Which source images are replayed. Default <see cref="ReplaySelection.Uniform"/>. A selector passed to
    /// <see cref="SparseSourceReplay"/> directly takes the place of this rule.
    /// </summary>
    public ReplaySelection Selection { get; set; } = ReplaySelection.Uniform;

    /// <summary>
    /// With <see cref="ReplaySelection.TargetNearest"/>: the share of the subset drawn uniformly from the source
    /// images not chosen as nearest, in [0, 1]. Default 0 (all nearest). Must stay 0 with the other rules.
    /// </summary>
    public double UniformFraction { get; set; }

    /// <summary>
    /// Choose among a uniformly random sample of this many source images instead of the whole source set (null, the
    /// default: the whole set). Bounds the cost of the rules that read features — one forward pass per pooled image
    /// instead of per source image — at the price of choosing from a sample; at least the subset size.
    /// </summary>
    public int? SelectionPool { get; set; }

    /// <summary>The replay subset size for a target set of <paramref name="targetCount"/> images.</summary>
    public int SubsetSize(int targetCount) => Count ?? (int)Math.Round(Ratio * targetCount, MidpointRounding.AwayFromZero);

    internal SparseReplayOptions Clone() => (SparseReplayOptions)MemberwiseClone();
}

/// <summary>Validates <see cref="SparseReplayOptions"/>, naming every field that is out of range.</summary>
internal sealed class SparseReplayOptionsValidator : IValidateOptions<SparseReplayOptions>
{
    public ValidateOptionsResult Validate(string? name, SparseReplayOptions options)
    {
        var check = new OptionsFailures(nameof(SparseReplayOptions));
        check.Require(double.IsFinite(options.Ratio) && options.Ratio > 0, nameof(options.Ratio), options.Ratio, "a finite value > 0");
        check.Require(options.Count is null or > 0, nameof(options.Count), options.Count, "null (use Ratio) or a positive number of source images");
        check.Require(Enum.IsDefined(options.Selection), nameof(options.Selection), options.Selection, "Uniform, Coverage, TargetNearest or ClassBalanced");
        check.Require(options.UniformFraction >= 0 && options.UniformFraction <= 1, nameof(options.UniformFraction), options.UniformFraction, "a share in [0, 1]");
        check.Require(options.UniformFraction == 0 || options.Selection == ReplaySelection.TargetNearest, nameof(options.UniformFraction), options.UniformFraction,
            $"0 unless Selection is TargetNearest (Selection is {options.Selection})");
        check.Require(options.SelectionPool is null or > 0, nameof(options.SelectionPool), options.SelectionPool, "null (the whole source set) or a positive number of source images");
        check.Require(Enum.IsDefined(options.Composition), nameof(options.Composition), options.Composition, "Union or FixedShare");
        return check.Result();
    }
}
