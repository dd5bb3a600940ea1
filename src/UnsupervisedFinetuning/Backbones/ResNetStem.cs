namespace UnsupervisedFinetuning.Backbones;

/// <summary>The first layers of a ResNet, which decide how much it downsamples before layer1.</summary>
public enum ResNetStem
{
    /// <summary>torchvision's ImageNet stem: 7×7 convolution with stride 2, then 3×3 max-pool with stride 2 (÷4).</summary>
    ImageNet,

    /// <summary>For 28–64 px images (CIFAR-style): 3×3 convolution with stride 1 and no max-pool (÷1).</summary>
    SmallImage,
}
