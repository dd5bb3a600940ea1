using static TorchSharp.torch;

namespace UnsupervisedFinetuning.Objectives;

/// <summary>
/// Keeps a target network as an exponential moving average of an online network (MoCo's key encoder,
/// BYOL's target): after every step <c>θ_target ← m·θ_target + (1 − m)·θ_online</c> for parameters, and
/// buffers (BatchNorm statistics) are copied. The target never receives gradients.
/// </summary>
public sealed class MomentumEncoder
{
    private readonly (Tensor Online, Tensor Target)[] _parameters;
    private readonly (Tensor Online, Tensor Target)[] _buffers;
    private double _momentum;

    /// <summary>
    /// Pairs <paramref name="online"/> with <paramref name="target"/> (same architecture), copies the online
    /// weights into the target and freezes it.
    /// </summary>
    /// <param name="online">The network trained by gradient descent.</param>
    /// <param name="target">A network of the same architecture (e.g. <c>backbone.CloneArchitecture()</c>), on the same device.</param>
    /// <param name="momentum">m in [0, 1]; MoCo uses 0.999 on ImageNet, 0.99 suits small finetuning sets.</param>
    /// <exception cref="ArgumentException">The networks' parameter or buffer names or shapes differ (named in the message).</exception>
    public MomentumEncoder(nn.Module online, nn.Module target, double momentum = 0.99)
    {
        ArgumentNullException.ThrowIfNull(online);
        ArgumentNullException.ThrowIfNull(target);
        Online = online;
        Target = target;
        Momentum = momentum;
        _parameters = Pair(online.named_parameters().Select(p => (p.name, (Tensor)p.parameter)), target.named_parameters().Select(p => (p.name, (Tensor)p.parameter)), "parameter");
        _buffers = Pair(online.named_buffers(), target.named_buffers(), "buffer");
        using var noGrad = no_grad();
        foreach (var (o, t) in _parameters)
        {
            t.copy_(o);
            t.requires_grad_(false);
        }

        foreach (var (o, t) in _buffers)
        {
            t.copy_(o);
        }
    }

    /// <summary>The network trained by gradient descent.</summary>
    public nn.Module Online { get; }

    /// <summary>The moving-average network.</summary>
    public nn.Module Target { get; }

    /// <summary>The EMA coefficient m in [0, 1] (1 freezes the target, 0 copies the online network).</summary>
    public double Momentum
    {
        get => _momentum;
        set
        {
            if (!(value >= 0 && value <= 1))
            {
                throw new ArgumentOutOfRangeException(nameof(Momentum), value, "The momentum (EMA coefficient) must lie in [0, 1].");
            }

            _momentum = value;
        }
    }

    /// <summary>One EMA step: θ_target ← m·θ_target + (1 − m)·θ_online; buffers copied.</summary>
    public void Update()
    {
        using var noGrad = no_grad();
        foreach (var (o, t) in _parameters)
        {
            t.mul_(_momentum).add_(o, alpha: 1 - _momentum);
        }

        foreach (var (o, t) in _buffers)
        {
            t.copy_(o);
        }
    }

    private static (Tensor, Tensor)[] Pair(IEnumerable<(string Name, Tensor Tensor)> online, IEnumerable<(string Name, Tensor Tensor)> target, string kind)
    {
        var targets = target.ToDictionary(t => t.Name, t => t.Tensor, StringComparer.Ordinal);
        var pairs = new List<(Tensor, Tensor)>();
        foreach (var (name, tensor) in online)
        {
            if (!targets.Remove(name, out var match))
            {
                throw new ArgumentException($"The target network has no {kind} '{name}'; online and target must share one architecture.");
            }

            if (!match.shape.SequenceEqual(tensor.shape))
            {
                throw new ArgumentException($"{kind} '{name}' is [{string.Join(",", tensor.shape)}] online but [{string.Join(",", match.shape)}] in the target.");
            }

            pairs.Add((tensor, match));
        }

        if (targets.Count > 0)
        {
            throw new ArgumentException($"The target network has {kind}(s) the online network lacks: {string.Join(", ", targets.Keys.Take(5))}.");
        }

        return [.. pairs];
    }
}
