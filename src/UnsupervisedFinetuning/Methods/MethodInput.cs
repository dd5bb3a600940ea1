using UnsupervisedFinetuning.Mixing;
using static TorchSharp.torch;

namespace UnsupervisedFinetuning.Methods;

/// <summary>A query view to score: images [B,C,S,S], how they were mixed, and the share of the loss they carry.</summary>
/// <param name="Images">Query images [B,C,S,S]: the plain first views, or mixed ones.</param>
/// <param name="Plan">How <paramref name="Images"/> were mixed; <see cref="MixPlan.Identity"/> for plain views.</param>
/// <param name="Weight">Share of the step's loss; the weights of a step sum to 1.</param>
public sealed record QueryView(Tensor Images, MixPlan Plan, double Weight);

/// <summary>
/// The augmented views of one batch, as the engine hands them to <see cref="ISelfSupervisedModel.Loss"/>.
/// With no mixing, <see cref="Queries"/> holds the first views with weight 1. With mixing in
/// <c>Replace</c> mode it holds the mixed views instead; in <c>Add</c> mode it holds the mixed and the
/// plain first views with weight ½ each (Un-Mix's averaged loss).
/// </summary>
/// <param name="First">The plain first (query) views [B,C,S,S].</param>
/// <param name="Second">The second (key / target) views [B,C,S,S]; never mixed.</param>
/// <param name="Queries">The query views to score, in the order to encode them.</param>
public sealed record MethodInput(Tensor First, Tensor Second, IReadOnlyList<QueryView> Queries)
{
    /// <summary>Images in the batch, B.</summary>
    public int BatchSize => (int)First.shape[0];
}

/// <summary>A batch's loss and the compute it took.</summary>
/// <param name="Value">The scalar loss to minimise.</param>
/// <param name="OnlineImagePasses">Images passed forward (and backward) through the online network.</param>
/// <param name="TargetImagePasses">Images passed forward only, without gradients (momentum target, stop-gradient targets).</param>
public sealed record MethodLoss(Tensor Value, long OnlineImagePasses, long TargetImagePasses);
