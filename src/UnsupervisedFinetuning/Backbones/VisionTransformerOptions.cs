namespace UnsupervisedFinetuning.Backbones;

/// <summary>What a <see cref="VisionTransformer"/> returns as its feature vector.</summary>
public enum VisionTransformerFeature
{
    /// <summary>The class token after the final norm: D features (DINOv2's <c>x_norm_clstoken</c>).</summary>
    ClassToken,

    /// <summary>
    /// The class token and the mean of the patch tokens after the final norm, concatenated: 2·D features (DINOv2's linear
    /// evaluation). Register tokens are not in the mean.
    /// </summary>
    ClassTokenAndMeanPatch,
}

/// <summary>
/// The shape of a <see cref="VisionTransformer"/>. The named sizes follow DINOv2 and timm: <see cref="Tiny"/> (192 wide,
/// 12 blocks, 3 heads), <see cref="Small"/> (384, 12, 6), <see cref="Base"/> (768, 12, 12), <see cref="Large"/> (1024, 24,
/// 16), each with the patch size given (14 for DINOv2, 16 for DINO and most timm models).
/// </summary>
public sealed record VisionTransformerOptions
{
    /// <summary>Token width D.</summary>
    public required int EmbedDimension { get; init; }

    /// <summary>Number of transformer blocks.</summary>
    public required int Depth { get; init; }

    /// <summary>Attention heads; must divide <see cref="EmbedDimension"/>.</summary>
    public required int Heads { get; init; }

    /// <summary>Side of the square patches, in pixels.</summary>
    public required int PatchSize { get; init; }

    /// <summary>
    /// The image side the learned position embedding is laid out for (its grid is ImageSize / PatchSize square); other
    /// input sizes interpolate it. DINOv2's hub models: 518 (a 37 × 37 grid). Default 224.
    /// </summary>
    public int ImageSize { get; init; } = 224;

    /// <summary>Input channels. Default 3.</summary>
    public int InputChannels { get; init; } = 3;

    /// <summary>Hidden width of each block's MLP as a multiple of D. Default 4.</summary>
    public double MlpRatio { get; init; } = 4.0;

    /// <summary>Register tokens after the class token (DINOv2 "_reg" models: 4). Default 0.</summary>
    public int RegisterTokens { get; init; }

    /// <summary>Initial value of LayerScale's per-channel gains (DINOv2: 1.0, for loaded weights anyway); null: no LayerScale. Default 1e-5.</summary>
    public double? LayerScaleInit { get; init; } = 1e-5;

    /// <summary>
    /// Stochastic depth: the drop probability of the last block's residual branches, rising linearly from 0 at the first.
    /// Default 0. Drops draw from libtorch's global generator, which engine checkpoints do not hold: a resumed run is
    /// bit-identical to an uninterrupted one only at 0.
    /// </summary>
    public double DropPathRate { get; init; }

    /// <summary>The feature vector. Default <see cref="VisionTransformerFeature.ClassToken"/>.</summary>
    public VisionTransformerFeature Feature { get; init; } = VisionTransformerFeature.ClassToken;

    /// <summary>
    /// DINOv2's <c>interpolate_offset</c>: the position embedding is resized by the factor (grid + offset) / stored grid
    /// rather than to the grid itself (0 resizes to the grid exactly). Default 0.1, as DINOv2.
    /// </summary>
    public double InterpolateOffset { get; init; } = 0.1;

    /// <summary>DINOv2's <c>interpolate_antialias</c>: antialiased bicubic resizing of the position embedding. Default false.</summary>
    public bool InterpolateAntialias { get; init; }

    /// <summary>Width of the MLP's hidden layer.</summary>
    public int MlpHidden => (int)(EmbedDimension * MlpRatio);

    /// <summary>The feature width: D, or 2·D with <see cref="VisionTransformerFeature.ClassTokenAndMeanPatch"/>.</summary>
    public int FeatureDimension => Feature == VisionTransformerFeature.ClassTokenAndMeanPatch ? 2 * EmbedDimension : EmbedDimension;

    /// <summary>ViT-Tiny: 192 wide, 12 blocks, 3 heads.</summary>
    public static VisionTransformerOptions Tiny(int patchSize) => new() { EmbedDimension = 192, Depth = 12, Heads = 3, PatchSize = patchSize };

    /// <summary>ViT-Small: 384 wide, 12 blocks, 6 heads.</summary>
    public static VisionTransformerOptions Small(int patchSize) => new() { EmbedDimension = 384, Depth = 12, Heads = 6, PatchSize = patchSize };

    /// <summary>ViT-Base: 768 wide, 12 blocks, 12 heads.</summary>
    public static VisionTransformerOptions Base(int patchSize) => new() { EmbedDimension = 768, Depth = 12, Heads = 12, PatchSize = patchSize };

    /// <summary>ViT-Large: 1024 wide, 24 blocks, 16 heads.</summary>
    public static VisionTransformerOptions Large(int patchSize) => new() { EmbedDimension = 1024, Depth = 24, Heads = 16, PatchSize = patchSize };

    /// <summary>What is wrong with these options (naming the field and value), or null when a network can be built.</summary>
    public string? Problem() =>
        EmbedDimension < 1 ? $"EmbedDimension is {EmbedDimension}; expected a positive width."
        : Depth < 1 ? $"Depth is {Depth}; expected at least one block."
        : Heads < 1 || EmbedDimension % Heads != 0 ? $"Heads is {Heads}; expected a positive divisor of EmbedDimension ({EmbedDimension})."
        : PatchSize < 1 ? $"PatchSize is {PatchSize}; expected a positive size."
        : ImageSize < PatchSize || ImageSize % PatchSize != 0 ? $"ImageSize is {ImageSize}; expected a positive multiple of PatchSize ({PatchSize})."
        : InputChannels < 1 ? $"InputChannels is {InputChannels}; expected at least 1."
        : !(MlpRatio > 0) || !double.IsFinite(MlpRatio) || MlpHidden < 1 ? $"MlpRatio is {MlpRatio}; expected a finite value > 0."
        : RegisterTokens < 0 ? $"RegisterTokens is {RegisterTokens}; expected 0 or more."
        : LayerScaleInit is { } g && !double.IsFinite(g) ? $"LayerScaleInit is {g}; expected a finite value or null."
        : DropPathRate is < 0 or >= 1 || double.IsNaN(DropPathRate) ? $"DropPathRate is {DropPathRate}; expected a value in [0, 1)."
        : !Enum.IsDefined(Feature) ? $"Feature is {Feature}; expected ClassToken or ClassTokenAndMeanPatch."
        : InterpolateOffset is < 0 or >= 1 || double.IsNaN(InterpolateOffset) ? $"InterpolateOffset is {InterpolateOffset}; expected a value in [0, 1)."
        : null;
}
