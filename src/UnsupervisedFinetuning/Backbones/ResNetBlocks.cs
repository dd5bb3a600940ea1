using TorchSharp.Modules;
using static TorchSharp.torch;

namespace UnsupervisedFinetuning.Backbones;

/// <summary>torchvision's BasicBlock (ResNet-18/34): two 3×3 convolutions and a residual connection.</summary>
internal sealed class BasicBlock : nn.Module<Tensor, Tensor>
{
    public const int Expansion = 1;

    private readonly Conv2d _conv1;
    private readonly BatchNorm2d _bn1;
    private readonly Conv2d _conv2;
    private readonly BatchNorm2d _bn2;
    private readonly nn.Module<Tensor, Tensor>? _downsample;

    public BasicBlock(int inPlanes, int planes, int stride, nn.Module<Tensor, Tensor>? downsample)
        : base(nameof(BasicBlock))
    {
        _conv1 = nn.Conv2d(inPlanes, planes, kernel_size: 3, stride: stride, padding: 1, bias: false);
        _bn1 = nn.BatchNorm2d(planes);
        _conv2 = nn.Conv2d(planes, planes, kernel_size: 3, stride: 1, padding: 1, bias: false);
        _bn2 = nn.BatchNorm2d(planes);
        _downsample = downsample;
        register_module("conv1", _conv1);
        register_module("bn1", _bn1);
        register_module("conv2", _conv2);
        register_module("bn2", _bn2);
        if (downsample is not null)
        {
            register_module("downsample", downsample);
        }
    }

    public override Tensor forward(Tensor input)
    {
        var x = _bn1.call(Autocast.Conv2d(_conv1, input)).relu_();
        x = _bn2.call(Autocast.Conv2d(_conv2, x));
        var identity = _downsample is null ? input : Autocast.Forward(_downsample, input);
        return x.add_(identity).relu_();
    }
}

/// <summary>torchvision's Bottleneck (ResNet-50, "v1.5": stride on the 3×3): 1×1, 3×3, 1×1 convolutions.</summary>
internal sealed class Bottleneck : nn.Module<Tensor, Tensor>
{
    public const int Expansion = 4;

    private readonly Conv2d _conv1;
    private readonly BatchNorm2d _bn1;
    private readonly Conv2d _conv2;
    private readonly BatchNorm2d _bn2;
    private readonly Conv2d _conv3;
    private readonly BatchNorm2d _bn3;
    private readonly nn.Module<Tensor, Tensor>? _downsample;

    public Bottleneck(int inPlanes, int planes, int stride, nn.Module<Tensor, Tensor>? downsample)
        : base(nameof(Bottleneck))
    {
        _conv1 = nn.Conv2d(inPlanes, planes, kernel_size: 1, bias: false);
        _bn1 = nn.BatchNorm2d(planes);
        _conv2 = nn.Conv2d(planes, planes, kernel_size: 3, stride: stride, padding: 1, bias: false);
        _bn2 = nn.BatchNorm2d(planes);
        _conv3 = nn.Conv2d(planes, planes * Expansion, kernel_size: 1, bias: false);
        _bn3 = nn.BatchNorm2d(planes * Expansion);
        _downsample = downsample;
        register_module("conv1", _conv1);
        register_module("bn1", _bn1);
        register_module("conv2", _conv2);
        register_module("bn2", _bn2);
        register_module("conv3", _conv3);
        register_module("bn3", _bn3);
        if (downsample is not null)
        {
            register_module("downsample", downsample);
        }
    }

    public override Tensor forward(Tensor input)
    {
        var x = _bn1.call(Autocast.Conv2d(_conv1, input)).relu_();
        x = _bn2.call(Autocast.Conv2d(_conv2, x)).relu_();
        x = _bn3.call(Autocast.Conv2d(_conv3, x));
        var identity = _downsample is null ? input : Autocast.Forward(_downsample, input);
        return x.add_(identity).relu_();
    }
}
