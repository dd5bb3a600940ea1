using static TorchSharp.torch;

namespace UnsupervisedFinetuning.Objectives;

/// <summary>Shape checks shared by the objectives, with messages that name the tensors.</summary>
internal static class EmbeddingChecks
{
    public static double Temperature(double temperature, string objective)
    {
        if (!(temperature >= 1e-8) || double.IsInfinity(temperature))
        {
            throw new ArgumentOutOfRangeException(nameof(temperature), temperature, $"{objective} temperature must be a finite value ≥ 1e-8.");
        }

        return temperature;
    }

    public static void Pair(Tensor queries, Tensor keys)
    {
        ArgumentNullException.ThrowIfNull(queries);
        ArgumentNullException.ThrowIfNull(keys);
        if (queries.dim() != 2 || keys.dim() != 2)
        {
            throw new ArgumentException($"Queries and keys must be [B,D]; got queries [{Shape(queries)}] and keys [{Shape(keys)}].");
        }

        if (queries.shape[0] != keys.shape[0] || queries.shape[1] != keys.shape[1])
        {
            throw new ArgumentException($"Queries [{Shape(queries)}] and keys [{Shape(keys)}] must have the same batch size and dimension.");
        }
    }

    public static void Positives(Tensor? positives, long batch)
    {
        if (positives is null)
        {
            return;
        }

        if (positives.dim() != 1 || positives.shape[0] != batch || positives.dtype != ScalarType.Int64)
        {
            throw new ArgumentException($"Positives must be int64 [{batch}]; got {positives.dtype} [{Shape(positives)}].", nameof(positives));
        }
    }

    public static string Shape(Tensor t) => string.Join(",", t.shape);

    /// <summary>The positive key of every query: keys [B,D] reordered by <paramref name="positives"/> (or as is).</summary>
    public static Tensor PositiveKeys(Tensor keys, Tensor? positives) =>
        positives is null ? keys : keys.index_select(0, positives);
}
