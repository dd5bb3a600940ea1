namespace UnsupervisedFinetuning.Backbones;

/// <summary>
/// The backbone architectures this library builds, by name: what a model card's <c>backbone.architecture</c>,
/// <see cref="PretrainedModel.Import"/> and <c>uft --arch</c> look up. Add one of your own with
/// <c>ArchitectureCatalog.BuiltIn.With(entry)</c> (see <see cref="ArchitectureEntry"/>).
/// </summary>
public static class ArchitectureCatalog
{
    // Sizes a SmallCnn description may have: 4096 features are 99 million parameters (396 MB), four ResNet-50s: no longer small.
    private const int MaxSmallCnnFeatures = 4096;

    /// <summary>
    /// <c>smallcnn</c> (<see cref="SmallCnn"/>), <c>resnet18</c>, <c>resnet34</c> and <c>resnet50</c>
    /// (<see cref="ResNet"/>), in that order.
    /// </summary>
    public static Catalog<ArchitectureEntry> BuiltIn { get; } = new(
    [
        SmallCnnEntry(),
        ResNetEntry(ResNetDepth.ResNet18, "torchvision's ResNet-18 (BasicBlock × [2, 2, 2, 2]), 512 features at width 64."),
        ResNetEntry(ResNetDepth.ResNet34, "torchvision's ResNet-34 (BasicBlock × [3, 4, 6, 3]), 512 features at width 64."),
        ResNetEntry(ResNetDepth.ResNet50, "torchvision's ResNet-50 (Bottleneck × [3, 4, 6, 3]), 2048 features at width 64."),
        // DINOv2's hub backbones: a 37 × 37 position grid (518 px), LayerScale; the _reg4 ones with 4 registers and the
        // antialiased resize to the grid (no offset).
        VitEntry("ViT-S14", "DINOv2's ViT-S/14 (384 wide, 12 blocks, LayerScale), as dinov2_vits14.", VisionTransformerOptions.Small(14) with { ImageSize = 518, LayerScaleInit = 1.0 }),
        VitEntry("ViT-B14", "DINOv2's ViT-B/14 (768 wide, 12 blocks, LayerScale), as dinov2_vitb14.", VisionTransformerOptions.Base(14) with { ImageSize = 518, LayerScaleInit = 1.0 }),
        VitEntry("ViT-L14", "DINOv2's ViT-L/14 (1024 wide, 24 blocks, LayerScale), as dinov2_vitl14.", VisionTransformerOptions.Large(14) with { ImageSize = 518, LayerScaleInit = 1.0 }),
        VitEntry("ViT-S14-Reg4", "DINOv2's ViT-S/14 with 4 register tokens, as dinov2_vits14_reg.", VisionTransformerOptions.Small(14) with { ImageSize = 518, LayerScaleInit = 1.0, RegisterTokens = 4, InterpolateOffset = 0, InterpolateAntialias = true }),
        VitEntry("ViT-B14-Reg4", "DINOv2's ViT-B/14 with 4 register tokens, as dinov2_vitb14_reg.", VisionTransformerOptions.Base(14) with { ImageSize = 518, LayerScaleInit = 1.0, RegisterTokens = 4, InterpolateOffset = 0, InterpolateAntialias = true }),
        VitEntry("ViT-L14-Reg4", "DINOv2's ViT-L/14 with 4 register tokens, as dinov2_vitl14_reg.", VisionTransformerOptions.Large(14) with { ImageSize = 518, LayerScaleInit = 1.0, RegisterTokens = 4, InterpolateOffset = 0, InterpolateAntialias = true }),
        // DINO's, timm's and torchvision's ViTs at 224 px without LayerScale (the key map reads timm's and torchvision's names).
        VitEntry("ViT-T16", "ViT-Tiny/16 (192 wide, 12 blocks) at 224 px, as timm's and DeiT's.", VisionTransformerOptions.Tiny(16) with { LayerScaleInit = null }),
        VitEntry("ViT-S16", "ViT-S/16 (384 wide, 12 blocks) at 224 px, as DINO's dino_vits16.", VisionTransformerOptions.Small(16) with { LayerScaleInit = null }),
        VitEntry("ViT-B16", "ViT-B/16 (768 wide, 12 blocks) at 224 px, as DINO's dino_vitb16 and torchvision's vit_b_16.", VisionTransformerOptions.Base(16) with { LayerScaleInit = null }),
    ]);

    // A ViT entry's name fixes its whole shape; a description varies only its input channels.
    private static ArchitectureEntry VitEntry(string architecture, string description, VisionTransformerOptions shape) => new(
        architecture,
        description,
        defaultBackbone: new BackboneDescription(architecture, shape.InputChannels, shape.FeatureDimension),
        defaultInput: InputDescription.ImageNet(224),
        build: d => new VisionTransformer(shape with { InputChannels = d.InputChannels }, architecture),
        featureDimension: _ => shape.FeatureDimension,
        check: d => d.FeatureDimension != shape.FeatureDimension
            ? $"backbone.featureDimension is {d.FeatureDimension} but a {architecture} has {shape.FeatureDimension}."
            : d.InputChannels is < 1 or > 4 ? $"backbone.inputChannels is {d.InputChannels}; a {architecture} takes 1 to 4." : null,
        keyMap: VisionTransformer.AnyLayoutKeys);

    private static ArchitectureEntry SmallCnnEntry() => new(
        nameof(SmallCnn),
        "A small CNN for 16–64 px images on the CPU: four 3×3 conv–BN–ReLU stages, 256 features by default.",
        defaultBackbone: new BackboneDescription(nameof(SmallCnn), 1, 256),
        defaultInput: InputDescription.Centered(28, 1),
        build: d => new SmallCnn(d.InputChannels, d.FeatureDimension),
        check: d => d.FeatureDimension is < 8 or > MaxSmallCnnFeatures || d.FeatureDimension % 8 != 0
            ? $"backbone.featureDimension is {d.FeatureDimension}; a SmallCnn has a multiple of 8 from 8 to {MaxSmallCnnFeatures} features."
            : null)
    {
        Layout = WeightsLayout.OfSmallCnn,
    };

    // The ResNets' feature width follows from the base width (Width, 64 by default); the stem and channels are free.
    private static ArchitectureEntry ResNetEntry(ResNetDepth depth, string description) => new(
        depth.ToString(),
        description,
        defaultBackbone: new BackboneDescription(depth.ToString(), 3, ResNet.Features(depth, 64)) { Stem = ResNetStem.ImageNet, Width = 64 },
        defaultInput: InputDescription.ImageNet(224),
        build: d => new ResNet(depth, d.Stem ?? ResNetStem.ImageNet, d.InputChannels, d.Width ?? 64),
        featureDimension: d => ResNet.Features(depth, d.Width ?? 64),
        check: d => ResNet.Features(depth, d.Width ?? 64) is var features && d.FeatureDimension != features
            ? $"backbone.featureDimension is {d.FeatureDimension} but a {depth} of width {d.Width ?? 64} has {features}."
            : null)
    {
        Layout = d => WeightsLayout.OfResNet(d, depth),
    };
}
