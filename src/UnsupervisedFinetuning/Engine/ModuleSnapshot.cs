using TorchSharp;
using static TorchSharp.torch;

namespace UnsupervisedFinetuning.Engine;

/// <summary>
/// Copies of the caller's networks (backbone, and a head or predictor it passed in) taken before a resume
/// loads a checkpoint into them, so that a load that fails half-way — a truncated or corrupt file — can put
/// every weight, buffer and device back: a rejected resume changes nothing the caller owns.
/// </summary>
internal sealed class ModuleSnapshot : IDisposable
{
    private readonly List<(nn.Module Module, Device Device, Dictionary<string, Tensor> State)> _saved = [];

    public static ModuleSnapshot Capture(params nn.Module?[] modules)
    {
        var snapshot = new ModuleSnapshot();
        using var noGrad = no_grad();
        foreach (var module in modules.OfType<nn.Module>().Distinct())
        {
            var device = module.parameters().Select(p => p.device).FirstOrDefault() ?? CPU;
            var state = module.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value.detach().clone().DetachFromDisposeScope(), StringComparer.Ordinal);
            snapshot._saved.Add((module, device, state));
        }

        return snapshot;
    }

    /// <summary>Puts every saved tensor back and moves each network back to its device.</summary>
    public void Restore()
    {
        using var noGrad = no_grad();
        foreach (var (module, device, state) in _saved)
        {
            module.to(device);
            foreach (var (name, tensor) in module.state_dict())
            {
                tensor.copy_(state[name]);
            }
        }
    }

    public void Dispose()
    {
        foreach (var tensor in _saved.SelectMany(s => s.State.Values))
        {
            tensor.Dispose();
        }

        _saved.Clear();
    }
}
