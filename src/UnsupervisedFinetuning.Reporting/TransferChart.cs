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
    /// <param name="paretoFront">Also draw the Pareto front (<see cref="ParetoFront"/>) as a dashed line and circle its arms.</param>
    /// <returns><paramref name="path"/>.</returns>
    /// <exception cref="ArgumentException">No arm has both metrics.</exception>
    /// <exception cref="IOException">The file could not be written; a previous file at <paramref name="path"/> is unchanged.</exception>
    public static string WritePng(TransferReport report, string path, string? title = null, string xMetric = TransferMetrics.TargetKnn, string yMetric = TransferMetrics.SourceKnn, bool paretoFront = false)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        byte[] png = RenderPng(report, title, xMetric, yMetric, paretoFront);
        AtomicFile.Write(path, stream => stream.Write(png));
        return path;
    }

    /// <summary>The chart of <see cref="WritePng"/> as PNG bytes.</summary>
    /// <exception cref="ArgumentException">No arm has both metrics.</exception>
    public static byte[] RenderPng(TransferReport report, string? title = null, string xMetric = TransferMetrics.TargetKnn, string yMetric = TransferMetrics.SourceKnn, bool paretoFront = false)
    {
        var points = Points(report, xMetric, yMetric);
        using var plot = new Plot();
        IPalette palette = points.Count <= 10 ? new ScottPlot.Palettes.Category10() : new ScottPlot.Palettes.Category20();
        if (paretoFront)
        {
            // Drawn first, under the arms' markers: the front from the highest y to the highest x.
            var front = Front(points).OrderBy(p => p.X.Mean).ToList();
            var line = plot.Add.Scatter(front.Select(p => p.X.Mean * 100).ToArray(), front.Select(p => p.Y.Mean * 100).ToArray(), Colors.Gray);
            line.LinePattern = LinePattern.Dashed;
            line.MarkerSize = 22;
            line.MarkerShape = MarkerShape.OpenCircle;
            line.LegendText = "Pareto front (means)";
        }

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

    /// <summary>
    /// The arms on the Pareto front of the two metrics' means over seeds (higher is better on both): the arms no
    /// other arm matches or beats on both with a strict gain on one. Ordered by <paramref name="xMetric"/>, ascending.
    /// </summary>
    /// <exception cref="ArgumentException">No arm has both metrics.</exception>
    public static IReadOnlyList<string> ParetoFront(TransferReport report, string xMetric = TransferMetrics.TargetKnn, string yMetric = TransferMetrics.SourceKnn) =>
        Front(Points(report, xMetric, yMetric)).OrderBy(p => p.X.Mean).Select(p => p.Arm).ToList();

    private static List<(string Arm, Summary X, Summary Y)> Points(TransferReport report, string xMetric, string yMetric)
    {
        ArgumentNullException.ThrowIfNull(report);
        var points = report.Arms
            .Select(arm => (Arm: arm, X: report.Summarize(arm, xMetric), Y: report.Summarize(arm, yMetric)))
            .Where(p => p.X.Count > 0 && p.Y.Count > 0 && double.IsFinite(p.X.Mean) && double.IsFinite(p.Y.Mean))
            .ToList();
        if (points.Count == 0)
        {
            throw new ArgumentException($"No arm of the report has both '{xMetric}' and '{yMetric}' (with finite means).", nameof(report));
        }

        return points;
    }

    private static IEnumerable<(string Arm, Summary X, Summary Y)> Front(List<(string Arm, Summary X, Summary Y)> points) =>
        points.Where(p => !points.Any(q => q.X.Mean >= p.X.Mean && q.Y.Mean >= p.Y.Mean && (q.X.Mean > p.X.Mean || q.Y.Mean > p.Y.Mean)));
}
