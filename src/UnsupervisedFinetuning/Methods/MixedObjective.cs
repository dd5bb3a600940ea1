using UnsupervisedFinetuning.Mixing;
using UnsupervisedFinetuning.Objectives;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace UnsupervisedFinetuning.Methods;

/// <summary>The losses of mixed queries, for the methods (built-in and your own) to call.</summary>
public static class MixedObjective
{
    /// <summary>
    /// Un-Mix (Shen et al. 2022): <c>mean_i [λ_i·L(q̃_i, k_i) + (1 − λ_i)·L(q̃_i, k_π(i))]</c> with L the
    /// objective's per-sample loss (for InfoNCE, each term against the queue). An unmixed plan gives the
    /// objective's plain mean loss.
    /// </summary>
    /// <param name="objective">The per-sample loss L.</param>
    /// <param name="queries">Embeddings of the (mixed) query views [B,D].</param>
    /// <param name="keys">Embeddings of the key views [B,D].</param>
    /// <param name="plan">How the query views were mixed.</param>
    /// <param name="negatives">Negative keys [K,D] for objectives that use them.</param>
    public static Tensor UnMixLoss(this IContrastiveObjective objective, Tensor queries, Tensor keys, MixPlan plan, Tensor? negatives = null)
    {
        ArgumentNullException.ThrowIfNull(objective);
        ArgumentNullException.ThrowIfNull(plan);
        if (!plan.IsMixed)
        {
            return objective.Compute(queries, keys, negatives).Mean;
        }

        using var scope = NewDisposeScope();
        var own = objective.Compute(queries, keys, negatives).PerSample;
        var partner = objective.Compute(queries, keys, negatives, plan.PartnerTensor(queries.device)).PerSample;
        var lambda = plan.LambdaTensor(queries.device).to(own.dtype);
        return ((lambda * own) + ((1 - lambda) * partner)).mean().MoveToOuterDisposeScope();
    }

    /// <summary>
    /// i-Mix (Lee et al. 2021) for InfoNCE: logits of q̃_i against [k_1 … k_B, queue] / τ, with the soft target
    /// λ_i on k_i and 1 − λ_i on k_π(i) (summed when π(i) = i); the loss is the cross-entropy with that
    /// target. An unmixed plan gives the plain InfoNCE loss.
    /// </summary>
    internal static Tensor IMixLoss(InfoNceLoss objective, Tensor queries, Tensor keys, Tensor negatives, MixPlan plan)
    {
        if (!plan.IsMixed)
        {
            return objective.Compute(queries, keys, negatives).Mean;
        }

        using var scope = NewDisposeScope();
        long batch = queries.shape[0];
        var q = F.normalize(queries, dim: 1);
        var candidates = F.normalize(cat([keys, negatives], 0), dim: 1);                         // [B+K, D]
        var logProbabilities = (q.matmul(candidates.t()) / objective.Temperature).log_softmax(1); // [B, B+K]
        var device = queries.device;
        var lambda = plan.LambdaTensor(device).to(logProbabilities.dtype);
        var target = zeros_like(logProbabilities);
        var rows = arange(batch, ScalarType.Int64, device);
        target.index_put_(lambda, rows, rows);
        target.index_put_(1 - lambda, [rows, plan.PartnerTensor(device)], accumulate: true);
        return (-(target * logProbabilities).sum(1)).mean().MoveToOuterDisposeScope();
    }

    /// <summary>Σ_j w_j · loss(view_j, j) over the query views of a step; a single view of weight 1 is returned as is.</summary>
    internal static Tensor WeightedSum(IReadOnlyList<QueryView> queries, Func<QueryView, int, Tensor> loss)
    {
        if (queries.Count == 0)
        {
            throw new ArgumentException("A step needs at least one query view.", nameof(queries));
        }

        Tensor? total = null;
        for (int j = 0; j < queries.Count; j++)
        {
            var term = loss(queries[j], j);
            if (queries[j].Weight != 1.0)
            {
                term = term * queries[j].Weight;
            }

            total = total is null ? term : total + term;
        }

        return total!;
    }
}
