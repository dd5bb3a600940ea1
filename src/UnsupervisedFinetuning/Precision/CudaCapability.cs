using System.Runtime.InteropServices;

namespace UnsupervisedFinetuning;

/// <summary>
/// A CUDA device's compute capability, read from the CUDA runtime that the CUDA backend of TorchSharp
/// ships (TorchSharp has no API for it). Used only to decide whether bfloat16 is native (8.0 and newer).
/// </summary>
internal static class CudaCapability
{
    // cudaDevAttrComputeCapabilityMajor in cuda_runtime_api.h's cudaDeviceAttr.
    private const int ComputeCapabilityMajor = 75;

    private static readonly string[] RuntimeNames = OperatingSystem.IsWindows()
        ? ["cudart64_12.dll", "cudart64_110.dll"]
        : ["libcudart.so.12", "libcudart.so.11.0", "libcudart.so"];

    /// <summary>The major compute capability of CUDA device <paramref name="index"/>, or null with the reason it could not be read.</summary>
    public static unsafe (int? Major, string Reason) Major(int index)
    {
        foreach (string name in RuntimeNames)
        {
            if (!NativeLibrary.TryLoad(name, typeof(CudaCapability).Assembly, null, out var library))
            {
                continue;
            }

            if (!NativeLibrary.TryGetExport(library, "cudaDeviceGetAttribute", out var export))
            {
                return (null, $"{name} has no cudaDeviceGetAttribute");
            }

            var getAttribute = (delegate* unmanaged<int*, int, int, int>)export;
            int major;
            int status = getAttribute(&major, ComputeCapabilityMajor, index);
            return status == 0 ? (major, $"compute capability {major}.x") : (null, $"cudaDeviceGetAttribute returned error {status}");
        }

        return (null, "the CUDA runtime library was not found");
    }
}
