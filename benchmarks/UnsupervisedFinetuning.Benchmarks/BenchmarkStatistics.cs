namespace UnsupervisedFinetuning.Benchmarks;

/// <summary>Summaries of repeated measurements.</summary>
internal static class BenchmarkStatistics
{
    /// <summary>The median (mean of the middle two for an even count): robust to one slow round on a shared machine.</summary>
    public static double Median(IEnumerable<double> values)
    {
        var sorted = values.Order().ToArray();
        int middle = sorted.Length / 2;
        return sorted.Length % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
    }
}
