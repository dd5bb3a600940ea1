using UnsupervisedFinetuning.Mixing;
using UnsupervisedFinetuning.Replay;

namespace UnsupervisedFinetuning.Samples.Quickstart;

/// <summary>One recipe of the comparison: what replay and mixing it uses (null = none), or no training at all.</summary>
internal sealed record Arm(string Name, bool Train, ReplayOptions? Replay, MixingOptions? Mixing)
{
    public const string PretrainedOnly = "pretrained only";
    public const string Naive = "naive UFT";

    public static IReadOnlyList<Arm> All(Settings settings)
    {
        var replay = new ReplayOptions { Mode = ReplayMode.Sparse, Ratio = settings.ReplayRatio, Composition = ReplayComposition.Union };
        var mixing = new MixingOptions
        {
            Mode = Enum.Parse<MixingMode>(settings.MixingMode, ignoreCase: true),
            Alpha = settings.MixingAlpha,
            Compute = Enum.Parse<MixingCompute>(settings.MixingCompute, ignoreCase: true),
        };
        return
        [
            new(PretrainedOnly, false, null, null),
            new(Naive, true, null, null),
            new("sparse replay", true, replay, null),
            new("mixing", true, null, mixing),
            new("replay + mixing", true, replay, mixing),
        ];
    }

    /// <summary>
    /// Steps for equal compute: every trained arm makes the same number of online forward/backward image
    /// passes. Mixing in Add mode costs two query passes per step, so then the arms without mixing get
    /// twice the steps of the mixing arms.
    /// </summary>
    public int Steps(Settings settings)
    {
        bool addMode = string.Equals(settings.MixingCompute, nameof(MixingCompute.Add), StringComparison.OrdinalIgnoreCase);
        return addMode && Mixing is null ? 2 * settings.Steps : settings.Steps;
    }
}
