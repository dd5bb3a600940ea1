using UnsupervisedFinetuning.Engine;
using UnsupervisedFinetuning.Mixing;
using UnsupervisedFinetuning.Replay;

namespace UnsupervisedFinetuning.Samples.Quickstart;

/// <summary>
/// One recipe of the comparison: whether it replays source images (at <paramref name="Ratio"/>, or the settings'
/// ratio when null, chosen by <paramref name="Selection"/>) and mixes queries, or no training at all.
/// </summary>
internal sealed record Arm(string Name, bool Train, bool Replay, bool Mixing, double? Ratio = null, ReplaySelection Selection = ReplaySelection.Uniform)
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

    /// <summary>
    /// The sweep's arms: replay ratio {0, 0.1, 0.25, 0.5, 1} × mixing {off, on} with uniform selection (the grid),
    /// and each other selection rule at the settings' ratio × mixing {off, on} (the rules), after the pretrained backbone.
    /// </summary>
    public static IReadOnlyList<Arm> Sweep(Settings settings, bool grid, bool rules)
    {
        var arms = new List<Arm> { new(PretrainedOnly, false, false, false) };
        foreach (bool mixing in (bool[])[false, true])
        {
            if (grid)
            {
                foreach (double ratio in (double[])[0, 0.1, 0.25, 0.5, 1])
                {
                    arms.Add(new(SweepName(ratio, ReplaySelection.Uniform, mixing), true, ratio > 0, mixing, ratio > 0 ? ratio : null));
                }
            }

            if (rules)
            {
                foreach (var selection in (ReplaySelection[])[ReplaySelection.Coverage, ReplaySelection.TargetNearest, ReplaySelection.ClassBalanced])
                {
                    arms.Add(new(SweepName(settings.ReplayRatio, selection, mixing), true, true, mixing, settings.ReplayRatio, selection));
                }
            }
        }

        return arms;
    }

    /// <summary>"replay 0.25 coverage + mixing", "replay 0 (naive)", …: the sweep's arm names.</summary>
    public static string SweepName(double ratio, ReplaySelection selection, bool mixing)
    {
        string replay = ratio == 0 ? "replay 0" : $"replay {ratio.ToString(System.Globalization.CultureInfo.InvariantCulture)} {SelectionName(selection)}";
        return replay + (mixing ? " + mixing" : "");
    }

    /// <summary>The command-line name of a selection rule.</summary>
    public static string SelectionName(ReplaySelection selection) => selection switch
    {
        ReplaySelection.Coverage => "coverage",
        ReplaySelection.TargetNearest => "target-nearest",
        ReplaySelection.ClassBalanced => "class-balanced",
        _ => "uniform",
    };

    /// <summary>The arm's replay: sparse replay at its ratio with its selection rule (Union composition), or none.</summary>
    public IReplaySampler ReplaySampler(Settings settings) =>
        Replay ? new SparseSourceReplay(new SparseReplayOptions { Ratio = Ratio ?? settings.ReplayRatio, Selection = Selection, Composition = ReplayComposition.Union }) : NoReplay.Instance;

    /// <summary>The arm's mixing: mixup or CutMix with the settings' α, or none.</summary>
    public IMixingStrategy MixingStrategy(Settings settings)
    {
        if (!Mixing)
        {
            return NoMixing.Instance;
        }

        var options = new MixingOptions { Alpha = settings.MixingAlpha };
        return MixingCatalog.BuiltIn.Get(settings.MixingMode).Create(options);
    }

    /// <summary>
    /// Steps for equal compute: every trained arm makes the same number of online forward/backward image
    /// passes. Mixing in Add mode costs two query passes per step, so then the arms without mixing get
    /// twice the steps of the mixing arms.
    /// </summary>
    public int Steps(Settings settings) => settings.MixingCompute == MixingCompute.Add && !Mixing ? 2 * settings.Steps : settings.Steps;
}
