using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace UnsupervisedFinetuning.Objectives;

/// <summary>
/// MoCo v2's InfoNCE (He et al. 2020; Chen et al. 2020, "Improved Baselines with Momentum Contrastive
/// Learning"). With q, k and the queue normalised, query i's logits are
/// <c>[q_i·k⁺, q_i·n_1, …, q_i·n_K] / τ</c> and its loss is the cross-entropy with the positive at index 0:
/// <c>L_i = −q_i·k⁺/τ + log(exp(q_i·k⁺/τ) + Σ_j exp(q_i·n_j/τ))</c>. Shapes: q, k [B,D]; queue [K,D].
/// </summary>
/// <example><code>
/// var loss = new InfoNceLoss(temperature: 0.2).Compute(q, k, negatives: queue.Keys).Mean;
/// </code></example>
public sealed class InfoNceLoss : IContrastiveObjective
{
    /// <summary>Creates the loss.</summary>
    /// <param name="temperature">τ; MoCo v2 uses 0.2.</param>
    /// <exception cref="ArgumentOutOfRangeException">τ is below 1e-8 or not finite.</exception>
    public InfoNceLoss(double temperature = 0.2)
    {
        Temperature = EmbeddingChecks.Temperature(temperature, "InfoNCE");
    }

    /// <summary>The temperature τ.</summary>
    public double Temperature { get; }

    /// <inheritdoc />
    public string Name => "InfoNCE";

    /// <inheritdoc />
    public ObjectiveLoss Compute(Tensor queries, Tensor keys, Tensor? negatives = null, Tensor? positives = null)
    {
        EmbeddingChecks.Pair(queries, keys);
        EmbeddingChecks.Positives(positives, queries.shape[0]);
        if (negatives is null)
        {
            throw new ArgumentException("InfoNCE needs negative keys [K,D] (the MoCo queue); got none.", nameof(negatives));
        }

        if (negatives.dim() != 2 || negatives.shape[1] != queries.shape[1])
        {
            throw new ArgumentException($"Negatives must be [K,{queries.shape[1]}] to match the queries; got [{EmbeddingChecks.Shape(negatives)}].", nameof(negatives));
        }

        using var scope = NewDisposeScope();
        var q = F.normalize(queries, dim: 1);
        var k = F.normalize(EmbeddingChecks.PositiveKeys(keys, positives), dim: 1);
        var n = F.normalize(negatives, dim: 1);
        var positive = (q * k).sum(1, keepdim: true);            // [B,1]
        var negative = q.matmul(n.t());                           // [B,K]
        var logits = cat([positive, negative], 1) / Temperature;  // [B,1+K], positive at index 0
        var perSample = logits.logsumexp(1) - logits.select(1, 0);
        return new ObjectiveLoss(perSample.MoveToOuterDisposeScope(), perSample.mean().MoveToOuterDisposeScope());
    }
}
