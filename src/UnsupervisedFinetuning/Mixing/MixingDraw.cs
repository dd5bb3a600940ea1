using static TorchSharp.torch;

namespace UnsupervisedFinetuning.Mixing;

/// <summary>
/// The part of mixup and CutMix that is the same: decide whether the batch is mixed, draw partners from
/// the allowed pool (a random permutation within it) and λ_i ~ Beta(α, α) per sample (folded when asked).
/// The strategy then combines the pixels and may correct λ.
/// </summary>
internal static class MixingDraw
{
    /// <summary>
    /// Mixes the pixels: sample i with weight λ_i and sample partner[i] with 1 − λ_i. Returns the mixed
    /// batch and the λ actually realised (CutMix recomputes it from the pasted box).
    /// </summary>
    public delegate (Tensor Mixed, float[] Lambda) Combine(Tensor queries, int[] partner, float[] lambda, SeededRandom random);

    /// <summary>Draws the plan of one batch and lets <paramref name="combine"/> mix the pixels.</summary>
    public static MixResult Mix(MixingOptions options, Tensor queries, IReadOnlyList<bool> isSource, SeededRandom random, Combine combine)
    {
        ArgumentNullException.ThrowIfNull(queries);
        ArgumentNullException.ThrowIfNull(isSource);
        ArgumentNullException.ThrowIfNull(random);
        int batch = (int)queries.shape[0];
        if (isSource.Count != batch)
        {
            throw new ArgumentException($"isSource has {isSource.Count} entries for a batch of {batch}.", nameof(isSource));
        }

        if (!random.NextBool(options.Probability))
        {
            return new MixResult(queries.alias(), MixPlan.Identity(batch));
        }

        int[] partner = DrawPartners(options, isSource, random);
        var lambda = new float[batch];
        for (int i = 0; i < batch; i++)
        {
            if (partner[i] == i && options.Partners == MixingPartners.TargetOnly && isSource[i])
            {
                lambda[i] = 1f; // replayed source images stay plain when partners are target-only
                continue;
            }

            double l = random.NextBeta(options.Alpha, options.Alpha);
            lambda[i] = (float)(options.FoldLambda ? Math.Max(l, 1 - l) : l);
        }

        using var scope = NewDisposeScope();
        var (mixed, actual) = combine(queries, partner, lambda, random);
        return new MixResult(mixed.MoveToOuterDisposeScope(), new MixPlan(actual, partner, isMixed: true));
    }

    private static int[] DrawPartners(MixingOptions options, IReadOnlyList<bool> isSource, SeededRandom random)
    {
        int batch = isSource.Count;
        int[] partner = Enumerable.Range(0, batch).ToArray();
        int[] pool = options.Partners == MixingPartners.All
            ? Enumerable.Range(0, batch).ToArray()
            : Enumerable.Range(0, batch).Where(i => !isSource[i]).ToArray();
        int[] shuffled = [.. pool];
        random.Shuffle(shuffled.AsSpan());
        for (int j = 0; j < pool.Length; j++)
        {
            partner[pool[j]] = shuffled[j];
        }

        return partner;
    }
}
