using UnsupervisedFinetuning.Fuzzing;

namespace UnsupervisedFinetuning.Tests;

/// <summary>
/// What an action costs in resident memory, native allocations included (libtorch's, SkiaSharp's): the evidence
/// that a reader refuses a lying header before allocating what it declares.
/// </summary>
internal static class PeakMemory
{
    /// <summary>Peak resident memory (MB) <paramref name="action"/> adds to this process (Linux: VmHWM after resetting it); inconclusive elsewhere.</summary>
    public static double MegabytesAdded(Action action)
    {
        Assume.That(ResidentMemory.ResetPeak(), "needs /proc/self/clear_refs (Linux)");
        long before = ResidentMemory.Current()!.Value;
        action();
        return (ResidentMemory.Peak()!.Value - before) / 1e6;
    }
}
