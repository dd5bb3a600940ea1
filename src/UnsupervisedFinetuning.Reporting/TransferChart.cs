using ScottPlot;
using UnsupervisedFinetuning.Evaluation;
using UnsupervisedFinetuning.IO;

namespace UnsupervisedFinetuning.Reporting;

/// <summary>
/// The trade-off of a transfer comparison at a glance: a target metric (x) against a source-retention
/// metric (y), one point per arm at its mean over seeds with ± 1 sample-std error bars. Up and to the right
/// is better on both counts; on small target sets the arms usually spread along a diagonal, which is the
/// honest story (finetuning buys target accuracy with source accuracy).
/// </summary>
public static class TransferChart
{
    /// <summary>Chart width in pixels.</summary>
    public const int Width = 900;

    /// <summary>Chart height in pixels.</summary>
    public const int Height = 650;

    /// <summary>
    /// Writes the chart as a PNG of <see cref="Width"/> × <see cref="Height"/> px, atomically (temporary
    /// file, then rename: a failed write leaves the previous file in place). Arms without both metrics are left
    /// out. Accuracies (fractions) are shown in %.
    /// </summary>
    /// <param name="report">The measurements.</param>
    /// <param name="path">The PNG file to write.</param>
    /// <param name="title">Chart title; the report's title when null.</param>
    /// <param name="xMetric">Metric on the x axis (default target kNN).</param>
    /// <param name="yMetric">Metric on the y axis (default source kNN, retention).</param>
    /// <returns><paramref name="path"/>.</returns>
    /// <exception cref="ArgumentException">No arm has both metrics.</exception>
    /// <exception cref="IOException">The file could not be written; a previous file at <paramref name="path"/> is unchanged.</exception>
    public static string WritePng(TransferReport report, string path, string? title = null, string xMetric = TransferMetrics.TargetKnn, string yMetric = TransferMetrics.SourceKnn)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        byte[] png = RenderPng(report, title, xMetric, yMetric);
        AtomicFile.Write(path, stream => stream.Write(png));
        return path;
    }

    /// <summary>The chart of <see cref="WritePng"/> as PNG bytes.</summary>
    /// <exception cref="ArgumentException">No arm has both metrics.</exception>
    public static byte[] RenderPng(TransferReport report, string? title = null, string xMetric = TransferMetrics.TargetKnn, string yMetric = TransferMetrics.SourceKnn)
    {
        ArgumentNullException.ThrowIfNull(report);
        var points = report.Arms
            .Select(arm => (Arm: arm, X: report.Summarize(arm, xMetric), Y: report.Summarize(arm, yMetric)))
            .Where(p => p.X.Count > 0 && p.Y.Count > 0)
            .ToList();
        if (points.Count == 0)
        {
            throw new ArgumentException($"No arm of the report has both '{xMetric}' and '{yMetric}'.", nameof(report));
        }

        using var plot = new Plot();
        var palette = new ScottPlot.Palettes.Category10();
        for (int i = 0; i < points.Count; i++)
        {
            var (arm, x, y) = points[i];
            var color = palette.GetColor(i);
            var marker = plot.Add.Scatter(new[] { x.Mean * 100 }, new[] { y.Mean * 100 }, color);
            marker.MarkerSize = 12;
            marker.LegendText = arm;
            if (!double.IsNaN(x.Std) && !double.IsNaN(y.Std))
            {
                var bars = plot.Add.ErrorBar(new[] { x.Mean * 100 }, new[] { y.Mean * 100 }, new[] { y.Std * 100 });
                bars.XErrorPositive = [x.Std * 100];
                bars.XErrorNegative = [x.Std * 100];
                bars.Color = color;
            }
        }

        plot.Title(title ?? report.Title);
        plot.XLabel($"{xMetric} (%)");
        plot.YLabel($"{yMetric} (%)");
        plot.ShowLegend(Edge.Right); // outside the data area: no corner of a trade-off plot is reliably empty
        plot.Axes.Margins(horizontal: 0.12, vertical: 0.12);

        return plot.GetImageBytes(Width, Height, ImageFormat.Png);
    }
}
