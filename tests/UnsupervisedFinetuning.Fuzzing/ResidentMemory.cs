namespace UnsupervisedFinetuning.Fuzzing;

/// <summary>
/// The process's resident memory from <c>/proc/self/status</c> (Linux): current (VmRSS) and peak (VmHWM),
/// whose peak can be reset through <c>/proc/self/clear_refs</c> so that each fuzz case gets its own peak.
/// Elsewhere every figure is <c>null</c>.
/// </summary>
internal static class ResidentMemory
{
    private const string Status = "/proc/self/status";

    public static bool Available { get; } = File.Exists(Status);

    /// <summary>Current resident bytes.</summary>
    public static long? Current() => Read("VmRSS:");

    /// <summary>Peak resident bytes since the process started or <see cref="ResetPeak"/>.</summary>
    public static long? Peak() => Read("VmHWM:");

    /// <summary>Resets the peak to the current resident size; false when the kernel does not allow it.</summary>
    public static bool ResetPeak()
    {
        try
        {
            File.WriteAllText("/proc/self/clear_refs", "5");
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }

    private static long? Read(string field)
    {
        if (!Available)
        {
            return null;
        }

        foreach (string line in File.ReadLines(Status))
        {
            if (line.StartsWith(field, StringComparison.Ordinal))
            {
                // "VmRSS:	   13592 kB"
                string[] parts = line[field.Length..].Split([' ', '\t'], StringSplitOptions.RemoveEmptyEntries);
                return long.Parse(parts[0], System.Globalization.CultureInfo.InvariantCulture) * 1024;
            }
        }

        return null;
    }
}
