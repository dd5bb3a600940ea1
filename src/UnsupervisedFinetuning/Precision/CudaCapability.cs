using System.Runtime.InteropServices;

namespace UnsupervisedFinetuning;

/// <summary>
/// A CUDA device's compute capability, read through the CUDA driver API (TorchSharp has no call for it). The
/// driver library has the same name on every machine with an NVIDIA driver (libcuda.so.1, nvcuda.dll), unlike
/// the runtime that TorchSharp's CUDA packages ship under a hashed name. Used only to decide whether bfloat16 is
/// native (compute capability 8.0 and newer).
/// </summary>
internal static class CudaCapability
{
    // CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR in cuda.h's CUdevice_attribute.
    private const int ComputeCapabilityMajor = 75;

    private static readonly string DriverName = OperatingSystem.IsWindows() ? "nvcuda.dll" : "libcuda.so.1";

    /// <summary>The major compute capability of CUDA device <paramref name="ordinal"/>, or null with the reason it could not be read.</summary>
    public static unsafe (int? Major, string Reason) Major(int ordinal)
    {
        // The driver is already loaded by libtorch when a CUDA device is in use; TryLoad only takes a reference.
        if (!NativeLibrary.TryLoad(DriverName, out var driver))
        {
            return (null, $"the CUDA driver ({DriverName}) was not found");
        }

        if (!NativeLibrary.TryGetExport(driver, "cuInit", out var init)
            || !NativeLibrary.TryGetExport(driver, "cuDeviceGet", out var get)
            || !NativeLibrary.TryGetExport(driver, "cuDeviceGetAttribute", out var attribute))
        {
            return (null, $"{DriverName} lacks cuInit, cuDeviceGet or cuDeviceGetAttribute");
        }

        int status = ((delegate* unmanaged<uint, int>)init)(0);
        int device = 0;
        if (status == 0)
        {
            status = ((delegate* unmanaged<int*, int, int>)get)(&device, ordinal);
        }

        int major = 0;
        if (status == 0)
        {
            status = ((delegate* unmanaged<int*, int, int, int>)attribute)(&major, ComputeCapabilityMajor, device);
        }

        return status == 0 ? (major, $"compute capability {major}.x") : (null, $"the CUDA driver returned error {status}");
    }
}
