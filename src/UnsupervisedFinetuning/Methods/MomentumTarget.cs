using TorchSharp;
using UnsupervisedFinetuning.Backbones;
using UnsupervisedFinetuning.Objectives;
using static TorchSharp.torch;

namespace UnsupervisedFinetuning.Methods;

/// <summary>
/// A momentum (EMA) copy of the online backbone and head — MoCo's key encoder, BYOL's target network. It
/// learns only by <see cref="Update"/> and its forward pass runs without autograd, so no gradient reaches it.
/// It stays in training mode: its BatchNorm normalises with the key batch's statistics, as in MoCo.
/// </summary>
internal sealed class MomentumTarget : IDisposable
{
    private readonly MomentumEncoder _backboneEma;
    private readonly MomentumEncoder _headEma;

    public MomentumTarget(Backbone backbone, ProjectionHead head, double momentum, Device device)
    {
        Backbone = backbone.CloneArchitecture();
        Head = head.CloneArchitecture();
        Backbone.to(device);
        Head.to(device);
        _backboneEma = new MomentumEncoder(backbone, Backbone, momentum);
        _headEma = new MomentumEncoder(head, Head, momentum);
    }

    public Backbone Backbone { get; }

    public ProjectionHead Head { get; }

    public IEnumerable<(string Name, nn.Module Module)> Networks => [("target_backbone", Backbone), ("target_head", Head)];

    /// <summary>Target embeddings [B,D] of a view, without gradients.</summary>
    public Tensor Encode(Tensor view)
    {
        using var noGrad = no_grad();
        return Head.call(Backbone.call(view));
    }

    /// <summary>θ_target ← m·θ_target + (1 − m)·θ_online.</summary>
    public void Update()
    {
        _backboneEma.Update();
        _headEma.Update();
    }

    public void Dispose()
    {
        Backbone.Dispose();
        Head.Dispose();
    }
}
