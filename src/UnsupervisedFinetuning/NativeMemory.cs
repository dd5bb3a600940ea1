using System.Runtime.InteropServices;

namespace UnsupervisedFinetuning;

/// <summary>
/// Returns freed native memory to the operating system. libtorch allocates tensor storage with the C
/// allocator; under glibc, the pattern of a training step (many large, short-lived buffers of varying
/// sizes) fragments the heap, so the process's resident memory creeps up by megabytes per step although
/// the number of live tensors stays flat. <c>malloc_trim(0)</c> releases the free pages. On other C
/// libraries (musl) and operating systems the call is a no-op.
/// </summary>
public static partial class NativeMemory
{
    private static bool _unavailable = !OperatingSystem.IsLinux();

    /// <summary>Asks glibc to release free heap memory; returns whether any was released.</summary>
    public static bool Trim()
    {
        if (_unavailable)
        {
            return false;
        }

        try
        {
            return MallocTrim(0) != 0;
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            _unavailable = true;
            return false;
        }
    }

    /// <summary>Resident memory of this process in bytes (Linux: /proc/self/statm; elsewhere the working set).</summary>
    public static long ResidentBytes()
    {
        if (OperatingSystem.IsLinux())
        {
            try
            {
                string[] fields = File.ReadAllText("/proc/self/statm").Split(' ');
                return long.Parse(fields[1], System.Globalization.CultureInfo.InvariantCulture) * Environment.SystemPageSize;
            }
            catch (IOException)
            {
                // fall through to the portable figure
            }
        }

        using var process = System.Diagnostics.Process.GetCurrentProcess();
        return process.WorkingSet64;
    }

    /// <summary>
    /// The memory the kernel reports available to new allocations without swapping (MemAvailable in /proc/meminfo),
    /// in bytes; null off Linux or when it cannot be read. Used to refuse work that cannot fit before allocating it.
    /// </summary>
    internal static long? AvailableBytes() => ProcKilobytes("/proc/meminfo", "MemAvailable:");

    /// <summary>
    /// A "Name:  123 kB" field of a /proc file (meminfo, self/status) in bytes; null off Linux or when it cannot be read.
    /// </summary>
    internal static long? ProcKilobytes(string file, string field)
    {
        if (!OperatingSystem.IsLinux())
        {
            return null;
        }

        try
        {
            foreach (string line in File.ReadLines(file))
            {
                if (line.StartsWith(field, StringComparison.Ordinal))
                {
                    string[] parts = line[field.Length..].Split([' ', '\t'], StringSplitOptions.RemoveEmptyEntries);
                    return long.Parse(parts[0], System.Globalization.CultureInfo.InvariantCulture) * 1024;
                }
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException)
        {
            // no figure, no check
        }

        return null;
    }

    [LibraryImport("libc", EntryPoint = "malloc_trim")]
    private static partial int MallocTrim(nuint pad);
}
