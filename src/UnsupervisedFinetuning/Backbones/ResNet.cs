using TorchSharp.Modules;
using static TorchSharp.torch;

namespace UnsupervisedFinetuning.Backbones;

/// <summary>The ResNet depths offered.</summary>
public enum ResNetDepth
{
    /// <summary>ResNet-18: BasicBlock × [2, 2, 2, 2], 512 features at width 64.</summary>
    ResNet18,

    /// <summary>ResNet-34: BasicBlock × [3, 4, 6, 3], 512 features at width 64.</summary>
    ResNet34,

    /// <summary>ResNet-50: Bottleneck × [3, 4, 6, 3], 2048 features at width 64.</summary>
    ResNet50,
}

/// <summary>
/// torchvision's ResNet-18/34/50 written for this library, with the same parameter names (<c>conv1</c>,
/// <c>bn1</c>, <c>layer1.0.conv1</c>, …, <c>layer2.0.downsample.0</c>, <c>fc</c>) and the same forward pass,
/// so torchvision and MoCo/SimCLR/BYOL checkpoints load by name and give the same outputs. Options:
/// the <see cref="ResNetStem.SmallImage"/> stem for 28–64 px images, the input channel count, and the
/// base width (64 in torchvision; smaller widths make CPU-sized models of the same shape).
/// </summary>
public sealed class ResNet : Backbone
{
    private readonly Conv2d _conv1;
    private readonly BatchNorm2d _bn1;
    private readonly MaxPool2d? _maxpool;
    private readonly Sequential[] _layers;
    private readonly AdaptiveAvgPool2d _avgpool;

    /// <summary>Builds a randomly initialised ResNet (torchvision's initialisation: Kaiming-normal convolutions, BN γ = 1, β = 0).</summary>
    /// <param name="depth">18, 34 or 50 layers.</param>
    /// <param name="stem">ImageNet stem (default) or the small-image stem.</param>
    /// <param name="inputChannels">3 for RGB, 1 for grayscale.</param>
    /// <param name="width">Channels of layer1 (64 in torchvision); layers 2–4 double it each time.</param>
    /// <exception cref="ArgumentOutOfRangeException">A size is not positive or the enum value is unknown.</exception>
    public ResNet(ResNetDepth depth = ResNetDepth.ResNet18, ResNetStem stem = ResNetStem.ImageNet, int inputChannels = 3, int width = 64)
        : base(depth.ToString())
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(inputChannels);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(width);
        if (!Enum.IsDefined(depth))
        {
            throw new ArgumentOutOfRangeException(nameof(depth), depth, "Unknown ResNet depth.");
        }

        if (!Enum.IsDefined(stem))
        {
            throw new ArgumentOutOfRangeException(nameof(stem), stem, "Unknown ResNet stem.");
        }

        Depth = depth;
        Stem = stem;
        InputChannels = inputChannels;
        Width = width;
        (bool bottleneck, int[] blocks) = Configuration(depth);
        int expansion = bottleneck ? Bottleneck.Expansion : BasicBlock.Expansion;

        _conv1 = stem == ResNetStem.ImageNet
            ? nn.Conv2d(inputChannels, width, kernel_size: 7, stride: 2, padding: 3, bias: false)
            : nn.Conv2d(inputChannels, width, kernel_size: 3, stride: 1, padding: 1, bias: false);
        _bn1 = nn.BatchNorm2d(width);
        register_module("conv1", _conv1);
        register_module("bn1", _bn1);
        if (stem == ResNetStem.ImageNet)
        {
            _maxpool = nn.MaxPool2d(kernel_size: 3, stride: 2, padding: 1);
            register_module("maxpool", _maxpool);
        }

        int inPlanes = width;
        _layers = new Sequential[4];
        for (int l = 0; l < 4; l++)
        {
            int planes = width << l;
            int stride = l == 0 ? 1 : 2;
            var modules = new List<(string, nn.Module<Tensor, Tensor>)>();
            for (int b = 0; b < blocks[l]; b++)
            {
                int blockStride = b == 0 ? stride : 1;
                nn.Module<Tensor, Tensor>? downsample = null;
                if (b == 0 && (stride != 1 || inPlanes != planes * expansion))
                {
                    downsample = nn.Sequential(
                        ("0", nn.Conv2d(inPlanes, planes * expansion, kernel_size: 1, stride: stride, bias: false)),
                        ("1", nn.BatchNorm2d(planes * expansion)));
                }

                modules.Add((b.ToString(System.Globalization.CultureInfo.InvariantCulture), bottleneck
                    ? new Bottleneck(inPlanes, planes, blockStride, downsample)
                    : new BasicBlock(inPlanes, planes, blockStride, downsample)));
                inPlanes = planes * expansion;
            }

            _layers[l] = nn.Sequential(modules);
            register_module($"layer{l + 1}", _layers[l]);
        }

        _avgpool = nn.AdaptiveAvgPool2d(1);
        register_module("avgpool", _avgpool);
        FeatureDimension = inPlanes;
        Initialize();
    }

    /// <summary>Number of layers.</summary>
    public ResNetDepth Depth { get; }

    /// <summary>The stem variant.</summary>
    public ResNetStem Stem { get; }

    /// <summary>Channels of layer1.</summary>
    public int Width { get; }

    /// <inheritdoc />
    public override int FeatureDimension { get; }

    /// <inheritdoc />
    public override int InputChannels { get; }

    /// <inheritdoc />
    public override Tensor ForwardFeatures(Tensor images)
    {
        ArgumentNullException.ThrowIfNull(images);
        if (images.dim() != 4 || images.shape[1] != InputChannels)
        {
            throw new ArgumentException($"{Depth} expects images [B,{InputChannels},H,W]; got [{string.Join(",", images.shape)}].", nameof(images));
        }

        var x = _bn1.call(Autocast.Conv2d(_conv1, images)).relu_();
        if (_maxpool is not null)
        {
            x = _maxpool.call(x);
        }

        foreach (var layer in _layers)
        {
            x = Autocast.Forward(layer, x);
        }

        return Autocast.Float32(_avgpool.call(x).flatten(1)); // features leave a mixed-precision region in float32
    }

    /// <inheritdoc />
    internal override bool UsesAutocast => true;

    /// <inheritdoc />
    public override Backbone CloneArchitecture() => new ResNet(Depth, Stem, InputChannels, Width);

    /// <inheritdoc />
    public override BackboneDescription Describe() => new(Depth.ToString(), InputChannels, FeatureDimension) { Stem = Stem, Width = Width, Classes = ClassifierClasses };

    /// <summary>
    /// The blocks of a depth: bottleneck blocks (expansion 4) or basic ones, and how many in each of the four layers
    /// (the constructor and <see cref="WeightsLayout"/> both build from this).
    /// </summary>
    internal static (bool Bottleneck, int[] Blocks) Configuration(ResNetDepth depth) => depth switch
    {
        ResNetDepth.ResNet18 => (false, [2, 2, 2, 2]),
        ResNetDepth.ResNet34 => (false, [3, 4, 6, 3]),
        _ => (true, [3, 4, 6, 3]),
    };

    /// <summary>Width of the pooled features of a ResNet of this depth and base width: 8 × width, or 32 × width with bottleneck blocks.</summary>
    internal static int Features(ResNetDepth depth, int width) => width * 8 * (Configuration(depth).Bottleneck ? Bottleneck.Expansion : BasicBlock.Expansion);

    private void Initialize()
    {
        using var noGrad = no_grad();
        foreach (var module in modules())
        {
            switch (module)
            {
                case Conv2d conv:
                    nn.init.kaiming_normal_(conv.weight, mode: nn.init.FanInOut.FanOut, nonlinearity: nn.init.NonlinearityType.ReLU);
                    break;
                case BatchNorm2d norm:
                    nn.init.ones_(norm.weight);
                    nn.init.zeros_(norm.bias);
                    break;
            }
        }
    }
}
