using UnsupervisedFinetuning.Evaluation;
using UnsupervisedFinetuning.IO;

namespace UnsupervisedFinetuning.Reporting;

/// <summary>Writes a transfer report together with its trade-off chart.</summary>
public static class TransferReportCharts
{
    /// <summary>
    /// Writes <c>{name}.md</c>, <c>{name}.csv</c>, <c>{name}.json</c> (as <see cref="TransferReport.Write"/>) and —
    /// when arms carry both target kNN and source kNN — the trade-off chart <c>{name}.png</c>
    /// (<see cref="TransferChart"/>), and with monitor histories <c>{name}-monitoring.csv</c> and the chart
    /// <c>{name}-monitoring.png</c> (<see cref="MonitorChart"/>), into <paramref name="directory"/>, as one unit: a failure leaves the whole
    /// previous report in place.
    /// </summary>
    /// <returns>The paths written.</returns>
    /// <exception cref="IOException">A file could not be written (disk full, permission denied); the message names it and the previous report is unchanged.</exception>
    public static IReadOnlyList<string> WriteWithChart(this TransferReport report, string directory, string name = "report")
    {
        ArgumentNullException.ThrowIfNull(report);
        var files = report.Files(directory, name).ToList();
        if (report.Arms.Any(arm => report.Summarize(arm, TransferMetrics.TargetKnn).Count > 0 && report.Summarize(arm, TransferMetrics.SourceKnn).Count > 0))
        {
            byte[] png = TransferChart.RenderPng(report);
            files.Add((Path.Combine(directory, $"{name}.png"), stream => stream.Write(png)));
        }

        if (report.Monitoring.Any(t => t.Points.Count > 0))
        {
            byte[] monitoring = MonitorChart.RenderPng(report);
            files.Add((Path.Combine(directory, $"{name}-monitoring.png"), stream => stream.Write(monitoring)));
        }

        AtomicFile.WriteAll(files);
        return files.Select(f => f.Path).ToList();
    }
}
