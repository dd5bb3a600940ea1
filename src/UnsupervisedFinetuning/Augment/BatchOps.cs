using static TorchSharp.torch;

namespace UnsupervisedFinetuning.Augment;

/// <summary>Tensor helpers shared by the transforms. All take and return float [B,C,H,W].</summary>
internal static class BatchOps
{
    /// <summary>ITU-R 601-2 luma weights, as in PIL's "L" conversion and torchvision's rgb_to_grayscale.</summary>
    public const float LumaR = 0.299f;

    /// <summary>Green weight of the luma.</summary>
    public const float LumaG = 0.587f;

    /// <summary>Blue weight of the luma.</summary>
    public const float LumaB = 0.114f;

    /// <summary>Luma [B,1,H,W] of an RGB batch; a one-channel batch is returned as is.</summary>
    public static Tensor Luma(Tensor images)
    {
        if (images.shape[1] == 1)
        {
            return images.alias();
        }

        var channels = images.unbind(1);
        return ((channels[0] * LumaR) + (channels[1] * LumaG) + (channels[2] * LumaB)).unsqueeze(1);
    }

    /// <summary>factor·a + (1 − factor)·b, clamped to [0, 1] (torchvision's _blend). factor is [B,1,1,1].</summary>
    public static Tensor Blend(Tensor a, Tensor b, Tensor factor) => ((factor * a) + ((1 - factor) * b)).clamp(0, 1);

    /// <summary>A per-sample column [B,1,1,1] of values on <paramref name="device"/>.</summary>
    public static Tensor Column(float[] values, Device device) => tensor(values, ScalarType.Float32).view(-1, 1, 1, 1).to(device);

    /// <summary>Index tensor on <paramref name="device"/>.</summary>
    public static Tensor Indices(IReadOnlyCollection<long> indices, Device device) => tensor(indices.ToArray(), ScalarType.Int64).to(device);

    /// <summary>
    /// Applies <paramref name="transform"/> to the samples at <paramref name="selected"/> only and returns
    /// a batch in which the others are untouched. Nothing is computed for unselected samples.
    /// </summary>
    public static Tensor ApplyToSubset(Tensor images, List<long> selected, Func<Tensor, Tensor> transform)
    {
        if (selected.Count == 0)
        {
            return images.alias();
        }

        if (selected.Count == images.shape[0])
        {
            return transform(images);
        }

        var index = Indices(selected, images.device);
        var changed = transform(images.index_select(0, index));
        return images.index_copy(0, index, changed);
    }

    /// <summary>
    /// Rotates the hue of RGB images [B,3,H,W] by <paramref name="shift"/> turns ([B,1,1,1]) in the HSV
    /// hexcone, keeping saturation and value. Equal to RGB → HSV → h + shift → RGB (the tests hold that explicit
    /// round trip as the reference), but computed
    /// directly: in that model max and min channel are kept and v·s is the chroma max − min.
    /// </summary>
    public static Tensor ShiftHue(Tensor rgb, Tensor shift)
    {
        var channels = rgb.unbind(1);
        var (r, g, b) = (channels[0], channels[1], channels[2]);
        var maxc = rgb.amax([1], keepdim: true);
        var chroma = maxc - rgb.amin([1], keepdim: true);
        var safeChroma = where(chroma.eq(0), ones_like(chroma), chroma).squeeze(1);
        var m = maxc.squeeze(1);
        var sixHue = where(m.eq(r), (g - b) / safeChroma, where(m.eq(g), ((b - r) / safeChroma) + 2.0f, ((r - g) / safeChroma) + 4.0f));
        var n = tensor(new[] { 5f, 3f, 1f }, ScalarType.Float32).view(1, 3, 1, 1).to(rgb.device).to(rgb.dtype);
        var k = (sixHue.unsqueeze(1) + (shift * 6.0f) + n).remainder(6.0);
        return maxc - (chroma * minimum(k, 4.0f - k).clamp(0, 1));
    }
}
