using ScottPlot;
using UnsupervisedFinetuning.Evaluation;
using UnsupervisedFinetuning.IO;

namespace UnsupervisedFinetuning.Reporting;

/// <summary>
/// The trade-off of a transfer comparison at a glance: a target metric (x) against a source-retention
/// metric (y), one point per arm at its mean over seeds with ± 1 sample-std error bars, each arm in its colour of
/// every chart of the report. Up and to the right is better on both counts, and the chart says so (a label in
/// the top corner and the axis titles); on small target sets the arms usually spread along a diagonal, which is the
/// honest story (finetuning buys target accuracy with source accuracy). Accuracy axes span at least 5 points and
/// share one scale (a point is as long on x as on y), so differences within one run's noise look as small as they are.
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
        using var plot = Build(report, title, xMetric, yMetric, paretoFront);
        return plot.GetImageBytes(Width, Height, ImageFormat.Png);
    }

    /// <summary>
    /// Least span of an accuracy axis, in percentage points. On a 2,000-image test split one run's noise is ≈ 1.5 points;
    /// an axis fitted tightly to arms 0.3 points apart would draw that noise as a gulf.
    /// </summary>
    internal const double MinimumSpan = 5;

    /// <summary>The chart, not yet rendered (tests read its plottables and, after a render, its axis limits).</summary>
    internal static Plot Build(TransferReport report, string? title, string xMetric, string yMetric, bool paretoFront)
    {
        var points = Points(report, xMetric, yMetric);
        var colors = ArmColors.For(report);
        double xScale = TransferMetrics.IsAccuracy(xMetric) ? 100 : 1;
        double yScale = TransferMetrics.IsAccuracy(yMetric) ? 100 : 1;
        var plot = new Plot();
        if (paretoFront)
        {
            // Drawn first, under the arms' markers: the front from the highest y to the highest x.
            var front = Front(points).OrderBy(p => p.X.Mean).ToList();
            var line = plot.Add.Scatter(front.Select(p => p.X.Mean * xScale).ToArray(), front.Select(p => p.Y.Mean * yScale).ToArray(), Colors.Gray);
            line.LinePattern = LinePattern.Dashed;
            line.MarkerSize = 22;
            line.MarkerShape = MarkerShape.OpenCircle;
            line.LegendText = "Pareto front (means)";
        }

        foreach (var (arm, x, y) in points)
        {
            var color = colors[arm];
            var marker = plot.Add.Scatter(new[] { x.Mean * xScale }, new[] { y.Mean * yScale }, color);
            marker.MarkerSize = 12;
            marker.LegendText = arm;
            if (!double.IsNaN(x.Std) && !double.IsNaN(y.Std))
            {
                var bars = plot.Add.ErrorBar(new[] { x.Mean * xScale }, new[] { y.Mean * yScale }, new[] { y.Std * yScale });
                bars.XErrorPositive = [x.Std * xScale];
                bars.XErrorNegative = [x.Std * xScale];
                bars.Color = color;
            }
        }

        plot.Title(title ?? report.Title);
        plot.XLabel(AxisLabel(xMetric));
        plot.YLabel(AxisLabel(yMetric));
        plot.ShowLegend(Edge.Right); // outside the data area: no corner of a trade-off plot is reliably empty
        var (left, right) = Range(points.Select(p => p.X), xScale, TransferMetrics.IsAccuracy(xMetric));
        var (bottom, top) = Range(points.Select(p => p.Y), yScale, TransferMetrics.IsAccuracy(yMetric));
        plot.Axes.SetLimits(left, right, bottom, top);
        if (xScale == 100 && yScale == 100)
        {
            // A point of target accuracy is as long as a point of retention: the slope between two arms is the
            // exchange rate of the trade-off, read without checking the tick labels. The axis with room to spare widens,
            // and both get the same tick interval, so the grid is square.
            plot.Axes.SquareUnits();
            double span = Math.Max(right - left, top - bottom);
            plot.Axes.Bottom.TickGenerator = ChartTicks.Generator(span, 10);
            plot.Axes.Left.TickGenerator = ChartTicks.Generator(span, 10);
        }

        if (Better(xMetric, yMetric) is { } better)
        {
            // In the top corner, inside the room Range leaves above the highest error bar (≈ 10 % of the axis, 50 px):
            // never over an arm.
            var cue = plot.Add.Annotation(better, Alignment.UpperRight);
            cue.LabelFontSize = 15;
            cue.LabelBold = true;
            cue.LabelFontColor = Colors.DimGray;
            cue.LabelBackgroundColor = Colors.White.WithAlpha(0.85);
            cue.LabelBorderColor = Colors.LightGray;
            cue.LabelShadowColor = Colors.Transparent;
        }

        return plot;
    }

    /// <summary>
    /// An axis's limits: the means ± std of every arm with 12 % room each side, at least <see cref="MinimumSpan"/> points
    /// wide for accuracies (centred on the arms, shifted to stay within 0–100 %).
    /// </summary>
    private static (double Min, double Max) Range(IEnumerable<Summary> values, double scale, bool accuracy)
    {
        var ends = values.SelectMany(v => new[] { (v.Mean - Spread(v)) * scale, (v.Mean + Spread(v)) * scale }).ToList();
        double low = ends.Min(), high = ends.Max();
        double centre = (low + high) / 2;
        double span = (high - low) * 1.24;
        if (accuracy)
        {
            span = Math.Max(span, MinimumSpan);
            centre = Math.Clamp(centre, Math.Min(span / 2, 50), Math.Max(100 - (span / 2), 50));
        }
        else if (span == 0)
        {
            span = Math.Max(Math.Abs(centre) * 0.1, 1);
        }

        return (centre - (span / 2), centre + (span / 2));
    }

    private static double Spread(Summary s) => double.IsNaN(s.Std) ? 0 : s.Std;

    /// <summary>"target kNN (%), better →": the metric, its unit, and which way it improves (→ points up on the rotated y label).</summary>
    private static string AxisLabel(string metric)
    {
        string unit = TransferMetrics.IsAccuracy(metric) ? " (%)" : "";
        return TransferMetrics.HigherIsBetter(metric) switch
        {
            true => $"{metric}{unit}, better →",
            false => $"{metric}{unit}, ← better",
            null => metric + unit,
        };
    }

    /// <summary>
    /// "↑ up and → right is better" for two metrics that improve upwards, and so on (straight arrows: the diagonal ones
    /// are tiny in common fonts); null when a direction is unknown.
    /// </summary>
    internal static string? Better(string xMetric, string yMetric) => (TransferMetrics.HigherIsBetter(yMetric), TransferMetrics.HigherIsBetter(xMetric)) switch
    {
        (bool up, bool right) => $"{(up ? "↑ up" : "↓ down")} and {(right ? "→ right" : "← left")} is better",
        _ => null,
    };

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
