using static TorchSharp.torch;

namespace UnsupervisedFinetuning;

/// <summary>Which <see cref="ComputePrecision"/> a device runs fast, and what <see cref="ComputePrecision.Auto"/> becomes on it.</summary>
public static class ComputePrecisions
{
    /// <summary>
    /// True when <paramref name="device"/> computes bfloat16 natively: a CPU whose CPUID reports AVX-512 BF16 or
    /// AMX-BF16 (with AVX-512 enabled by the operating system), or a CUDA device of compute capability 8.0 or
    /// newer. Elsewhere libtorch emulates bfloat16, correctly but far slower than float32.
    /// </summary>
    /// <param name="device">The device training or feature extraction runs on.</param>
    public static bool SupportsNativeBFloat16(Device device) => Detect(device).Native;

    /// <summary>
    /// <paramref name="precision"/> with <see cref="ComputePrecision.Auto"/> replaced by what
    /// <paramref name="device"/> supports (<see cref="ComputePrecision.BFloat16"/> or <see cref="ComputePrecision.Float32"/>);
    /// any other value is returned as it is.
    /// </summary>
    /// <param name="precision">The requested precision.</param>
    /// <param name="device">The device it will run on.</param>
    public static ComputePrecision Resolve(ComputePrecision precision, Device device) =>
        precision != ComputePrecision.Auto ? precision
        : SupportsNativeBFloat16(device) ? ComputePrecision.BFloat16 : ComputePrecision.Float32;

    /// <summary>Why the device does or does not compute bfloat16 natively, for logs ("AVX-512 BF16, no AMX-BF16").</summary>
    internal static string Explain(Device device) => Detect(device).Reason;

    /// <summary>The dtype conv and linear layers compute in, or null for float32 (no casts at all).</summary>
    internal static ScalarType? ComputeType(ComputePrecision resolved) => resolved switch
    {
        ComputePrecision.Float32 => null,
        ComputePrecision.BFloat16 => ScalarType.BFloat16,
        ComputePrecision.Float16 => ScalarType.Float16,
        _ => throw new ArgumentOutOfRangeException(nameof(resolved), resolved, "Resolve Auto to a concrete precision first."),
    };

    // One detection per device and process: CPUID and the CUDA driver do not change while it runs.
    private static readonly System.Collections.Concurrent.ConcurrentDictionary<(TorchSharp.DeviceType, long), (bool Native, string Reason)> Detected = new();

    private static (bool Native, string Reason) Detect(Device device)
    {
        ArgumentNullException.ThrowIfNull(device);
        return Detected.GetOrAdd((device.type, device.index), _ => DetectOnce(device));
    }

    private static (bool Native, string Reason) DetectOnce(Device device)
    {
        switch (device.type)
        {
            case TorchSharp.DeviceType.CPU:
                // libtorch's bfloat16 convolutions and matrix products are fast only through oneDNN.
                bool hardware = CpuFeatures.Avx512BFloat16 || CpuFeatures.AmxBFloat16;
                return NativeKernels.OneDnnEnabled
                    ? (hardware, "CPU: " + CpuFeatures.DescribeBFloat16())
                    : (false, $"CPU: {CpuFeatures.DescribeBFloat16()}; {NativeKernels.OneDnnReason}");
            case TorchSharp.DeviceType.CUDA:
                var (major, reason) = CudaCapability.Major(device.index < 0 ? 0 : device.index);
                return (major >= 8, $"CUDA device {Math.Max(device.index, 0)}: {reason}");
            default:
                return (false, $"{device.type}: bfloat16 support is not detected on this device type");
        }
    }
}
