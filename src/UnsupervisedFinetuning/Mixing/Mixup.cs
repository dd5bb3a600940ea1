using static TorchSharp.torch;

namespace UnsupervisedFinetuning.Mixing;

/// <summary>Mixup on query views (Zhang et al. 2018; Un-Mix, i-Mix): x̃_i = λ_i·x_i + (1 − λ_i)·x_π(i).</summary>
public sealed class Mixup : MixingStrategy
{
    /// <summary>Creates the strategy; <see cref="MixingOptions.Mode"/> must be <see cref="MixingMode.Mixup"/>.</summary>
    public Mixup(MixingOptions options)
        : base(options, MixingMode.Mixup)
    {
    }

    /// <inheritdoc />
    protected override (Tensor Mixed, float[] Lambda) Combine(Tensor queries, int[] partner, float[] lambda, IReadOnlyList<bool> isSource, SeededRandom random)
    {
        var plan = new MixPlan(lambda, partner, isMixed: true);
        var l = plan.LambdaTensor(queries.device).to(queries.dtype).view(-1, 1, 1, 1);
        var others = queries.index_select(0, plan.PartnerTensor(queries.device));
        return ((l * queries) + ((1 - l) * others), lambda);
    }
}
