namespace UnsupervisedFinetuning.Replay;

/// <summary>
/// Which source images sparse replay chooses (<see cref="SparseReplayOptions.Selection"/>). Every rule but
/// <see cref="Uniform"/> and <see cref="ClassBalanced"/> reads the pretrained backbone's features of the
/// source set once, before training (the images are embedded in batches; memory is the [N, D] float32 feature
/// matrix plus one batch).
/// </summary>
public enum ReplaySelection
{
    /// <summary>A uniformly random subset, drawn with the run's seed (the paper's rule; <see cref="UniformReplaySelector"/>).</summary>
    Uniform,

    /// <summary>
    /// Spread over the source representation: greedy k-center on the cosine distances of the pretrained features
    /// (<see cref="CoverageReplaySelector"/>).
    /// </summary>
    Coverage,

    /// <summary>
    /// The source images nearest to the target set in the pretrained feature space, optionally mixed with a
    /// uniform share (<see cref="SparseReplayOptions.UniformFraction"/>; <see cref="TargetNearestReplaySelector"/>).
    /// </summary>
    TargetNearest,

    /// <summary>
    /// An equal number of images from every source class, uniformly within a class; needs the source labels
    /// (<see cref="ClassBalancedReplaySelector"/>).
    /// </summary>
    ClassBalanced,
}
