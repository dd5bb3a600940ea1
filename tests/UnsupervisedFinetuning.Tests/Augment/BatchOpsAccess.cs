using UnsupervisedFinetuning.Augment;
using static TorchSharp.torch;

namespace UnsupervisedFinetuning.Tests.Augment;

/// <summary>Reaches the internal colour-space helpers under test.</summary>
internal static class BatchOpsAccess
{
    public static Tensor RgbToHsv(Tensor rgb) => BatchOps.RgbToHsv(rgb);

    public static Tensor HsvToRgb(Tensor hsv) => BatchOps.HsvToRgb(hsv);

    public static Tensor ShiftHue(Tensor rgb, Tensor shift) => BatchOps.ShiftHue(rgb, shift);
}
