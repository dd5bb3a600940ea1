using UnsupervisedFinetuning.Engine;
using UnsupervisedFinetuning.Mixing;
using UnsupervisedFinetuning.Replay;

namespace UnsupervisedFinetuning.Samples.Quickstart;

/// <summary>One recipe of the comparison: whether it replays source images and mixes queries, or no training at all.</summary>
internal sealed record Arm(string Name, bool Train, bool Replay, bool Mixing)
{
    public const string PretrainedOnly = "pretrained only";
    public const string Naive = "naive UFT";

    public static IReadOnlyList<Arm> All() =>
    [
        new(PretrainedOnly, false, false, false),
        new(Naive, true, false, false),
        new("sparse replay", true, true, false),
        new("mixing", true, false, true),
        new("replay + mixing", true, true, true),
    ];

    /// <summary>The arm's replay: sparse replay at the settings' ratio (Union composition), or none.</summary>
    public IReplaySampler ReplaySampler(Settings settings) =>
        Replay ? new SparseSourceReplay(new SparseReplayOptions { Ratio = settings.ReplayRatio, Composition = ReplayComposition.Union }) : NoReplay.Instance;

    /// <summary>The arm's mixing: mixup or CutMix with the settings' α, or none.</summary>
    public IMixingStrategy MixingStrategy(Settings settings)
    {
        if (!Mixing)
        {
            return NoMixing.Instance;
        }

        var options = new MixingOptions { Alpha = settings.MixingAlpha };
        return settings.MixingMode == "cutmix" ? new CutMix(options) : new Mixup(options);
    }

    /// <summary>
    /// Steps for equal compute: every trained arm makes the same number of online forward/backward image
    /// passes. Mixing in Add mode costs two query passes per step, so then the arms without mixing get
    /// twice the steps of the mixing arms.
    /// </summary>
    public int Steps(Settings settings) => settings.MixingCompute == MixingCompute.Add && !Mixing ? 2 * settings.Steps : settings.Steps;
}
