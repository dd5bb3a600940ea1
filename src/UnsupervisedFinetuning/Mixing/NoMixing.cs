using static TorchSharp.torch;

namespace UnsupervisedFinetuning.Mixing;

/// <summary>The null mixing strategy: returns the plain views and the identity plan.</summary>
public sealed class NoMixing : IMixingStrategy
{
    /// <summary>The shared instance.</summary>
    public static NoMixing Instance { get; } = new();

    /// <summary>The catalog entry of NoMixing.</summary>
    public static MixingEntry Entry { get; } = MixingEntry.WithoutOptions("none", "No mixing: the query views are trained as they are.", () => Instance);

    /// <inheritdoc />
    public string Name => "none";

    /// <inheritdoc />
    public IReadOnlyDictionary<string, string> Settings { get; } = new Dictionary<string, string>();

    /// <inheritdoc />
    public MixResult Mix(Tensor queries, IReadOnlyList<bool> isSource, SeededRandom random)
    {
        ArgumentNullException.ThrowIfNull(queries);
        return new MixResult(queries.alias(), MixPlan.Identity((int)queries.shape[0]));
    }
}
