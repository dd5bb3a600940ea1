using System.CommandLine;
using static TorchSharp.torch;

namespace UnsupervisedFinetuning.Cli;

/// <summary>
/// <c>--threads</c>, shared by every command that computes: the CPU threads of tensor work (libtorch's intra-op
/// pool) and of image decoding. The default is the cores this process may use (<see cref="Environment.ProcessorCount"/>,
/// which honours CPU affinity and container CPU limits — libtorch's own default counts every core of the machine).
/// Pinning it makes throughput comparable between runs on a loaded machine. Results can differ in the last bits
/// between thread counts (reductions are split differently); a resume continues bit for bit with the same count.
/// </summary>
internal static class ThreadsArgument
{
    public static Option<int?> Create() => new("--threads")
    {
        Description = $"CPU threads for tensor work and image decoding [default: the cores this process may use, {Environment.ProcessorCount} here]",
    };

    /// <summary>Sets the thread count for the command; disposing the result puts the previous count back (uft runs in-process in tests and hosts).</summary>
    /// <exception cref="UsageException">Not between 1 and 1024.</exception>
    public static IDisposable Apply(int? requested, out int threads)
    {
        threads = requested ?? Environment.ProcessorCount;
        if (threads is < 1 or > 1024)
        {
            throw new UsageException($"--threads is {requested}; expected 1 to 1024 (default: {Environment.ProcessorCount}, the cores this process may use).");
        }

        TorchDevices.EnsureNativeBackend();
        int previous = get_num_threads();
        set_num_threads(threads);
        return new Restore(previous);
    }

    private sealed class Restore(int previous) : IDisposable
    {
        public void Dispose() => set_num_threads(previous);
    }
}
