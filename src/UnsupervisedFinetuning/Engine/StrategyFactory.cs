using UnsupervisedFinetuning.Augment;
using UnsupervisedFinetuning.Mixing;
using UnsupervisedFinetuning.Objectives;
using UnsupervisedFinetuning.Replay;

namespace UnsupervisedFinetuning.Engine;

/// <summary>Builds the strategies an options object names: replay sampler, mixing strategy, objective, augmentation.</summary>
public static class StrategyFactory
{
    /// <summary><see cref="NoReplay"/> or <see cref="SparseSourceReplay"/>.</summary>
    public static IReplaySampler Replay(ReplayOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        return options.Mode == ReplayMode.None ? NoReplay.Instance : new SparseSourceReplay(options);
    }

    /// <summary><see cref="NoMixing"/>, <see cref="Mixup"/> or <see cref="CutMix"/>.</summary>
    public static IMixingStrategy Mixing(MixingOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        return options.Mode switch
        {
            MixingMode.Mixup => new Mixup(options),
            MixingMode.CutMix => new CutMix(options),
            _ => NoMixing.Instance,
        };
    }

    /// <summary>InfoNCE, NT-Xent or BYOL with the options' temperature.</summary>
    public static IContrastiveObjective Objective(FinetuneOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        return options.Objective switch
        {
            ObjectiveKind.SimClr => new NtXentLoss(options.EffectiveTemperature),
            ObjectiveKind.Byol => new ByolLoss(),
            _ => new InfoNceLoss(options.EffectiveTemperature),
        };
    }

    /// <summary>The two-view augmentation for images of <paramref name="channels"/> channels, output side <paramref name="size"/>.</summary>
    public static TwoViewAugmentation Augmentation(FinetuneOptions options, int channels, int size)
    {
        ArgumentNullException.ThrowIfNull(options);
        var preset = options.Augmentation;
        if (preset == AugmentationPreset.Auto)
        {
            preset = size <= 64 ? AugmentationPreset.SmallImage : options.Objective switch
            {
                ObjectiveKind.SimClr => AugmentationPreset.SimClr,
                ObjectiveKind.Byol => AugmentationPreset.Byol,
                _ => AugmentationPreset.MocoV2,
            };
        }

        IReadOnlyList<float>? mean = options.NormalizationMean;
        IReadOnlyList<float>? std = options.NormalizationStd;
        if (mean is null && channels != 3)
        {
            mean = Enumerable.Repeat(0.5f, channels).ToArray();
            std = Enumerable.Repeat(0.5f, channels).ToArray();
        }

        return preset switch
        {
            AugmentationPreset.MocoV2 => AugmentationPresets.MocoV2(size, mean, std),
            AugmentationPreset.SimClr => AugmentationPresets.SimClr(size, mean, std),
            AugmentationPreset.Byol => AugmentationPresets.Byol(size, mean, std),
            _ => AugmentationPresets.SmallImage(size, channels, flip: true, mean, std),
        };
    }
}
