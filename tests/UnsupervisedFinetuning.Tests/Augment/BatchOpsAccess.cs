using UnsupervisedFinetuning.Augment;
using static TorchSharp.torch;

namespace UnsupervisedFinetuning.Tests.Augment;

/// <summary>
/// The explicit HSV round trip (RGB → HSV → RGB, torchvision's definition) that the library's direct
/// <c>BatchOps.ShiftHue</c> is checked against, and access to that internal helper.
/// </summary>
internal static class BatchOpsAccess
{
    /// <summary>RGB [B,3,H,W] in [0,1] to HSV with hue in [0,1) (the colorsys / torchvision definition).</summary>
    public static Tensor RgbToHsv(Tensor rgb)
    {
        var channels = rgb.unbind(1);
        var (r, g, b) = (channels[0], channels[1], channels[2]);
        var maxc = rgb.amax([1]);
        var chroma = maxc - rgb.amin([1]);
        var gray = chroma.eq(0);
        var saturation = chroma / where(gray, ones_like(maxc), maxc);
        var safeChroma = where(gray, ones_like(chroma), chroma);

        // The channel holding the maximum picks the hue sector (red wins ties, then green); gray pixels
        // (zero chroma) get hue 0 because every numerator below is 0 for them.
        var hue = where(maxc.eq(r), (g - b) / safeChroma, where(maxc.eq(g), ((b - r) / safeChroma) + 2.0f, ((r - g) / safeChroma) + 4.0f));
        hue = (hue / 6.0f).remainder(1.0);
        return stack([hue, saturation, maxc], 1);
    }

    /// <summary>
    /// HSV [B,3,H,W] (hue in turns) back to RGB, by the branch-free form c = v − v·s·clamp(min(k, 4 − k), 0, 1)
    /// with k = (n + 6h) mod 6 and n = 5, 3, 1 for R, G, B, which equals the six-sector table.
    /// </summary>
    public static Tensor HsvToRgb(Tensor hsv)
    {
        var h = hsv.narrow(1, 0, 1);
        var s = hsv.narrow(1, 1, 1);
        var v = hsv.narrow(1, 2, 1);
        var n = tensor(new[] { 5f, 3f, 1f }, ScalarType.Float32).view(1, 3, 1, 1).to(hsv.device).to(hsv.dtype);
        var k = ((h * 6.0f) + n).remainder(6.0);
        var ramp = minimum(k, 4.0f - k).clamp(0, 1);
        return v - (v * s * ramp);
    }

    public static Tensor ShiftHue(Tensor rgb, Tensor shift) => BatchOps.ShiftHue(rgb, shift);
}
