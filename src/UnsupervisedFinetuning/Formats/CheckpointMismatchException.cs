using static UnsupervisedFinetuning.IO.ExceptionText;

namespace UnsupervisedFinetuning.Formats;

/// <summary>
/// A strict checkpoint load found keys or shapes that do not match the model; nothing was loaded. The message names
/// the keys with control characters made printable (a key is text from the file); <see cref="Report"/> has them as they are.
/// </summary>
public sealed class CheckpointMismatchException : Exception
{
    /// <summary>Creates the exception from the report of the attempted load.</summary>
    public CheckpointMismatchException(CheckpointLoadReport report)
        : base(Describe(report))
    {
        Report = report;
    }

    /// <summary>What the load found.</summary>
    public CheckpointLoadReport Report { get; }

    private static string Describe(CheckpointLoadReport report)
    {
        var parts = new List<string>();
        if (report.ShapeMismatches.Count > 0)
        {
            parts.Add("shape mismatch " + string.Join("; ", report.ShapeMismatches.Take(5)) + More(report.ShapeMismatches.Count));
        }

        if (report.Missing.Count > 0)
        {
            parts.Add($"{report.Missing.Count} missing key(s): " + string.Join(", ", report.Missing.Take(8).Select(key => Printable(key))) + More(report.Missing.Count, 8));
        }

        if (report.MissingButDropped is { Count: > 0 } dropped)
        {
            parts.Add(CheckpointLoadReport.DescribeDroppedMissing(dropped));
        }

        if (report.Unexpected.Count > 0)
        {
            parts.Add($"{report.Unexpected.Count} unexpected key(s): " + string.Join(", ", report.Unexpected.Take(8).Select(key => Printable(key))) + More(report.Unexpected.Count, 8));
        }

        return $"{report.Source}: strict load failed, nothing was loaded: {string.Join(" | ", parts)}. " +
            "Adjust CheckpointKeyMap or load non-strictly to keep what matches.";
    }

    private static string More(int count, int shown = 5) => count > shown ? $" (+{count - shown} more)" : string.Empty;
}
