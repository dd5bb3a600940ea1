using TorchSharp.Modules;
using static TorchSharp.torch;

namespace UnsupervisedFinetuning.Engine;

/// <summary>
/// The optimizer the engine steps: TorchSharp's SGD or AdamW, or LARS built as a gradient rescaling in
/// front of momentum SGD (g ← η‖w‖/‖g + λw‖ · (g + λw) for weights with more than one dimension; biases
/// and normalisation parameters are neither adapted nor decayed, as in SimCLR's LARS).
/// </summary>
internal sealed class EngineOptimizer : IDisposable
{
    private readonly OptimizerHelper _inner;
    private readonly Parameter[] _larsAdapted;
    private readonly double _weightDecay;
    private readonly double _trust;

    public EngineOptimizer(IReadOnlyList<Parameter> parameters, FinetuneOptions options)
    {
        switch (options.Optimizer)
        {
            case OptimizerKind.Sgd:
                _inner = optim.SGD(parameters, options.LearningRate, momentum: options.OptimizerMomentum, weight_decay: options.WeightDecay);
                _larsAdapted = [];
                break;
            case OptimizerKind.AdamW:
                _inner = optim.AdamW(parameters, options.LearningRate, beta1: options.OptimizerMomentum, weight_decay: options.WeightDecay);
                _larsAdapted = [];
                break;
            default:
                _inner = optim.SGD(parameters, options.LearningRate, momentum: options.OptimizerMomentum);
                _larsAdapted = parameters.Where(p => p.dim() > 1).ToArray();
                _weightDecay = options.WeightDecay;
                _trust = options.LarsTrustCoefficient;
                break;
        }
    }

    public double LearningRate
    {
        set
        {
            foreach (var group in _inner.ParamGroups)
            {
                group.LearningRate = value;
            }
        }
    }

    public void ZeroGrad() => _inner.zero_grad();

    public void Step()
    {
        if (_larsAdapted.Length > 0)
        {
            using var scope = NewDisposeScope();
            using var noGrad = no_grad();
            foreach (var p in _larsAdapted)
            {
                if (p.grad is not { } grad)
                {
                    continue;
                }

                grad.add_(p, alpha: _weightDecay);
                var weightNorm = p.norm();
                var gradNorm = grad.norm();
                var ratio = where(weightNorm.gt(0).logical_and(gradNorm.gt(0)), _trust * weightNorm / gradNorm, ones_like(weightNorm));
                grad.mul_(ratio);
            }
        }

        _inner.step();
    }

    public void Save(BinaryWriter writer) => _inner.save_state_dict(writer);

    public void Load(BinaryReader reader) => _inner.load_state_dict(reader);

    public void Dispose() => _inner.Dispose();
}
