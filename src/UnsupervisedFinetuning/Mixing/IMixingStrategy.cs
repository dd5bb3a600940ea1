using static TorchSharp.torch;

namespace UnsupervisedFinetuning.Mixing;

/// <summary>Mixed query views and the plan that produced them.</summary>
/// <param name="Images">The (possibly) mixed views [B,C,H,W]; the caller owns them.</param>
/// <param name="Plan">λ and π per sample.</param>
public sealed record MixResult(Tensor Images, MixPlan Plan);

/// <summary>
/// Data mixing (Un-Mix / i-Mix style): mixes the query views of a batch to raise the data density around
/// the target samples, and says how (the <see cref="MixPlan"/>). The key views are never mixed. How the
/// mixed queries are scored is the method's business (e.g. <see cref="Methods.MocoV2Options.MixedLoss"/>)
/// and how much compute they take the engine's (<see cref="Engine.FinetuneOptions.MixingCompute"/>).
/// Strategies are stateless; randomness comes from the generator passed in.
/// </summary>
public interface IMixingStrategy
{
    /// <summary>Short name for logs and checkpoints, e.g. "mixup".</summary>
    string Name { get; }

    /// <summary>Every setting that changes training, by name, as invariant strings; a run resumes only with equal settings.</summary>
    IReadOnlyDictionary<string, string> Settings { get; }

    /// <summary>
    /// Mixes <paramref name="queries"/> [B,C,H,W]. <paramref name="isSource"/>[i] marks replayed source images,
    /// which are partners only when <see cref="MixingOptions.Partners"/> is <see cref="MixingPartners.All"/>.
    /// </summary>
    MixResult Mix(Tensor queries, IReadOnlyList<bool> isSource, SeededRandom random);
}
