using UnsupervisedFinetuning.Backbones;
using UnsupervisedFinetuning.Objectives;

namespace UnsupervisedFinetuning.Engine;

/// <summary>The outcome of a finetuning run.</summary>
public sealed class FinetuneResult
{
    internal FinetuneResult(Backbone backbone, ProjectionHead head, ProjectionHead? predictor, IReadOnlyList<EpochSummary> history,
        IReadOnlyList<int> replayedSourceIndices, long steps, long onlineImagePasses, long targetImagePasses, long skippedSteps, string? checkpoint)
    {
        Backbone = backbone;
        Head = head;
        Predictor = predictor;
        History = history;
        ReplayedSourceIndices = replayedSourceIndices;
        Steps = steps;
        OnlineImagePasses = onlineImagePasses;
        TargetImagePasses = targetImagePasses;
        SkippedSteps = skippedSteps;
        CheckpointPath = checkpoint;
    }

    /// <summary>The finetuned backbone (the instance passed in, trained in place).</summary>
    public Backbone Backbone { get; }

    /// <summary>The projection head trained with it.</summary>
    public ProjectionHead Head { get; }

    /// <summary>The predictor trained on the online branch (BYOL, SimSiam); null for methods without one.</summary>
    public ProjectionHead? Predictor { get; }

    /// <summary>Per-epoch summaries, in order.</summary>
    public IReadOnlyList<EpochSummary> History { get; }

    /// <summary>The source images that were replayed (ascending source indices); empty without replay.</summary>
    public IReadOnlyList<int> ReplayedSourceIndices { get; }

    /// <summary>Optimizer steps taken in total (including those before a resume).</summary>
    public long Steps { get; }

    /// <summary>
    /// Images passed forward and backward through the online network (every query view, and SimCLR's and
    /// SimSiam's second views): the compute to equalise when comparing arms.
    /// </summary>
    public long OnlineImagePasses { get; }

    /// <summary>Images passed forward only, without gradients (momentum target, stop-gradient targets).</summary>
    public long TargetImagePasses { get; }

    /// <summary>Steps skipped because their loss was not finite.</summary>
    public long SkippedSteps { get; }

    /// <summary>The last checkpoint written, if checkpointing was on.</summary>
    public string? CheckpointPath { get; }
}
