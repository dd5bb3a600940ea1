using ScottPlot;
using SkiaSharp;
using UnsupervisedFinetuning.Evaluation;
using UnsupervisedFinetuning.IO;

namespace UnsupervisedFinetuning.Reporting;

/// <summary>
/// The monitor histories of a report at a glance: one panel per signal (RankMe, uniformity, alignment, source CKA,
/// neighbours kept, leave-one-out kNN), the signal against the step, one line per arm at its mean over seeds.
/// </summary>
public static class MonitorChart
{
    /// <summary>Width of one panel in pixels.</summary>
    public const int PanelWidth = 560;

    /// <summary>Height of one panel in pixels.</summary>
    public const int PanelHeight = 380;

    /// <summary>Panels per row.</summary>
    public const int Columns = 3;

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

    /// <summary>The chart of <see cref="WritePng"/> as PNG bytes: <see cref="Columns"/> panels a row, as many rows as signals need.</summary>
    /// <exception cref="ArgumentException">The report has no monitor histories.</exception>
    public static byte[] RenderPng(TransferReport report)
    {
        ArgumentNullException.ThrowIfNull(report);
        var signals = report.Monitoring.SelectMany(t => t.Points).SelectMany(TransferReport.Signals).Select(s => s.Signal).Distinct().ToList();
        if (signals.Count == 0)
        {
            throw new ArgumentException("The report has no monitor histories (TransferReport.Monitoring is empty, or its runs have no points).", nameof(report));
        }

        var arms = report.Monitoring.Select(t => t.Arm).Distinct().ToList();
        int rows = (signals.Count + Columns - 1) / Columns;
        using var surface = SKSurface.Create(new SKImageInfo(PanelWidth * Math.Min(Columns, signals.Count), PanelHeight * rows));
        surface.Canvas.Clear(SKColors.White);
        for (int i = 0; i < signals.Count; i++)
        {
            using var panel = SKBitmap.Decode(Panel(report, arms, signals[i]));
            surface.Canvas.DrawBitmap(panel, PanelWidth * (i % Columns), PanelHeight * (i / Columns));
        }

        using var image = surface.Snapshot();
        using var data = image.Encode(SKEncodedImageFormat.Png, 100);
        return data.ToArray();
    }

    private static byte[] Panel(TransferReport report, IReadOnlyList<string> arms, string signal)
    {
        using var plot = new Plot();
        var palette = new ScottPlot.Palettes.Category10();
        bool accuracy = signal.Contains("kNN", StringComparison.Ordinal);
        for (int a = 0; a < arms.Count; a++)
        {
            // Mean over the arm's seeds at each step any of them measured.
            var points = report.Monitoring.Where(t => t.Arm == arms[a])
                .SelectMany(t => t.Points.SelectMany(p => TransferReport.Signals(p).Where(s => s.Signal == signal).Select(s => (p.Step, s.Value))))
                .GroupBy(p => p.Step).OrderBy(g => g.Key)
                .Select(g => (Step: (double)g.Key, Value: g.Average(p => p.Value) * (accuracy ? 100 : 1)))
                .Where(p => double.IsFinite(p.Value))
                .ToList();
            if (points.Count == 0)
            {
                continue;
            }

            var line = plot.Add.Scatter(points.Select(p => p.Step).ToArray(), points.Select(p => p.Value).ToArray(), palette.GetColor(a));
            line.LegendText = arms[a];
            line.MarkerSize = 5;
        }

        plot.Title(accuracy ? signal + " (%)" : signal);
        plot.XLabel("step");
        plot.ShowLegend(Alignment.LowerLeft);
        return plot.GetImageBytes(PanelWidth, PanelHeight, ImageFormat.Png);
    }
}
