using ScottPlot;
using SkiaSharp;
using UnsupervisedFinetuning.Evaluation;
using UnsupervisedFinetuning.IO;

namespace UnsupervisedFinetuning.Reporting;

/// <summary>
/// The monitor histories of a report at a glance: one panel per signal (RankMe, uniformity, alignment, source CKA,
/// neighbours kept, leave-one-out kNN), the signal against the step, one line per arm at its mean over seeds, each arm
/// in its colour of every chart of the report. Each panel's title says which way the signal improves ("RankMe: ↑ better");
/// the panels share one step axis and one layout, so the same step sits at the same place in every column; one legend
/// for all panels runs below them, clear of the lines.
/// </summary>
public static class MonitorChart
{
    /// <summary>Width of one panel in pixels.</summary>
    public const int PanelWidth = 560;

    /// <summary>Height of one panel in pixels.</summary>
    public const int PanelHeight = 380;

    /// <summary>Height in pixels of the legend strip below the panels.</summary>
    public const int LegendHeight = 50;

    /// <summary>Panels per row.</summary>
    public const int Columns = 3;

    /// <summary>About this many ticks on every panel's step axis (the same interval in all: they share the step range).</summary>
    internal const int StepTicks = 10;

    /// <summary>About this many ticks on every panel's value axis, whatever the signal's range.</summary>
    internal const int ValueTicks = 5;

    /// <summary>Width of the arms' lines, in the panels and the legend alike.</summary>
    private const float LineWidth = 1.5f;

    /// <summary>Room around every panel's data area (tick labels, axis title, panel title): the same for all, so their data areas line up.</summary>
    private static readonly PixelPadding PanelPadding = new(left: 78, right: 22, bottom: 52, top: 42);

    /// <summary>Writes the chart as a PNG, atomically (a failed write leaves the previous file in place).</summary>
    /// <returns><paramref name="path"/>.</returns>
    /// <exception cref="ArgumentException">The report has no monitor histories.</exception>
    /// <exception cref="IOException">The file could not be written; a previous file at <paramref name="path"/> is unchanged.</exception>
    public static string WritePng(TransferReport report, string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        byte[] png = RenderPng(report);
        AtomicFile.Write(path, stream => stream.Write(png));
        return path;
    }

    /// <summary>
    /// The chart of <see cref="WritePng"/> as PNG bytes: <see cref="Columns"/> panels a row, as many rows as signals need,
    /// then the legend (<see cref="LegendHeight"/> px).
    /// </summary>
    /// <exception cref="ArgumentException">The report has no monitor histories.</exception>
    public static byte[] RenderPng(TransferReport report)
    {
        var panels = Panels(report);
        try
        {
            int rows = (panels.Count + Columns - 1) / Columns;
            int width = PanelWidth * Math.Min(Columns, panels.Count);
            using var surface = SKSurface.Create(new SKImageInfo(width, (PanelHeight * rows) + LegendHeight));
            surface.Canvas.Clear(SKColors.White);
            for (int i = 0; i < panels.Count; i++)
            {
                using var panel = SKBitmap.Decode(panels[i].Plot.GetImageBytes(PanelWidth, PanelHeight, ImageFormat.Png));
                surface.Canvas.DrawBitmap(panel, PanelWidth * (i % Columns), PanelHeight * (i / Columns));
            }

            using var legendImage = Legend(report);
            using var legend = SKBitmap.Decode(legendImage.GetImageBytes(ImageFormat.Png));
            surface.Canvas.DrawBitmap(legend, Math.Max(0, (width - legend.Width) / 2), (PanelHeight * rows) + Math.Max(0, (LegendHeight - legend.Height) / 2));
            using var image = surface.Snapshot();
            using var data = image.Encode(SKEncodedImageFormat.Png, 100);
            return data.ToArray();
        }
        finally
        {
            foreach (var (_, plot) in panels)
            {
                plot.Dispose();
            }
        }
    }

    /// <summary>The title of a signal's panel: the signal, its unit, and which way it improves ("alignment: ↓ better").</summary>
    internal static string PanelTitle(string signal)
    {
        string title = TransferMetrics.IsAccuracy(signal) ? signal + " (%)" : signal;
        return TransferMetrics.HigherIsBetter(signal) switch
        {
            true => title + ": ↑ better",
            false => title + ": ↓ better",
            null => title,
        };
    }

    /// <summary>One plot per signal, in report order, not yet rendered; the caller disposes them.</summary>
    /// <exception cref="ArgumentException">The report has no monitor histories.</exception>
    internal static List<(string Signal, Plot Plot)> Panels(TransferReport report)
    {
        ArgumentNullException.ThrowIfNull(report);
        var signals = report.Monitoring.SelectMany(t => t.Points).SelectMany(TransferReport.Signals).Select(s => s.Signal).Distinct().ToList();
        if (signals.Count == 0)
        {
            throw new ArgumentException("The report has no monitor histories (TransferReport.Monitoring is empty, or its runs have no points).", nameof(report));
        }

        var colors = ArmColors.For(report);
        var steps = report.Monitoring.SelectMany(t => t.Points).Select(p => (double)p.Step).ToList();
        double first = steps.Min(), last = steps.Max();
        double room = Math.Max(last - first, 1) * 0.04;
        return signals.Select(signal => (signal, Panel(report, colors, signal, first - room, last + room))).ToList();
    }

    private static Plot Panel(TransferReport report, IReadOnlyDictionary<string, Color> colors, string signal, double left, double right)
    {
        var plot = new Plot();
        double scale = TransferMetrics.IsAccuracy(signal) ? 100 : 1;
        var values = new List<double>();
        foreach (var arm in colors.Keys)
        {
            // Mean over the arm's seeds at each step any of them measured.
            var points = report.Monitoring.Where(t => t.Arm == arm)
                .SelectMany(t => t.Points.SelectMany(p => TransferReport.Signals(p).Where(s => s.Signal == signal).Select(s => (p.Step, s.Value))))
                .GroupBy(p => p.Step).OrderBy(g => g.Key)
                .Select(g => (Step: (double)g.Key, Value: g.Average(p => p.Value) * scale))
                .Where(p => double.IsFinite(p.Value))
                .ToList();
            if (points.Count == 0)
            {
                continue;
            }

            var line = plot.Add.Scatter(points.Select(p => p.Step).ToArray(), points.Select(p => p.Value).ToArray(), colors[arm]);
            line.LegendText = arm;
            line.LineWidth = LineWidth;
            line.MarkerSize = 5;
            values.AddRange(points.Select(p => p.Value));
        }

        plot.Title(PanelTitle(signal));
        plot.XLabel("step");
        plot.Legend.IsVisible = false; // one legend for all panels, below them (Legend)

        // The same data area, step range and tick density in every panel.
        plot.Layout.Fixed(PanelPadding);
        double low = values.Count > 0 ? values.Min() : 0, high = values.Count > 0 ? values.Max() : 1;
        double margin = high > low ? (high - low) * 0.08 : Math.Max(Math.Abs(low) * 0.05, 0.5);
        plot.Axes.SetLimits(left, right, low - margin, high + margin);
        plot.Axes.Bottom.TickGenerator = ChartTicks.Generator(right - left, StepTicks);
        plot.Axes.Left.TickGenerator = ChartTicks.Generator(high - low + (2 * margin), ValueTicks);
        return plot;
    }

    /// <summary>The shared legend: every arm with monitor histories, in report order, in one row.</summary>
    private static Image Legend(TransferReport report)
    {
        var colors = ArmColors.For(report);
        var monitored = report.Monitoring.Select(t => t.Arm).ToHashSet();
        using var plot = new Plot();
        foreach (var (arm, color) in colors.Where(c => monitored.Contains(c.Key)))
        {
            plot.Legend.ManualItems.Add(new LegendItem { LabelText = arm, LineColor = color, LineWidth = LineWidth, MarkerColor = color, MarkerShape = MarkerShape.FilledCircle, MarkerSize = 5 });
        }

        plot.Legend.Orientation = Orientation.Horizontal;
        plot.Legend.TightHorizontalWrapping = true;
        plot.Legend.FontSize = 14;
        return plot.GetLegendImage();
    }
}
