using static TorchSharp.torch;

namespace UnsupervisedFinetuning.Objectives;

/// <summary>Per-sample losses [B] and their mean (a scalar), as returned by every objective.</summary>
/// <param name="PerSample">The loss of each query, [B]; mixing weights these.</param>
/// <param name="Mean">The mean over the batch, the value to minimise.</param>
public sealed record ObjectiveLoss(Tensor PerSample, Tensor Mean);

/// <summary>
/// A self-supervised objective as a pure function of embeddings: each query embedding is pulled towards
/// its positive key (and, for contrastive objectives, pushed from negatives). Objectives hold no state:
/// the methods (<see cref="Methods.ISelfSupervisedMethod"/>) own heads, momentum targets and queues and
/// call these pure losses; per-sample losses let mixing weight them.
/// </summary>
public interface IContrastiveObjective
{
    /// <summary>Short name for logs and reports, e.g. "InfoNCE".</summary>
    string Name { get; }

    /// <summary>
    /// The loss of each query against its positive key.
    /// </summary>
    /// <param name="queries">Online embeddings [B,D] (MoCo q, SimCLR z₁, BYOL predictions p); normalised inside.</param>
    /// <param name="keys">Embeddings of the other view [B,D] (MoCo k, SimCLR z₂, BYOL target projections); normalised inside.</param>
    /// <param name="negatives">Negative keys [K,D] for objectives that use a queue; ignored otherwise.</param>
    /// <param name="positives">int64 [B]: query i's positive is <c>keys[positives[i]]</c>; <see langword="null"/> means i.
    /// Mixing uses this to score a mixed query against its partner's key.</param>
    /// <exception cref="ArgumentException">Shapes disagree; the message names both.</exception>
    ObjectiveLoss Compute(Tensor queries, Tensor keys, Tensor? negatives = null, Tensor? positives = null);
}
