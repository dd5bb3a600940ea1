using UnsupervisedFinetuning.Backbones;
using UnsupervisedFinetuning.Monitoring;
using static TorchSharp.torch;
using UnsupervisedFinetuning.Evaluation;

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

    /// <summary>The monitor points of the run in step order, from step 0 (the pretrained backbone) to the last step; empty with monitoring off.</summary>
    public IReadOnlyList<MonitorPoint> Monitoring { get; internal init; } = [];

    /// <summary>
    /// The best point by <see cref="MonitoringOptions.Criterion"/>; null with monitoring off. Until
    /// <see cref="RestoreSelected"/> is called, the result holds a CPU copy of that step's backbone weights.
    /// </summary>
    public MonitorPoint? Selected { get; internal init; }

    /// <summary>Whether the run stopped before its planned steps because the criterion stopped improving (<see cref="MonitoringOptions.Patience"/>).</summary>
    public bool StoppedEarly { get; internal init; }

    /// <summary>Whether <see cref="Backbone"/> holds the weights of <see cref="Selected"/> (after <see cref="RestoreSelected"/> or with <see cref="MonitoringOptions.RestoreBest"/>) rather than the last step's.</summary>
    public bool SelectedRestored { get; private set; }

    /// <summary>The weights of the selected point (CPU), until they are restored.</summary>
    internal Dictionary<string, Tensor>? SelectedWeights { get; init; }

    /// <summary>
    /// Loads the backbone weights of <see cref="Selected"/> into <see cref="Backbone"/> (the head and predictor stay
    /// as last trained). Idempotent. Evaluate the last backbone first if both are wanted: the last weights are not kept.
    /// </summary>
    /// <exception cref="InvalidOperationException">The run was not monitored, so nothing was selected; or the backbone's tensors no longer match the selected weights (e.g. a classifier was added since); the backbone is then unchanged.</exception>
    public void RestoreSelected()
    {
        if (SelectedRestored)
        {
            return;
        }

        if (SelectedWeights is null)
        {
            throw new InvalidOperationException("Nothing was selected: the run was not monitored (FinetuneOptions.Monitoring.Enabled = false).");
        }

        foreach (var (name, tensor) in Backbone.state_dict())
        {
            if (!SelectedWeights.TryGetValue(name, out var saved) || !saved.shape.SequenceEqual(tensor.shape) || saved.dtype != tensor.dtype)
            {
                throw new InvalidOperationException($"The backbone's '{name}' does not match the selected weights (it was added or changed after the run); nothing was restored.");
            }
        }

        using (var noGrad = no_grad())
        {
            foreach (var (name, tensor) in Backbone.state_dict())
            {
                tensor.copy_(SelectedWeights[name]);
            }
        }

        foreach (var tensor in SelectedWeights.Values)
        {
            tensor.Dispose();
        }

        SelectedWeights.Clear();
        SelectedRestored = true;
    }

    /// <summary>Frees the selected weights' CPU copy without restoring it (a caller that only reads the history).</summary>
    internal void ReleaseSelected()
    {
        foreach (var tensor in SelectedWeights?.Values ?? Enumerable.Empty<TorchSharp.torch.Tensor>())
        {
            tensor.Dispose();
        }

        SelectedWeights?.Clear();
    }
}
