namespace UnsupervisedFinetuning.Replay;

/// <summary>The replay selection rules the library ships, by name; add your own with <see cref="Catalog{TEntry}.With"/>.</summary>
public static class ReplaySelectionCatalog
{
    /// <summary>uniform, coverage, target-nearest, class-balanced — in this order.</summary>
    public static Catalog<ReplaySelectionEntry> BuiltIn { get; } = new(
    [
        ReplaySelectionEntry.BuiltIn("uniform", "a uniformly random subset, the paper's rule", false, ReplaySelection.Uniform, _ => UniformReplaySelector.Instance),
        ReplaySelectionEntry.BuiltIn("coverage", "spread over the pretrained features by greedy k-center", false, ReplaySelection.Coverage, _ => CoverageReplaySelector.Instance),
        ReplaySelectionEntry.BuiltIn("target-nearest", "the source images nearest to the target images in the pretrained features", false, ReplaySelection.TargetNearest, o => new TargetNearestReplaySelector(o.UniformFraction)),
        ReplaySelectionEntry.BuiltIn("class-balanced", "equal per source class; the source needs one sub-folder per class", true, ReplaySelection.ClassBalanced, _ => ClassBalancedReplaySelector.Instance),
    ]);
}
