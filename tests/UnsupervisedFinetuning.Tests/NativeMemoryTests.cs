using System.Globalization;
using TorchSharp;

namespace UnsupervisedFinetuning.Tests;

public sealed class NativeMemoryTests
{
    // The kernel's own figure for the resident set, in kB: the reference ResidentBytes must agree with.
    private static long VmRssBytes()
    {
        string line = File.ReadLines("/proc/self/status").Single(l => l.StartsWith("VmRSS:", StringComparison.Ordinal));
        string kb = line["VmRSS:".Length..].Trim().Split(' ')[0];
        return long.Parse(kb, CultureInfo.InvariantCulture) * 1024;
    }

    [Test]
    public void ResidentBytes_AgreesWithProcStatus()
    {
        Assume.That(OperatingSystem.IsLinux(), "/proc is Linux-only");

        long ours = NativeMemory.ResidentBytes();
        long kernel = VmRssBytes();

        // Both are read a moment apart; the process may fault in a few pages in between.
        Assert.That(ours, Is.EqualTo(kernel).Within(4 * 1024 * 1024));
    }

    [Test]
    public void Trim_AfterFreeingManySmallTensors_ReleasesMemoryToTheSystem()
    {
        Assume.That(OperatingSystem.IsLinux(), "malloc_trim is glibc-only");

        // 2,000 tensors of 64 KiB (below glibc's mmap threshold, so they live on the heap): freeing
        // them leaves ~128 MB of free heap that only malloc_trim returns.
        var tensors = new List<torch.Tensor>();
        for (int i = 0; i < 2000; i++)
        {
            tensors.Add(torch.ones(16 * 1024, dtype: torch.float32));
        }

        long before = NativeMemory.ResidentBytes();
        // Free in allocation order except the last one, which pins the heap top so the free pages
        // below it cannot be returned by the ordinary shrink-on-free.
        for (int i = 0; i < tensors.Count - 1; i++)
        {
            tensors[i].Dispose();
        }

        long afterFree = NativeMemory.ResidentBytes();
        bool released = NativeMemory.Trim();
        long afterTrim = NativeMemory.ResidentBytes();
        tensors[^1].Dispose();

        Assert.That(released, Is.True, $"malloc_trim released nothing (resident {before:N0} → {afterFree:N0} → {afterTrim:N0} bytes)");
        Assert.That(afterFree - afterTrim, Is.GreaterThan(64L * 1024 * 1024), $"resident {before:N0} → {afterFree:N0} after free → {afterTrim:N0} after trim");
    }
}
