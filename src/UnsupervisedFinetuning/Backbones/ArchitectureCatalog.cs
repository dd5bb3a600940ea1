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
    ]);

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
