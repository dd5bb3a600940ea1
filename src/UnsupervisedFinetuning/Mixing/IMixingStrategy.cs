using static TorchSharp.torch;

namespace UnsupervisedFinetuning.Mixing;

/// <summary>Mixed query views and the plan that produced them.</summary>
/// <param name="Images">The (possibly) mixed views [B,C,H,W]; the caller owns them.</param>
/// <param name="Plan">λ and π per sample.</param>
public sealed record MixResult(Tensor Images, MixPlan Plan);

/// <summary>
/// Data mixing (Un-Mix / i-Mix style): mixes the query views of a batch to raise the data density around
/// the target samples. The key views are never mixed. Strategies are stateless; randomness comes from the
/// generator passed in.
/// </summary>
public interface IMixingStrategy
{
    /// <summary>The options this strategy follows (mode, α, probability, partners, loss form, compute).</summary>
    MixingOptions Options { get; }

    /// <summary>
    /// Mixes <paramref name="queries"/> [B,C,H,W]. <paramref name="isSource"/>[i] marks replayed source images,
    /// which are partners only when <see cref="MixingOptions.Partners"/> is <see cref="MixingPartners.All"/>.
    /// </summary>
    MixResult Mix(Tensor queries, IReadOnlyList<bool> isSource, SeededRandom random);
}
