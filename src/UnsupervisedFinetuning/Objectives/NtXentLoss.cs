using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace UnsupervisedFinetuning.Objectives;

/// <summary>
/// SimCLR's NT-Xent (Chen et al. 2020). The 2B normalised embeddings z = [z₁; z₂] are compared by cosine
/// similarity / τ; each view's positive is its twin and the other 2B − 2 embeddings are negatives:
/// <c>ℓ(a, p) = −s(a,p)/τ + log Σ_{j≠a} exp(s(a,j)/τ)</c>. The loss of pair i is the mean of its two
/// directions, ½[ℓ(z₁ᵢ, z₂ᵢ) + ℓ(z₂ᵢ, z₁ᵢ)], so the batch mean equals the usual 1/(2B) sum over all views.
/// With <c>positives</c>, pair i is (z₁ᵢ, z₂_{positives[i]}). Shapes: z₁, z₂ [B,D].
/// </summary>
public sealed class NtXentLoss : IContrastiveObjective
{
    /// <summary>Creates the loss.</summary>
    /// <param name="temperature">τ; SimCLR uses 0.1–0.5 (0.5 at small batch sizes).</param>
    public NtXentLoss(double temperature = 0.5)
    {
        Temperature = EmbeddingChecks.Temperature(temperature, "NT-Xent");
    }

    /// <summary>The temperature τ.</summary>
    public double Temperature { get; }

    /// <inheritdoc />
    public string Name => "NT-Xent";

    /// <inheritdoc />
    public ObjectiveLoss Compute(Tensor queries, Tensor keys, Tensor? negatives = null, Tensor? positives = null)
    {
        EmbeddingChecks.Pair(queries, keys);
        long batch = queries.shape[0];
        EmbeddingChecks.Positives(positives, batch);
        if (batch < 2)
        {
            throw new ArgumentException("NT-Xent needs at least 2 pairs per batch (the other pairs are the negatives).", nameof(queries));
        }

        using var scope = NewDisposeScope();
        var z = F.normalize(cat([queries, keys], 0), dim: 1);                         // [2B,D]
        var similarity = z.matmul(z.t()) / Temperature;                               // [2B,2B]
        var self = eye(2 * batch, dtype: ScalarType.Bool, device: z.device);
        similarity = similarity.masked_fill(self, double.NegativeInfinity);           // an embedding is not its own negative
        var logNormaliser = similarity.logsumexp(1);                                  // [2B]

        var queryRows = arange(batch, ScalarType.Int64, z.device);
        var keyRows = (positives ?? queryRows) + batch;                               // row of each query's positive key
        var forward = logNormaliser.index_select(0, queryRows) - similarity[queryRows, keyRows];   // ℓ(z₁ᵢ, z₂ₚ)
        var backward = logNormaliser.index_select(0, keyRows) - similarity[keyRows, queryRows];   // ℓ(z₂ₚ, z₁ᵢ)
        var perSample = (forward + backward) / 2;
        return new ObjectiveLoss(perSample.MoveToOuterDisposeScope(), perSample.mean().MoveToOuterDisposeScope());
    }
}
