using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace UnsupervisedFinetuning.Objectives;

/// <summary>
/// BYOL's regression loss (Grill et al. 2020), non-contrastive: the online prediction p and the target
/// projection z′ are normalised and <c>L_i = ‖p̂_i − ẑ′_i‖² = 2 − 2·cos(p_i, z′_i)</c>. The target branch is
/// a momentum network and must carry no gradient. Shapes: p, z′ [B,D]. BYOL symmetrises by also
/// scoring the swapped views; call <see cref="Compute"/> twice and add. SimSiam's −cos(p, z) is this loss / 2 − 1.
/// </summary>
public sealed class ByolLoss : IContrastiveObjective
{
    /// <inheritdoc />
    public string Name => "BYOL";

    /// <inheritdoc />
    public ObjectiveLoss Compute(Tensor queries, Tensor keys, Tensor? negatives = null, Tensor? positives = null)
    {
        EmbeddingChecks.Pair(queries, keys);
        EmbeddingChecks.Positives(positives, queries.shape[0]);
        using var scope = NewDisposeScope();
        var p = F.normalize(queries, dim: 1);
        var z = F.normalize(EmbeddingChecks.PositiveKeys(keys, positives), dim: 1);
        var perSample = 2 - (2 * (p * z).sum(1));
        return new ObjectiveLoss(perSample.MoveToOuterDisposeScope(), perSample.mean().MoveToOuterDisposeScope());
    }
}
