using static TorchSharp.torch;

namespace UnsupervisedFinetuning.Mixing;

/// <summary>Mixup on query views (Zhang et al. 2018; Un-Mix, i-Mix): x̃_i = λ_i·x_i + (1 − λ_i)·x_π(i).</summary>
public sealed class Mixup : IMixingStrategy
{
    private readonly MixingOptions _options;

    /// <summary>Creates the strategy.</summary>
    /// <param name="options">Its options (copied); the defaults when null.</param>
    /// <exception cref="Microsoft.Extensions.Options.OptionsValidationException">An option is out of range (every failure is named).</exception>
    public Mixup(MixingOptions? options = null)
    {
        _options = new MixingOptionsValidator().ThrowIfInvalid(options?.Clone() ?? new MixingOptions());
        Settings = StrategySettings.Of(_options);
    }

    /// <summary>The catalog entry of Mixup.</summary>
    public static MixingEntry Entry { get; } = MixingEntry.For<MixingOptions>("mixup", "Mixup: each query view blended with a partner's, λ ~ Beta(α, α), the loss weighted by λ and 1 − λ.", o => new Mixup(o));

    /// <inheritdoc />
    public string Name => "mixup";

    /// <inheritdoc />
    public IReadOnlyDictionary<string, string> Settings { get; }

    /// <inheritdoc />
    public MixResult Mix(Tensor queries, IReadOnlyList<bool> isSource, SeededRandom random) =>
        MixingDraw.Mix(_options, queries, isSource, random, Combine);

    private static (Tensor Mixed, float[] Lambda) Combine(Tensor queries, int[] partner, float[] lambda, SeededRandom random)
    {
        var plan = new MixPlan(lambda, partner, isMixed: true);
        var l = plan.LambdaTensor(queries.device).to(queries.dtype).view(-1, 1, 1, 1);
        var others = queries.index_select(0, plan.PartnerTensor(queries.device));
        return ((l * queries) + ((1 - l) * others), lambda);
    }
}
