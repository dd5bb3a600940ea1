using static TorchSharp.torch;

namespace UnsupervisedFinetuning.Mixing;

/// <summary>
/// How a batch of query views was mixed: sample i became λ_i parts of itself and 1 − λ_i parts of sample
/// π(i) (for CutMix, λ_i is the share of pixels actually kept). The objective's per-sample losses are
/// combined as <c>λ_i·L(q̃_i, k_i) + (1 − λ_i)·L(q̃_i, k_π(i))</c>.
/// </summary>
public sealed class MixPlan
{
    private readonly float[] _lambda;
    private readonly int[] _partner;

    /// <summary>Creates a plan.</summary>
    /// <exception cref="ArgumentException">Lengths differ, a λ is outside [0, 1], or a partner is outside the batch.</exception>
    public MixPlan(float[] lambda, int[] partner, bool isMixed)
    {
        ArgumentNullException.ThrowIfNull(lambda);
        ArgumentNullException.ThrowIfNull(partner);
        if (lambda.Length != partner.Length)
        {
            throw new ArgumentException($"A mix plan needs one λ and one partner per sample; got {lambda.Length} and {partner.Length}.", nameof(partner));
        }

        for (int i = 0; i < lambda.Length; i++)
        {
            if (!(lambda[i] >= 0 && lambda[i] <= 1))
            {
                throw new ArgumentException($"λ at sample {i} is {lambda[i]}; expected a value in [0, 1].", nameof(lambda));
            }

            if ((uint)partner[i] >= (uint)partner.Length)
            {
                throw new ArgumentException($"Partner of sample {i} is {partner[i]}; expected an index in [0, {partner.Length}).", nameof(partner));
            }
        }

        _lambda = lambda;
        _partner = partner;
        IsMixed = isMixed;
    }

    /// <summary>Whether any mixing happened (false: the views are the plain ones, λ = 1, π = identity).</summary>
    public bool IsMixed { get; }

    /// <summary>Number of samples.</summary>
    public int Count => _lambda.Length;

    /// <summary>Per-sample weight of the anchor image.</summary>
    public IReadOnlyList<float> Lambda => _lambda;

    /// <summary>Per-sample partner index π(i).</summary>
    public IReadOnlyList<int> Partner => _partner;

    /// <summary>The plan of an unmixed batch of <paramref name="count"/> samples.</summary>
    public static MixPlan Identity(int count) =>
        new(Enumerable.Repeat(1f, count).ToArray(), Enumerable.Range(0, count).ToArray(), isMixed: false);

    /// <summary>λ as a float tensor [B] on <paramref name="device"/>.</summary>
    public Tensor LambdaTensor(Device device) => tensor(_lambda, ScalarType.Float32).to(device);

    /// <summary>π as an int64 tensor [B] on <paramref name="device"/>.</summary>
    public Tensor PartnerTensor(Device device) => tensor(_partner.Select(p => (long)p).ToArray(), ScalarType.Int64).to(device);
}
