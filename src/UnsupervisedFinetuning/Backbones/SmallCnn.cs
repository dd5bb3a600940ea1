using TorchSharp.Modules;
using static TorchSharp.torch;

namespace UnsupervisedFinetuning.Backbones;

/// <summary>
/// A small convolutional backbone for CPU-sized work on 16–64 px images: four 3×3 conv–BN–ReLU stages
/// (the last three with stride 2) of widths F/8, F/4, F/2, F, then global average pooling to F features
/// (F = <see cref="FeatureDimension"/>, default 256). Parameter names: <c>features.{0..3}.{conv,bn}</c>.
/// </summary>
public sealed class SmallCnn : Backbone
{
    private readonly Sequential _features;

    /// <summary>Builds a randomly initialised network.</summary>
    /// <exception cref="ArgumentOutOfRangeException">A size is not positive or the feature count is not a multiple of 8.</exception>
    public SmallCnn(int inputChannels = 1, int featureDimension = 256)
        : base(nameof(SmallCnn))
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(inputChannels);
        if (featureDimension <= 0 || featureDimension % 8 != 0)
        {
            throw new ArgumentOutOfRangeException(nameof(featureDimension), featureDimension, "SmallCnn featureDimension must be a positive multiple of 8.");
        }

        InputChannels = inputChannels;
        FeatureDimension = featureDimension;
        int[] widths = [featureDimension / 8, featureDimension / 4, featureDimension / 2, featureDimension];
        var stages = new List<(string, nn.Module<Tensor, Tensor>)>();
        int inChannels = inputChannels;
        for (int s = 0; s < widths.Length; s++)
        {
            stages.Add((s.ToString(System.Globalization.CultureInfo.InvariantCulture), nn.Sequential(
                ("conv", nn.Conv2d(inChannels, widths[s], kernel_size: 3, stride: s == 0 ? 1 : 2, padding: 1, bias: false)),
                ("bn", nn.BatchNorm2d(widths[s])),
                ("relu", nn.ReLU(inplace: true)))));
            inChannels = widths[s];
        }

        _features = nn.Sequential(stages);
        register_module("features", _features);
        using var noGrad = no_grad();
        foreach (var module in modules())
        {
            if (module is Conv2d conv)
            {
                nn.init.kaiming_normal_(conv.weight, mode: nn.init.FanInOut.FanOut, nonlinearity: nn.init.NonlinearityType.ReLU);
            }
        }
    }

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
            throw new ArgumentException($"SmallCnn expects images [B,{InputChannels},H,W]; got [{string.Join(",", images.shape)}].", nameof(images));
        }

        return Autocast.Float32(Autocast.Forward(_features, images).mean([2, 3])); // features leave a mixed-precision region in float32
    }

    /// <inheritdoc />
    internal override bool UsesAutocast => true;

    /// <inheritdoc />
    public override Backbone CloneArchitecture() => new SmallCnn(InputChannels, FeatureDimension);

    /// <inheritdoc />
    public override BackboneDescription Describe() => new("SmallCnn", InputChannels, FeatureDimension) { Classes = ClassifierClasses };
}
