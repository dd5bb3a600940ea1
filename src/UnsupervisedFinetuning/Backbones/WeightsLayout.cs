using System.Globalization;
using UnsupervisedFinetuning.Formats;
using static TorchSharp.torch;

namespace UnsupervisedFinetuning.Backbones;

/// <summary>One tensor of a network's state dict: its name, dtype and shape.</summary>
internal sealed record TensorLayout(string Name, ScalarType Type, long[] Shape)
{
    /// <summary>The tensor's bytes; <see cref="OverflowException"/> past a long (sizes are bounded before a layout is made).</summary>
    public long Bytes => Shape.Aggregate(ElementBytes, (bytes, size) => checked(bytes * size));

    private long ElementBytes => Type switch
    {
        ScalarType.Int64 or ScalarType.Float64 or ScalarType.ComplexFloat32 => 8L,
        ScalarType.Float16 or ScalarType.BFloat16 or ScalarType.Int16 => 2L,
        ScalarType.Bool or ScalarType.Byte or ScalarType.Int8 => 1L,
        ScalarType.ComplexFloat64 => 16L,
        _ => 4L,
    };
}

/// <summary>
/// The state dict a described network has — every parameter and buffer, by name, with its dtype and shape —
/// computed from the description alone, without building the network, so that <see cref="PretrainedModel.Load"/>
/// can compare the weights files with it before it allocates anything. It mirrors the constructors of
/// <see cref="SmallCnn"/>, <see cref="ResNet"/> (with <see cref="Backbone.ReplaceClassifier"/>'s <c>fc</c>) and
/// <see cref="ProjectionHead"/>; <c>WeightsLayoutTests</c> compare it with the networks built.
/// </summary>
/// <remarks>
/// Every BatchNorm has <c>running_mean</c>, <c>running_var</c> (float32) and <c>num_batches_tracked</c> (an
/// int64 scalar) besides its affine <c>weight</c> and <c>bias</c>; <see cref="Checkpoint.Save"/> writes them all.
/// Callers check the description's sizes first (<see cref="PretrainedModel"/>'s bounds): a layout of unchecked
/// sizes can be as large as the sizes say.
/// </remarks>
internal static class WeightsLayout
{
    /// <summary>
    /// The state dict of the backbone <paramref name="d"/> describes, for an architecture of
    /// <see cref="ArchitectureCatalog.BuiltIn"/> (each entry says how its layout is computed).
    /// </summary>
    /// <exception cref="ArgumentException">The architecture is not one this library builds.</exception>
    public static IReadOnlyList<TensorLayout> Of(BackboneDescription d)
    {
        ArgumentNullException.ThrowIfNull(d);
        return ArchitectureCatalog.BuiltIn.Find(d.Architecture)?.Layout is { } layout
            ? layout(d)
            : throw new ArgumentException($"No layout for the architecture '{IO.ExceptionText.Printable(d.Architecture)}'.", nameof(d));
    }

    /// <summary>The state dict of a network as built: every parameter and buffer, by name, with its dtype and shape.</summary>
    public static IReadOnlyList<TensorLayout> Of(nn.Module module)
    {
        ArgumentNullException.ThrowIfNull(module);
        return [.. module.state_dict().Select(kv => new TensorLayout(kv.Key, kv.Value.dtype, kv.Value.shape))];
    }

    /// <summary>Four 3×3 conv–BN stages of widths F/8, F/4, F/2, F (<see cref="SmallCnn"/>'s constructor), and the classifier if described.</summary>
    public static IReadOnlyList<TensorLayout> OfSmallCnn(BackboneDescription d)
    {
        var tensors = new List<TensorLayout>();
        int inChannels = d.InputChannels;
        int features = d.FeatureDimension;
        int[] widths = [features / 8, features / 4, features / 2, features];
        for (int stage = 0; stage < widths.Length; stage++)
        {
            Conv(tensors, $"features.{Name(stage)}.conv", inChannels, widths[stage], 3);
            BatchNorm(tensors, $"features.{Name(stage)}.bn", widths[stage], affine: true);
            inChannels = widths[stage];
        }

        return Classifier(tensors, features, d);
    }

    /// <summary>
    /// torchvision's ResNet (<see cref="ResNet"/>'s constructor): stem, four layers of blocks, the first block
    /// of a layer downsampling when the stride or the width changes; and the classifier if described.
    /// </summary>
    public static IReadOnlyList<TensorLayout> OfResNet(BackboneDescription d, ResNetDepth depth)
    {
        var tensors = new List<TensorLayout>();
        var (bottleneck, blocks) = ResNet.Configuration(depth);
        int width = d.Width ?? 64;
        int expansion = bottleneck ? 4 : 1;
        Conv(tensors, "conv1", d.InputChannels, width, (d.Stem ?? ResNetStem.ImageNet) == ResNetStem.ImageNet ? 7 : 3);
        BatchNorm(tensors, "bn1", width, affine: true);
        int inPlanes = width;
        for (int l = 0; l < 4; l++)
        {
            int planes = width << l;
            for (int b = 0; b < blocks[l]; b++)
            {
                string block = $"layer{l + 1}.{Name(b)}";
                Conv(tensors, $"{block}.conv1", inPlanes, planes, bottleneck ? 1 : 3);
                BatchNorm(tensors, $"{block}.bn1", planes, affine: true);
                Conv(tensors, $"{block}.conv2", planes, planes, 3);
                BatchNorm(tensors, $"{block}.bn2", planes, affine: true);
                if (bottleneck)
                {
                    Conv(tensors, $"{block}.conv3", planes, planes * expansion, 1);
                    BatchNorm(tensors, $"{block}.bn3", planes * expansion, affine: true);
                }

                if (b == 0 && (l > 0 || inPlanes != planes * expansion))
                {
                    Conv(tensors, $"{block}.downsample.0", inPlanes, planes * expansion, 1);
                    BatchNorm(tensors, $"{block}.downsample.1", planes * expansion, affine: true);
                }

                inPlanes = planes * expansion;
            }
        }

        return Classifier(tensors, inPlanes, d);
    }

    /// <summary>The state dict of the projection head <paramref name="h"/> describes.</summary>
    public static IReadOnlyList<TensorLayout> Of(HeadDescription h)
    {
        ArgumentNullException.ThrowIfNull(h);
        var tensors = new List<TensorLayout>();

        // Layers are numbered as the head registers them: Linear, [BatchNorm1d], ReLU per hidden layer, then the last Linear [and BatchNorm1d].
        int index = 0;
        int width = h.Input;
        for (int layer = 0; layer < h.HiddenLayers; layer++)
        {
            Linear(tensors, Name(index++), width, h.Hidden, bias: !h.BatchNorm);
            if (h.BatchNorm)
            {
                BatchNorm(tensors, Name(index++), h.Hidden, affine: true);
            }

            index++; // ReLU
            width = h.Hidden;
        }

        Linear(tensors, Name(index++), width, h.Output, bias: !h.OutputBatchNorm);
        if (h.OutputBatchNorm)
        {
            BatchNorm(tensors, Name(index), h.Output, affine: false);
        }

        return tensors;
    }

    /// <summary>The bytes of all the tensors: what <see cref="Checkpoint.Save"/> writes for them, besides names and shapes.</summary>
    public static long Bytes(IEnumerable<TensorLayout> tensors) => tensors.Aggregate(0L, (sum, tensor) => checked(sum + tensor.Bytes));

    // Backbone.ReplaceClassifier's fc after the features, when the description has classes.
    private static List<TensorLayout> Classifier(List<TensorLayout> tensors, int features, BackboneDescription d)
    {
        if (d.Classes is { } classes)
        {
            Linear(tensors, "fc", features, classes, bias: true);
        }

        return tensors;
    }

    private static void Conv(List<TensorLayout> tensors, string name, int inChannels, int outChannels, int kernel) =>
        tensors.Add(new TensorLayout($"{name}.weight", ScalarType.Float32, [outChannels, inChannels, kernel, kernel]));

    private static void Linear(List<TensorLayout> tensors, string name, int inFeatures, int outFeatures, bool bias)
    {
        tensors.Add(new TensorLayout($"{name}.weight", ScalarType.Float32, [outFeatures, inFeatures]));
        if (bias)
        {
            tensors.Add(new TensorLayout($"{name}.bias", ScalarType.Float32, [outFeatures]));
        }
    }

    private static void BatchNorm(List<TensorLayout> tensors, string name, int channels, bool affine)
    {
        if (affine)
        {
            tensors.Add(new TensorLayout($"{name}.weight", ScalarType.Float32, [channels]));
            tensors.Add(new TensorLayout($"{name}.bias", ScalarType.Float32, [channels]));
        }

        tensors.Add(new TensorLayout($"{name}.running_mean", ScalarType.Float32, [channels]));
        tensors.Add(new TensorLayout($"{name}.running_var", ScalarType.Float32, [channels]));
        tensors.Add(new TensorLayout($"{name}.num_batches_tracked", ScalarType.Int64, []));
    }

    private static string Name(int index) => index.ToString(CultureInfo.InvariantCulture);
}
