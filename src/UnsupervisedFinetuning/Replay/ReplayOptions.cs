namespace UnsupervisedFinetuning.Replay;

/// <summary>Whether source images are replayed.</summary>
public enum ReplayMode
{
    /// <summary>Naive finetuning: target images only.</summary>
    None,

    /// <summary>Sparse source replay (Li, Chen et al. 2021): a small fixed subset of source images joins the target set.</summary>
    Sparse,
}

/// <summary>How batches are composed from target and replayed images.</summary>
public enum ReplayComposition
{
    /// <summary>Each epoch shuffles D_t ∪ S and cuts it into batches; the share of source images varies per batch.</summary>
    Union,

    /// <summary>Every batch holds round(B·r/(1+r)) source images (r = |S|/|D_t|); an epoch is one pass over the target set.</summary>
    FixedShare,
}

/// <summary>How the replayed subset is chosen.</summary>
public enum ReplaySelection
{
    /// <summary>Uniformly at random, with the run's seed.</summary>
    Uniform,
}

/// <summary>Options of sparse source replay. Every default is the specification's (DESIGN.md §2).</summary>
public sealed class ReplayOptions
{
    /// <summary>Replay or not. Default <see cref="ReplayMode.None"/>.</summary>
    public ReplayMode Mode { get; set; } = ReplayMode.None;

    /// <summary>|S| = round(Ratio · |D_t|) when <see cref="Count"/> is 0. Default 0.25.</summary>
    public double Ratio { get; set; } = 0.25;

    /// <summary>An absolute |S|; overrides <see cref="Ratio"/> when positive. Default 0.</summary>
    public int Count { get; set; }

    /// <summary>Batch composition. Default <see cref="ReplayComposition.Union"/>.</summary>
    public ReplayComposition Composition { get; set; } = ReplayComposition.Union;

    /// <summary>Subset selection. Default <see cref="ReplaySelection.Uniform"/>.</summary>
    public ReplaySelection Selection { get; set; } = ReplaySelection.Uniform;

    /// <summary>The replay subset size for a target set of <paramref name="targetCount"/> images.</summary>
    public int SubsetSize(int targetCount) =>
        Mode == ReplayMode.None ? 0 : Count > 0 ? Count : (int)Math.Round(Ratio * targetCount, MidpointRounding.AwayFromZero);
}
