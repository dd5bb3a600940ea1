using TorchSharp.Modules;
using UnsupervisedFinetuning.IO;
using static TorchSharp.torch;
using UnsupervisedFinetuning.Formats;

namespace UnsupervisedFinetuning.Engine;

/// <summary>
/// The optimizer the engine steps: TorchSharp's SGD or AdamW, or LARS built as a gradient rescaling in
/// front of momentum SGD (g ← η‖w‖/‖g + λw‖ · (g + λw) for weights with more than one dimension; biases
/// and normalisation parameters are neither adapted nor decayed, as in SimCLR's LARS).
/// </summary>
internal sealed class EngineOptimizer : IDisposable
{
    private readonly OptimizerHelper _inner;
    private readonly IReadOnlyList<Parameter> _parameters;
    private readonly Parameter[] _larsAdapted;
    private readonly double _weightDecay;
    private readonly double _trust;

    public EngineOptimizer(IReadOnlyList<Parameter> parameters, FinetuneOptions options)
    {
        _parameters = parameters;
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

    /// <summary>
    /// Loads what <see cref="Save"/> wrote. TorchSharp's reader allocates what the file declares (a forged rank
    /// becomes a <c>long[rank]</c>, a forged shape reaches the native allocator), so the section is walked first
    /// with TorchSharp's layout — name, group options, then per parameter the optimizer's state tensors — and
    /// every count, dtype and shape checked against this optimizer's parameters.
    /// </summary>
    /// <exception cref="InvalidDataException">The section does not fit this optimizer or is corrupt.</exception>
    public void Load(BinaryReader reader, string path)
    {
        long start = reader.BaseStream.Position;
        CheckSection(reader, path);
        reader.BaseStream.Position = start;

        // A fresh SGD has no momentum buffers, and TorchSharp allocates a missing one at the shape the file
        // declares; one of its parameter's shape makes the load read into it (a buffer the file does not hold is
        // dropped by the load).
        if (_inner is SGD sgd)
        {
            using var noGrad = no_grad();
            var states = sgd.state_dict().State;
            for (int i = 0; i < states.Count && i < _parameters.Count; i++)
            {
                if (states[i] is SGD.State { momentum_buffer: null } state)
                {
                    state.momentum_buffer = zeros_like(_parameters[i]);
                }
            }
        }

        _inner.load_state_dict(reader);
    }

    // TorchSharp's Optimizer.save_state_dict: the type name, LEB128 group and state counts, each group's options
    // (initial and current learning rate, then SGD: momentum, dampening, weight decay, nesterov, maximize;
    // AdamW: β1, β2, ε, weight decay, amsgrad, maximize), then each parameter's state (SGD: a flag and the
    // momentum buffer; AdamW: the step, both moments, a flag and the max second moment).
    private void CheckSection(BinaryReader reader, string path)
    {
        string expected = _inner.GetType().Name;
        string name = reader.ReadString();
        if (name != expected)
        {
            throw new InvalidDataException($"{path}: the optimizer state is for '{ExceptionText.Printable(name)}' but this run uses {expected}.");
        }

        long groups = TorchSharpFormat.Leb128(reader, path);
        long states = TorchSharpFormat.Leb128(reader, path);
        if (groups != _inner.ParamGroups.Count() || states != _parameters.Count)
        {
            throw new InvalidDataException($"{path}: the optimizer state holds {groups} parameter group(s) and {states} parameter state(s); this run has {_inner.ParamGroups.Count()} and {_parameters.Count}.");
        }

        bool adam = _inner is AdamW;
        for (long g = 0; g < groups; g++)
        {
            reader.BaseStream.Seek((adam ? 6 : 5) * sizeof(double), SeekOrigin.Current);
            reader.ReadBoolean();
            reader.ReadBoolean();
        }

        for (int i = 0; i < _parameters.Count; i++)
        {
            string what = $"the optimizer state of parameter {i}";
            if (adam)
            {
                reader.ReadInt64();
                TorchSharpFormat.SkipTensor(reader, path, _parameters[i], what);
                TorchSharpFormat.SkipTensor(reader, path, _parameters[i], what);
            }

            if (reader.ReadBoolean())
            {
                TorchSharpFormat.SkipTensor(reader, path, _parameters[i], what);
            }
        }
    }

    public void Dispose() => _inner.Dispose();
}
