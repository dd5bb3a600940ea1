using TorchSharp;

namespace UnsupervisedFinetuning;

/// <summary>
/// Turns a device name from options (<c>"auto"</c>, <c>"cpu"</c>, <c>"cuda"</c>, <c>"cuda:1"</c>, <c>"mps"</c>)
/// into a TorchSharp <see cref="torch.Device"/>, loading the native backend on first use and explaining
/// clearly when it is missing. The library never hard-codes a device: every component takes one from here
/// or from its input tensors.
/// </summary>
public static class TorchDevices
{
    /// <summary>The name that selects CUDA when a GPU is usable and the CPU otherwise.</summary>
    public const string Auto = "auto";

    /// <summary>
    /// Resolves <paramref name="name"/> to a device. <see langword="null"/>, empty and <see cref="Auto"/> choose
    /// CUDA device 0 when available, else the CPU.
    /// </summary>
    /// <exception cref="ArgumentException">The name is not a device TorchSharp knows.</exception>
    /// <exception cref="InvalidOperationException">The device exists in name but not on this machine, or no
    /// native TorchSharp backend could be loaded.</exception>
    public static torch.Device Resolve(string? name)
    {
        EnsureNativeBackend();
        string trimmed = (name ?? string.Empty).Trim();
        if (trimmed.Length == 0 || string.Equals(trimmed, Auto, StringComparison.OrdinalIgnoreCase))
        {
            return torch.cuda.is_available() ? torch.CUDA : torch.CPU;
        }

        torch.Device device = Parse(trimmed)
            ?? throw new ArgumentException(
                $"Device '{name}' is not a device name this library understands; expected 'auto', 'cpu', 'cuda', 'cuda:N' or 'mps'.",
                nameof(name));

        switch (device.type)
        {
            case DeviceType.CPU:
                return device;
            case DeviceType.CUDA when !torch.cuda.is_available():
                throw new InvalidOperationException(
                    $"Device '{name}' was requested but CUDA is not available: the process needs a CUDA backend " +
                    "package (TorchSharp-cuda-linux or TorchSharp-cuda-windows, e.g. build with -p:TorchSharpBackend=cuda) and an NVIDIA driver. " +
                    "Use 'auto' to fall back to the CPU.");
            case DeviceType.CUDA when device.index >= torch.cuda.device_count():
                throw new InvalidOperationException(
                    $"Device '{name}' was requested but this machine has {torch.cuda.device_count()} CUDA device(s).");
            case DeviceType.MPS when !torch.mps_is_available():
                throw new InvalidOperationException($"Device '{name}' was requested but MPS is only available on Apple silicon.");
            default:
                return device;
        }
    }

    /// <summary>
    /// Whether <paramref name="name"/> is spelled like a device <see cref="Resolve"/> understands — 'auto',
    /// 'cpu', 'mps', 'cuda' or 'cuda:N' (case-insensitive) — without loading the native backend or asking
    /// whether that device exists on this machine. Options validation uses it.
    /// </summary>
    public static bool IsValidName(string? name)
    {
        string trimmed = (name ?? string.Empty).Trim();
        return string.Equals(trimmed, Auto, StringComparison.OrdinalIgnoreCase) || ParseName(trimmed) is not null;
    }

    private static torch.Device? Parse(string text) => ParseName(text) switch
    {
        ("cpu", _) => torch.CPU,
        ("mps", _) => new torch.Device(DeviceType.MPS),
        ("cuda", int index) => new torch.Device(DeviceType.CUDA, index),
        _ => null,
    };

    // TorchSharp's own parser (Enum.Parse on the text before ':') accepts numbers and silently ignores
    // a third ':' part, so names are parsed here: cpu | mps | cuda[:index]; index −1 = the default device.
    private static (string Kind, int Index)? ParseName(string text)
    {
        string[] parts = text.ToLowerInvariant().Split(':');
        if (parts.Length > 2)
        {
            return null;
        }

        int index = -1;
        if (parts.Length == 2 && (!int.TryParse(parts[1], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out index)))
        {
            return null;
        }

        return parts[0] switch
        {
            "cpu" or "mps" when parts.Length == 1 => (parts[0], -1),
            "cuda" => ("cuda", index),
            _ => null,
        };
    }

    /// <summary>
    /// Loads TorchSharp's native CPU backend, or throws an exception that says what the host application
    /// must reference; the first time, checks its CPU convolution kernels (<see cref="NativeKernels"/>). Safe to
    /// call repeatedly.
    /// </summary>
    /// <exception cref="InvalidOperationException">No native backend could be loaded, or <c>UFT_ONEDNN</c> has a value other than auto, on or off.</exception>
    public static void EnsureNativeBackend()
    {
        try
        {
            torch.InitializeDeviceType(DeviceType.CPU);
            NativeKernels.EnsureChecked();
        }
        catch (NotSupportedException e)
        {
            throw new InvalidOperationException(
                "TorchSharp's native backend could not be loaded. The host application must reference one backend package " +
                "(libtorch-cpu-linux-x64, libtorch-cpu-win-x64, libtorch-cpu-osx-arm64, TorchSharp-cuda-linux or TorchSharp-cuda-windows). " +
                "On Linux, if that package is referenced, run `ldd` on runtimes/linux-x64/native/libLibTorchSharp.so in the output folder: " +
                "a missing GLIBCXX version means the system libstdc++ is older than the one TorchSharp was built against. The " +
                "UnsupervisedFinetuning package's build targets fix that in the output folder after build and publish (one line of build " +
                "output says so), unless DisableTorchSharpLibStdCxxFix is true; an output copied from elsewhere misses the fix.",
                e);
        }
    }
}
