using System.Runtime.InteropServices;
using static TorchSharp.torch;

namespace UnsupervisedFinetuning;

/// <summary>
/// Which CPU convolution kernels this process uses, decided once when the native backend loads. libtorch runs
/// CPU convolutions through oneDNN, fast kernels that store channels in blocks of 8 or 16 and rely on the unused
/// lanes of a partly filled block being zero. On some machines they are not: seen on AMD EPYC (Zen 5) virtual
/// machines under Firecracker, the backward pass of a convolution whose channel count is not a multiple of the
/// block reads those lanes uninitialised, so gradients come out wrong or NaN, varying from run to run
/// (<c>docs/how-to/troubleshooting.md</c>). The first time the backend loads, a check of a few milliseconds runs
/// such a convolution against a float64 reference; if it fails, oneDNN is switched off for the process (libtorch's
/// own convolutions are correct everywhere, and 2.5–4× slower) and <see cref="OneDnnReason"/> says why. The engine
/// logs that as a warning.
/// </summary>
/// <remarks>
/// The environment variable <c>UFT_ONEDNN</c> overrides the check: <c>auto</c> (default) checks, <c>on</c> keeps
/// oneDNN without checking (for a model whose convolutions all have 64·k channels, which the defect was not seen
/// to reach), <c>off</c> switches it off. The switch is libtorch's <c>at::Context::setUserEnabledMkldnn</c>, reached
/// on Linux x64 only; elsewhere nothing is checked or changed.
/// </remarks>
public static partial class NativeKernels
{
    /// <summary>The environment variable that overrides the check: <c>auto</c>, <c>on</c> or <c>off</c>.</summary>
    public const string SettingVariable = "UFT_ONEDNN";

    private static readonly Lazy<(bool Enabled, bool Defective, string Reason)> State = new(Decide, LazyThreadSafetyMode.ExecutionAndPublication);

    /// <summary>Whether CPU convolutions run through oneDNN in this process (after the check).</summary>
    public static bool OneDnnEnabled
    {
        get
        {
            TorchDevices.EnsureNativeBackend();
            return State.Value.Enabled;
        }
    }

    /// <summary>Why oneDNN is on or off, in one sentence, for logs.</summary>
    public static string OneDnnReason
    {
        get
        {
            TorchDevices.EnsureNativeBackend();
            return State.Value.Reason;
        }
    }

    /// <summary>True when the check found the defect on this machine (whatever <c>UFT_ONEDNN</c> then decided).</summary>
    internal static bool DefectFound => State.Value.Defective;

    /// <summary>Runs the check once; called by <see cref="TorchDevices.EnsureNativeBackend"/> after the backend loaded.</summary>
    internal static void EnsureChecked() => _ = State.Value;

    /// <summary>
    /// The decision for a setting (<c>UFT_ONEDNN</c>'s value) and a probe (true: defect seen; false: not seen;
    /// null: could not run). Separate from the native calls so that it is tested on every machine.
    /// </summary>
    internal static (bool Enable, bool Defective, string Reason) Decide(string? setting, Func<bool?> probe)
    {
        switch (setting?.Trim().ToLowerInvariant())
        {
            case null or "" or "auto":
                bool? defective = probe();
                return defective switch
                {
                    true => (false, true, "oneDNN is off: its convolution backward pass gave wrong gradients on this machine (uninitialised channel padding); " +
                        $"libtorch's own convolutions are used instead, correct and slower. {SettingVariable}=on keeps oneDNN (see docs/how-to/troubleshooting.md)"),
                    false => (true, false, "oneDNN is on: its convolutions passed the check"),
                    null => (true, false, "oneDNN is on: the check does not run on this platform"),
                };
            case "on" or "1" or "true":
                return (true, false, $"oneDNN is on: {SettingVariable}={setting} (not checked)");
            case "off" or "0" or "false":
                return (false, false, $"oneDNN is off: {SettingVariable}={setting}");
            default:
                throw new InvalidOperationException($"The environment variable {SettingVariable} is '{setting}'; expected auto, on or off.");
        }
    }

    private static (bool Enabled, bool Defective, string Reason) Decide()
    {
        var context = Native.Open();
        // Where NNPACK cannot initialise (seen on the same VMs: its CPU detection finds no cache information), libtorch
        // retries it on every convolution that might use it and prints "Could not initialize NNPACK!" each time —
        // 16,852 lines in one Quickstart run. It never runs there, so switching it off changes no result, only the noise.
        context?.SilenceUnavailableNnpack();
        var decision = Decide(Environment.GetEnvironmentVariable(SettingVariable), () => context is null ? null : ProbeDefect());
        if (context is { } c && !decision.Enable)
        {
            c.SetOneDnn(false);
        }

        return decision;
    }

    /// <summary>
    /// Runs a small convolution's backward pass (2 → 4 channels, 8×8, strides 1 and 2: channel blocks mostly
    /// padding) after leaving NaN in freed heap blocks of the sizes its buffers take, and compares the input
    /// gradient with float64 (which never runs through oneDNN). A defective kernel picks the NaN up; a correct one
    /// never reads the padding. Several attempts, since which freed block a buffer reuses is up to the allocator.
    /// </summary>
    private static bool ProbeDefect()
    {
        using var grad = enable_grad();
        for (int attempt = 0; attempt < 6; attempt++)
        {
            using var scope = NewDisposeScope();
            var junk = new List<Tensor>();
            foreach (long n in new long[] { 16384, 16384, 16384, 2304, 2304, 4096, 8192 })
            {
                junk.Add(full([n], float.NaN));
            }

            for (int i = junk.Count - 1; i >= 0; i--)
            {
                junk[i].Dispose();
            }

            long stride = 1 + (attempt % 2);
            var input = linspace(-1, 1, 16 * 2 * 8 * 8).reshape(16, 2, 8, 8).requires_grad_(true);
            var weight = linspace(-0.5, 0.5, 4 * 2 * 3 * 3).reshape(4, 2, 3, 3);
            nn.functional.conv2d(input, weight, null, [stride, stride], [1, 1], [1, 1], 1).sum().backward();
            var reference = input.detach().to(ScalarType.Float64).requires_grad_(true);
            nn.functional.conv2d(reference, weight.to(ScalarType.Float64), null, [stride, stride], [1, 1], [1, 1], 1).sum().backward();
            double error = (input.grad!.to(ScalarType.Float64) - reference.grad!).abs().max().item<double>();
            if (!(error < 1e-4))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>libtorch's global context, reached through its exported C++ symbols (Itanium mangling: Linux x64).</summary>
    private sealed partial class Native
    {
        private readonly IntPtr _context;
        private readonly IntPtr _library;
        private readonly unsafe delegate* unmanaged<IntPtr, byte, void> _setUserEnabledMkldnn;

        private unsafe Native(IntPtr library, IntPtr context, IntPtr setter)
        {
            _library = library;
            _context = context;
            _setUserEnabledMkldnn = (delegate* unmanaged<IntPtr, byte, void>)setter;
        }

        /// <summary>Turns NNPACK off when it reports itself unavailable (at::native::_nnpack_available).</summary>
        public unsafe void SilenceUnavailableNnpack()
        {
            if (NativeLibrary.TryGetExport(_library, "_ZN2at6native17_nnpack_availableEv", out var available)
                && NativeLibrary.TryGetExport(_library, "_ZN2at7Context20setUserEnabledNNPACKEb", out var setter)
                && WithoutStandardError(() => ((delegate* unmanaged<byte>)available)()) == 0)
            {
                ((delegate* unmanaged<IntPtr, byte, void>)setter)(_context, 0);
            }
        }

        /// <summary>
        /// Runs <paramref name="call"/> with file descriptor 2 pointed at /dev/null: asking NNPACK whether it is available
        /// initialises it, and where it cannot, libtorch prints "Could not initialize NNPACK! Reason: Unsupported
        /// hardware" — a line on every command's screen about a kernel that is then switched off. The window is the one
        /// call, at backend load; if the descriptors cannot be swapped the call runs as it is.
        /// </summary>
        private static T WithoutStandardError<T>(Func<T> call)
        {
            int saved = Dup(2);
            int sink = saved < 0 ? -1 : OpenFile("/dev/null", 1 /* O_WRONLY */);
            if (sink < 0 || Dup2(sink, 2) < 0)
            {
                CloseFile(sink);
                CloseFile(saved);
                return call();
            }

            try
            {
                return call();
            }
            finally
            {
                Dup2(saved, 2);
                CloseFile(saved);
                CloseFile(sink);
            }
        }

        private static void CloseFile(int descriptor)
        {
            if (descriptor >= 0)
            {
                _ = Close(descriptor);
            }
        }

        [LibraryImport("libc", EntryPoint = "dup")]
        private static partial int Dup(int descriptor);

        [LibraryImport("libc", EntryPoint = "dup2")]
        private static partial int Dup2(int from, int to);

        [LibraryImport("libc", EntryPoint = "open", StringMarshalling = StringMarshalling.Utf8)]
        private static partial int OpenFile(string path, int flags);

        [LibraryImport("libc", EntryPoint = "close")]
        private static partial int Close(int descriptor);

        public static unsafe Native? Open()
        {
            if (!OperatingSystem.IsLinux() || RuntimeInformation.ProcessArchitecture != Architecture.X64)
            {
                return null;
            }

            // TorchSharp has loaded libtorch_cpu.so by now; dlopen by its soname returns that copy.
            if (!NativeLibrary.TryLoad("libtorch_cpu.so", typeof(TorchSharp.torch).Assembly, DllImportSearchPath.AssemblyDirectory, out var library)
                && !NativeLibrary.TryLoad("libtorch_cpu.so", out library))
            {
                return null;
            }

            if (!NativeLibrary.TryGetExport(library, "_ZN2at13globalContextEv", out var globalContext)
                || !NativeLibrary.TryGetExport(library, "_ZN2at7Context20setUserEnabledMkldnnEb", out var setter))
            {
                return null;
            }

            var context = ((delegate* unmanaged<IntPtr>)globalContext)();
            return context == IntPtr.Zero ? null : new Native(library, context, setter);
        }

        public unsafe void SetOneDnn(bool enabled) => _setUserEnabledMkldnn(_context, enabled ? (byte)1 : (byte)0);
    }
}
