using System.Runtime.Intrinsics.X86;

namespace UnsupervisedFinetuning;

/// <summary>What this CPU computes natively, read from CPUID (not guessed from a model name).</summary>
internal static class CpuFeatures
{
    /// <summary>AVX-512 BF16 (CPUID leaf 7 sub-leaf 1, EAX bit 5): bfloat16 dot products in AVX-512 registers.</summary>
    public static bool Avx512BFloat16 { get; } = Read(leaf: 7, subleaf: 1, register: 0, bit: 5);

    /// <summary>AMX-BF16 (CPUID leaf 7 sub-leaf 0, EDX bit 22): bfloat16 tile matrix multiply.</summary>
    public static bool AmxBFloat16 { get; } = Read(leaf: 7, subleaf: 0, register: 3, bit: 22);

    /// <summary>A short description for logs, e.g. "AVX-512 BF16, AMX-BF16" or "no AVX-512 BF16, no AMX-BF16".</summary>
    public static string DescribeBFloat16() =>
        $"{(Avx512BFloat16 ? "" : "no ")}AVX-512 BF16, {(AmxBFloat16 ? "" : "no ")}AMX-BF16";

    // register: 0 = EAX, 1 = EBX, 2 = ECX, 3 = EDX. Avx512F.IsSupported also checks that the operating system
    // saves the AVX-512 registers (XCR0), without which the CPUID bits are of no use to libtorch.
    private static bool Read(int leaf, int subleaf, int register, int bit)
    {
        // Leaf 7 exists when leaf 0 reports it; sub-leaf 1 when leaf 7 sub-leaf 0 reports it in EAX.
        if (!X86Base.IsSupported || !Avx512F.IsSupported || X86Base.CpuId(0, 0).Eax < leaf || X86Base.CpuId(leaf, 0).Eax < subleaf)
        {
            return false;
        }

        var (eax, ebx, ecx, edx) = X86Base.CpuId(leaf, subleaf);
        int value = register switch { 0 => eax, 1 => ebx, 2 => ecx, _ => edx };
        return (value >> bit & 1) == 1;
    }
}
