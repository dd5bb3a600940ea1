using TorchSharp.Modules;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace UnsupervisedFinetuning.Backbones;

/// <summary>
/// One pre-norm transformer block in DINOv2's layout and numerics: x + ls1(attn(norm1(x))), then x + ls2(mlp(norm2(x))),
/// each residual branch optionally dropped per sample (stochastic depth). Parameter names: <c>norm1</c>, <c>attn.qkv</c>,
/// <c>attn.proj</c>, <c>ls1.gamma</c>, <c>norm2</c>, <c>mlp.fc1</c>, <c>mlp.fc2</c>, <c>ls2.gamma</c>. The residual
/// stream stays float32 in a mixed-precision region: layer norms run in float32 (as torch.autocast runs them), the
/// linear layers and attention in the compute dtype.
/// </summary>
internal sealed class VisionTransformerBlock : nn.Module<Tensor, Tensor>
{
    private readonly LayerNorm _norm1;
    private readonly SelfAttention _attn;
    private readonly LayerScale? _ls1;
    private readonly LayerNorm _norm2;
    private readonly Mlp _mlp;
    private readonly LayerScale? _ls2;
    private readonly double _dropPath;

    public VisionTransformerBlock(int dimension, int heads, int mlpHidden, double? layerScaleInit, double dropPath)
        : base("Block")
    {
        _norm1 = nn.LayerNorm(dimension, eps: 1e-6);
        _attn = new SelfAttention(dimension, heads);
        _norm2 = nn.LayerNorm(dimension, eps: 1e-6);
        _mlp = new Mlp(dimension, mlpHidden);
        register_module("norm1", _norm1);
        register_module("attn", _attn);
        if (layerScaleInit is { } gamma)
        {
            _ls1 = new LayerScale(dimension, gamma);
            register_module("ls1", _ls1);
        }

        register_module("norm2", _norm2);
        register_module("mlp", _mlp);
        if (layerScaleInit is { } gamma2)
        {
            _ls2 = new LayerScale(dimension, gamma2);
            register_module("ls2", _ls2);
        }

        _dropPath = dropPath;
    }

    // Every component is registered by name above; TorchSharp would otherwise register the fields again under their C#
    // names (_qkv, …) when this module joins a parent, doubling the state dict.
    protected override void RegisterComponents()
    {
    }

    /// <summary>[B, N, D] → [B, N, D].</summary>
    public override Tensor forward(Tensor x)
    {
        var attention = _attn.call(_norm1.call(Autocast.AtLeastFloat32(x)));
        x = x + DropPath(_ls1 is null ? attention : _ls1.call(attention));
        var mlp = _mlp.call(_norm2.call(Autocast.AtLeastFloat32(x)));
        return x + DropPath(_ls2 is null ? mlp : _ls2.call(mlp));
    }

    // Stochastic depth: in training, each sample's branch is kept with probability 1 − p and scaled by 1 / (1 − p).
    private Tensor DropPath(Tensor branch)
    {
        if (!training || _dropPath == 0)
        {
            return branch;
        }

        double keep = 1 - _dropPath;
        var mask = empty([branch.shape[0], 1, 1], dtype: branch.dtype, device: branch.device).bernoulli_(keep); // [B,1,1]
        return branch * mask / keep;
    }

    /// <summary>Multi-head self-attention: one qkv projection, libtorch's scaled dot-product attention, an output projection.</summary>
    internal sealed class SelfAttention : nn.Module<Tensor, Tensor>
    {
        private readonly Linear _qkv;
        private readonly Linear _proj;
        private readonly int _heads;

        public SelfAttention(int dimension, int heads)
            : base("Attention")
        {
            _heads = heads;
            _qkv = nn.Linear(dimension, 3 * dimension, hasBias: true);
            _proj = nn.Linear(dimension, dimension, hasBias: true);
            register_module("qkv", _qkv);
            register_module("proj", _proj);
        }

        /// <inheritdoc />
        protected override void RegisterComponents()
        {
        }

        /// <summary>[B, N, D] → [B, N, D].</summary>
        public override Tensor forward(Tensor x)
        {
            long b = x.shape[0], n = x.shape[1], d = x.shape[2];
            // [B,N,3D] → [B,N,3,H,D/H] → [3,B,H,N,D/H]: the layout of DINOv2's and timm's qkv weight (q rows, then k, then v).
            var qkv = Autocast.Linear(_qkv, x).reshape(b, n, 3, _heads, d / _heads).permute(2, 0, 3, 1, 4);
            var attended = F.scaled_dot_product_attention(qkv[0], qkv[1], qkv[2]);   // [B,H,N,D/H], softmax(q·kᵀ/√(D/H))·v
            return Autocast.Linear(_proj, attended.transpose(1, 2).reshape(b, n, d)); // heads side by side again: [B,N,D]
        }
    }

    /// <summary>The block's MLP: fc1, exact (erf) GELU, fc2.</summary>
    internal sealed class Mlp : nn.Module<Tensor, Tensor>
    {
        private readonly Linear _fc1;
        private readonly Linear _fc2;

        public Mlp(int dimension, int hidden)
            : base("Mlp")
        {
            _fc1 = nn.Linear(dimension, hidden, hasBias: true);
            _fc2 = nn.Linear(hidden, dimension, hasBias: true);
            register_module("fc1", _fc1);
            register_module("fc2", _fc2);
        }

        /// <inheritdoc />
        protected override void RegisterComponents()
        {
        }

        /// <summary>[B, N, D] → [B, N, D].</summary>
        public override Tensor forward(Tensor x) => Autocast.Linear(_fc2, F.gelu(Autocast.Linear(_fc1, x)));
    }

    /// <summary>LayerScale: a learned gain per channel, <c>gamma</c> [D].</summary>
    internal sealed class LayerScale : nn.Module<Tensor, Tensor>
    {
        [TorchSharp.Utils.ComponentName(Name = "gamma")] // so Module.to() puts the moved parameter back in this field
        private readonly Parameter _gamma;

        public LayerScale(int dimension, double init)
            : base("LayerScale")
        {
            _gamma = nn.Parameter(full(dimension, init));
            register_parameter("gamma", _gamma);
        }

        /// <inheritdoc />
        protected override void RegisterComponents()
        {
        }

        /// <summary>[…, D] → […, D].</summary>
        public override Tensor forward(Tensor x) => x * _gamma;
    }
}
