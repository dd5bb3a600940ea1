using System.Diagnostics;

namespace UnsupervisedFinetuning.Fuzzing;

/// <summary>A case whose outcome breaks the reader's contract.</summary>
/// <param name="Case">Case number (with the run's seed, reproduces the input).</param>
/// <param name="Problem">What went wrong: an undocumented exception, too much memory or too much time.</param>
/// <param name="Input">The mutated file, to save and replay.</param>
internal sealed record FuzzFinding(int Case, string Problem, byte[] Input);

/// <summary>What one reader did with its cases.</summary>
internal sealed record FuzzOutcome(
    string Target,
    int Cases,
    int Accepted,
    int Rejected,
    IReadOnlyList<FuzzFinding> Findings,
    long? PeakMemoryBytes,
    int PeakMemoryCase,
    double MedianMilliseconds,
    double MaxMilliseconds,
    int MaxMillisecondsCase,
    long LargestInputBytes);

/// <summary>Limits a case must keep.</summary>
/// <param name="MaxCaseMemoryBytes">Peak resident memory a case may add.</param>
/// <param name="MaxCaseTime">Time a case may take.</param>
internal sealed record FuzzLimits(long MaxCaseMemoryBytes, TimeSpan MaxCaseTime);

/// <summary>
/// Runs seeded mutation cases against one reader. Case <c>k</c> of a run with seed <c>s</c> is always the same
/// input. For each case it records the outcome (read, rejected with a documented exception, or a finding),
/// the peak resident memory the case added (Linux: VmHWM after resetting it, minus VmRSS before) and the time.
/// </summary>
internal static class FuzzRunner
{
    public static FuzzOutcome Run(FuzzTarget target, int cases, int seed, FuzzLimits limits, string work, Action<int>? onCase = null, int? onlyCase = null)
    {
        Directory.CreateDirectory(work);
        string file = Path.Combine(work, target.FileName);
        var findings = new List<FuzzFinding>();
        var times = new List<double>();
        int accepted = 0, rejected = 0, peakCase = -1, slowestCase = -1;
        long? peak = null;
        long largest = 0;
        double slowest = -1;

        // Every seed must read: that checks the seeds, and it pays the one-time costs (loading libtorch and
        // SkiaSharp, first allocations) before any case is measured.
        for (int i = 0; i < target.Seeds.Count; i++)
        {
            File.WriteAllBytes(file, target.Seeds[i]);
            target.Read(file);
        }

        bool memoryMeasured = ResidentMemory.ResetPeak();
        for (int k = onlyCase ?? 0; k < (onlyCase + 1 ?? cases); k++)
        {
            onCase?.Invoke(k);
            var random = new Random(CaseSeed(seed, k, target.Name));
            byte[] input = target.Mutate(target.Seeds[random.Next(target.Seeds.Count)], random);
            largest = Math.Max(largest, input.Length);
            File.WriteAllBytes(file, input);

            long before = ResidentMemory.Current() ?? 0;
            if (memoryMeasured)
            {
                ResidentMemory.ResetPeak();
            }

            var clock = Stopwatch.StartNew();
            string? problem = null;
            try
            {
                target.Read(file);
                accepted++;
            }
            catch (Exception e) when (target.Documented.Any(t => t.IsInstanceOfType(e)))
            {
                rejected++;
                if (e.Message.Length > 600 || !e.Message.Contains(file, StringComparison.Ordinal))
                {
                    problem = $"documented {e.GetType().Name}, but its message {(e.Message.Length > 600 ? $"is {e.Message.Length} characters long" : "does not name the file")}: {Shorten(e.Message)}";
                }
            }
            catch (Exception e)
            {
                problem = $"undocumented {e.GetType().FullName}: {Shorten(e.Message)}";
            }

            clock.Stop();
            times.Add(clock.Elapsed.TotalMilliseconds);
            if (times[^1] > slowest)
            {
                slowest = times[^1];
                slowestCase = k;
            }

            if (memoryMeasured && ResidentMemory.Peak() is { } high)
            {
                long added = Math.Max(0, high - before);
                if (peak is null || added > peak)
                {
                    peak = added;
                    peakCase = k;
                }

                if (added > limits.MaxCaseMemoryBytes)
                {
                    problem ??= $"added {added / 1e6:0} MB resident (limit {limits.MaxCaseMemoryBytes / 1e6:0} MB)";
                }
            }

            if (clock.Elapsed > limits.MaxCaseTime)
            {
                problem ??= $"took {clock.Elapsed.TotalSeconds:0.0} s (limit {limits.MaxCaseTime.TotalSeconds:0.0} s)";
            }

            if (problem is not null)
            {
                findings.Add(new FuzzFinding(k, problem, input));
            }
        }

        times.Sort();
        return new FuzzOutcome(target.Name, times.Count, accepted, rejected, findings, peak, peakCase,
            times.Count == 0 ? 0 : times[times.Count / 2], times.Count == 0 ? 0 : times[^1], slowestCase, largest);
    }

    /// <summary>The same number for the same run seed, case and reader in every process (unlike <see cref="HashCode"/>).</summary>
    private static int CaseSeed(int seed, int k, string target)
    {
        uint hash = 2166136261; // FNV-1a over the reader's name, then the numbers
        foreach (char c in target)
        {
            hash = (hash ^ c) * 16777619;
        }

        return (int)(((hash ^ (uint)seed) * 16777619 ^ (uint)k) * 16777619 & int.MaxValue);
    }

    private static string Shorten(string message)
    {
        string first = message.Split('\n')[0].Trim();
        return first.Length > 300 ? first[..300] + "…" : first;
    }
}
