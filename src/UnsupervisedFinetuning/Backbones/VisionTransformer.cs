using TorchSharp.Modules;
using UnsupervisedFinetuning.Formats;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace UnsupervisedFinetuning.Backbones;

/// <summary>
/// A Vision Transformer in DINOv2's layout (which timm's ViTs share): a convolutional patch embedding, a class token,
/// optional register tokens, a learned position embedding resized to any input grid, pre-norm blocks with LayerScale
/// and a final norm; the feature is the class token after the norm (or that and the mean patch token,
/// <see cref="VisionTransformerOptions.Feature"/>). Parameter names: <c>cls_token</c> [1,1,D], <c>pos_embed</c>
/// [1,1+G²,D], <c>register_tokens</c> [1,R,D] (with registers), <c>patch_embed.proj</c>, <c>blocks.N.*</c> and
/// <c>norm</c>. DINOv2's checkpoints load through <see cref="DinoV2Keys"/> (their <c>mask_token</c>, used only by
/// iBOT's masked training, is dropped), torchvision's through <see cref="TorchvisionKeys"/>.
/// </summary>
public sealed class VisionTransformer : Backbone
{
    private readonly Conv2d _patchEmbed;
    // The component names let Module.to() (device, dtype) put the moved parameters back in these fields.
    [TorchSharp.Utils.ComponentName(Name = "cls_token")]
    private readonly Parameter _classToken;
    [TorchSharp.Utils.ComponentName(Name = "pos_embed")]
    private readonly Parameter _positionEmbedding;
    [TorchSharp.Utils.ComponentName(Name = "register_tokens")]
    private readonly Parameter? _registerTokens;
    private readonly ModuleList<VisionTransformerBlock> _blocks;
    private readonly LayerNorm _norm;

    /// <summary>Builds a randomly initialised network (timm's ViT initialisation: truncated normal σ 0.02 for linear weights and the position embedding).</summary>
    /// <exception cref="ArgumentException">An option is out of range; the message names it.</exception>
    /// <param name="options">Its shape.</param>
    /// <param name="architecture">The <see cref="ArchitectureCatalog"/> name whose shape <paramref name="options"/> are
    /// (e.g. "ViT-S14"), so <see cref="Describe"/> can name it in a model card; null: a shape no entry names, which
    /// cannot be saved as a model card.</param>
    public VisionTransformer(VisionTransformerOptions options, string? architecture = null)
        : base(nameof(VisionTransformer))
    {
        Architecture = architecture;
        ArgumentNullException.ThrowIfNull(options);
        if (options.Problem() is { } problem)
        {
            throw new ArgumentException($"VisionTransformerOptions.{problem}", nameof(options));
        }

        Options = options;
        int d = options.EmbedDimension;
        int grid = options.ImageSize / options.PatchSize;
        _patchEmbed = nn.Conv2d(options.InputChannels, d, kernel_size: options.PatchSize, stride: options.PatchSize, padding: 0L, bias: true);
        _classToken = nn.Parameter(zeros(1, 1, d));
        _positionEmbedding = nn.Parameter(zeros(1, 1 + (grid * grid), d));
        _blocks = new ModuleList<VisionTransformerBlock>();
        for (int i = 0; i < options.Depth; i++)
        {
            double drop = options.Depth == 1 ? options.DropPathRate : options.DropPathRate * i / (options.Depth - 1);
            _blocks.Add(new VisionTransformerBlock(d, options.Heads, options.MlpHidden, options.LayerScaleInit, drop));
        }

        _norm = nn.LayerNorm(d, eps: 1e-6);
        register_parameter("cls_token", _classToken);
        register_parameter("pos_embed", _positionEmbedding);
        if (options.RegisterTokens > 0)
        {
            _registerTokens = nn.Parameter(zeros(1, options.RegisterTokens, d));
            register_parameter("register_tokens", _registerTokens);
        }

        var patchEmbed = nn.Sequential(("proj", _patchEmbed));
        register_module("patch_embed", patchEmbed);
        register_module("blocks", _blocks);
        register_module("norm", _norm);
        Initialise();
    }

    /// <summary>
    /// The key map of DINOv2's checkpoints (the hub's <c>dinov2_vits14_pretrain.pth</c> and the like, timm's ViTs too):
    /// the names are this network's, chunked blocks (<c>blocks.C.N.</c>, training checkpoints) are renamed to
    /// <c>blocks.N.</c>; <c>mask_token</c> and any <c>head.</c> are dropped.
    /// </summary>
    public static CheckpointKeyMap DinoV2Keys => new()
    {
        StripPrefixes = ["module.", "backbone.", "teacher.backbone.", "student.backbone."],
        DropPrefixes = ["mask_token", "head.", "dino_head.", "ibot_head."],
        // DINOv2's training checkpoints group the blocks in chunks (block_chunks = 4: blocks.C.N.*, N counting on across
        // chunks); the hub's backbones do not (blocks.N.*).
        Renames = [new(@"^blocks\.\d+\.(\d+)\.", "blocks.$1.")],
    };

    /// <summary>
    /// The key map of torchvision's <c>VisionTransformer</c> (<c>vit_b_16</c> and the like): <c>class_token</c>,
    /// <c>conv_proj</c>, <c>encoder.pos_embedding</c>, <c>encoder.layers.encoder_layer_N.{ln_1, self_attention.in_proj_*,
    /// self_attention.out_proj, ln_2, mlp.0 (or linear_1), mlp.3 (or linear_2)}</c> and <c>encoder.ln</c> onto this
    /// network's names; the classifier <c>heads.</c> is dropped. torchvision's ViTs have no LayerScale: build the network
    /// with <see cref="VisionTransformerOptions.LayerScaleInit"/> null.
    /// </summary>
    public static CheckpointKeyMap TorchvisionKeys => new()
    {
        StripPrefixes = ["module.", "encoder."],
        DropPrefixes = ["heads."],
        Renames =
        [
            new(@"^class_token$", "cls_token"),
            new(@"^conv_proj\.", "patch_embed.proj."),
            new(@"^pos_embedding$", "pos_embed"),
            new(@"^layers\.encoder_layer_(\d+)\.ln_1\.", "blocks.$1.norm1."),
            new(@"^layers\.encoder_layer_(\d+)\.ln_2\.", "blocks.$1.norm2."),
            new(@"^layers\.encoder_layer_(\d+)\.self_attention\.in_proj_(weight|bias)$", "blocks.$1.attn.qkv.$2"),
            new(@"^layers\.encoder_layer_(\d+)\.self_attention\.out_proj\.", "blocks.$1.attn.proj."),
            new(@"^layers\.encoder_layer_(\d+)\.mlp\.(?:0|linear_1)\.", "blocks.$1.mlp.fc1."),
            new(@"^layers\.encoder_layer_(\d+)\.mlp\.(?:3|linear_2)\.", "blocks.$1.mlp.fc2."),
            new(@"^ln\.", "norm."),
        ],
    };

    /// <summary>The shape of this network.</summary>
    public VisionTransformerOptions Options { get; }

    /// <summary>The architecture catalog's name of this shape, when it has one.</summary>
    public string? Architecture { get; }

    /// <inheritdoc />
    public override int FeatureDimension => Options.FeatureDimension;

    /// <inheritdoc />
    public override int InputChannels => Options.InputChannels;

    /// <inheritdoc />
    internal override bool UsesAutocast => true;

    /// <summary>
    /// The tokens after the final norm: [B, 1 + R + P, D] — the class token, the R register tokens, then the P patch
    /// tokens in row-major order (DINOv2's <c>x_norm_clstoken</c>, <c>x_norm_regtokens</c>, <c>x_norm_patchtokens</c>).
    /// </summary>
    /// <exception cref="ArgumentException">The images are not [B, C, H, W] with H and W multiples of the patch size.</exception>
    public Tensor ForwardTokens(Tensor images)
    {
        ArgumentNullException.ThrowIfNull(images);
        int p = Options.PatchSize;
        if (images.dim() != 4 || images.shape[1] != InputChannels || images.shape[2] < p || images.shape[3] < p || images.shape[2] % p != 0 || images.shape[3] % p != 0)
        {
            throw new ArgumentException($"VisionTransformer expects images [B,{InputChannels},H,W] with H and W multiples of the patch size {p}; got [{string.Join(",", images.shape)}].", nameof(images));
        }

        long b = images.shape[0];
        var patches = Autocast.AtLeastFloat32(Autocast.Conv2d(_patchEmbed, images));       // [B,D,H/p,W/p]
        var x = patches.flatten(2).transpose(1, 2);                                  // [B,P,D], rows then columns
        x = cat([_classToken.expand(b, -1, -1), x], dim: 1);                          // [B,1+P,D]
        x = x + PositionEmbedding(images.shape[2] / p, images.shape[3] / p);
        if (_registerTokens is not null)
        {
            // Registers go after the class token and take no position embedding (DINOv2's prepare_tokens_with_masks).
            x = cat([x.narrow(1, 0, 1), _registerTokens.expand(b, -1, -1), x.narrow(1, 1, x.shape[1] - 1)], dim: 1);
        }

        foreach (var block in _blocks)
        {
            x = block.call(x);
        }

        return _norm.call(Autocast.AtLeastFloat32(x));
    }

    /// <inheritdoc />
    public override Tensor ForwardFeatures(Tensor images)
    {
        var tokens = ForwardTokens(images);                                           // [B,1+R+P,D]
        var classToken = tokens.select(1, 0);                                         // [B,D]
        if (Options.Feature == VisionTransformerFeature.ClassToken)
        {
            return classToken;
        }

        int first = 1 + Options.RegisterTokens;
        var meanPatch = tokens.narrow(1, first, tokens.shape[1] - first).mean([1]);  // [B,D]
        return cat([classToken, meanPatch], dim: 1);                                  // [B,2D]
    }

    /// <inheritdoc />
    public override Backbone CloneArchitecture() => new VisionTransformer(Options, Architecture);

    /// <inheritdoc />
    public override BackboneDescription? Describe() =>
        Architecture is null ? null : new BackboneDescription(Architecture, InputChannels, FeatureDimension) { Classes = ClassifierClasses };

    /// <summary>
    /// The key map of every ViT layout this library reads: DINOv2's and timm's names as they are (DINOv2's
    /// <c>mask_token</c> dropped) and torchvision's renamed (<see cref="TorchvisionKeys"/>); heads are dropped.
    /// </summary>
    public static CheckpointKeyMap AnyLayoutKeys
    {
        get
        {
            var dino = DinoV2Keys;
            var torchvision = TorchvisionKeys;
            return new CheckpointKeyMap
            {
                StripPrefixes = [.. dino.StripPrefixes, .. torchvision.StripPrefixes.Except(dino.StripPrefixes)],
                DropPrefixes = [.. dino.DropPrefixes, .. torchvision.DropPrefixes],
                Renames = [.. dino.Renames, .. torchvision.Renames],
            };
        }
    }

    /// <summary>
    /// The position embedding for a grid of <paramref name="rows"/> × <paramref name="columns"/> patches: [1, 1 + rows·columns, D].
    /// The stored one when the grid is the stored square; otherwise its patch part resized bicubically as DINOv2's
    /// <c>interpolate_pos_encoding</c> does — by the scale factor (grid + offset) / stored grid, in float32 — and the class
    /// token's embedding unchanged.
    /// </summary>
    internal Tensor PositionEmbedding(long rows, long columns)
    {
        long stored = _positionEmbedding.shape[1] - 1;
        int grid = Options.ImageSize / Options.PatchSize;
        if (rows * columns == stored && rows == columns)
        {
            return _positionEmbedding;
        }

        int d = Options.EmbedDimension;
        var classPart = _positionEmbedding.narrow(1, 0, 1);                                               // [1,1,D]
        var patchPart = _positionEmbedding.narrow(1, 1, stored).reshape(1, grid, grid, d).permute(0, 3, 1, 2); // [1,D,G,G]
        var resized = Options.InterpolateOffset > 0
            ? F.interpolate(patchPart, scale_factor: [(rows + Options.InterpolateOffset) / grid, (columns + Options.InterpolateOffset) / grid], mode: InterpolationMode.Bicubic, align_corners: false, antialias: Options.InterpolateAntialias)
            : F.interpolate(patchPart, size: [rows, columns], mode: InterpolationMode.Bicubic, align_corners: false, antialias: Options.InterpolateAntialias);
        if (resized.shape[2] != rows || resized.shape[3] != columns)
        {
            throw new InvalidOperationException($"The position embedding resized to [{resized.shape[2]},{resized.shape[3]}] instead of the {rows}×{columns} patch grid.");
        }

        return cat([classPart, resized.permute(0, 2, 3, 1).reshape(1, rows * columns, d)], dim: 1);      // [1,1+rows·columns,D]
    }

    /// <inheritdoc />
    protected override void RegisterComponents()
    {
        // Every component is registered by its DINOv2 name in the constructor; TorchSharp would register the fields
        // again under their C# names.
    }

    private void Initialise()
    {
        using var noGrad = no_grad();
        nn.init.trunc_normal_(_positionEmbedding, std: 0.02);
        nn.init.normal_(_classToken, std: 1e-6);
        if (_registerTokens is not null)
        {
            nn.init.normal_(_registerTokens, std: 1e-6);
        }

        foreach (var module in _blocks.modules())
        {
            if (module is Linear linear)
            {
                nn.init.trunc_normal_(linear.weight!, std: 0.02);
                nn.init.zeros_(linear.bias!);
            }
        }
    }
}
