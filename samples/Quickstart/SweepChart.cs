using ScottPlot;
using UnsupervisedFinetuning.Evaluation;
using UnsupervisedFinetuning.Replay;
using UnsupervisedFinetuning.Reporting;

namespace UnsupervisedFinetuning.Samples.Quickstart;

/// <summary>
/// The sweep's trade-off as curves: target kNN (x) against retention (y), one line per mixing state through the
/// replay ratios 0 → 1 (each point labelled with its ratio, ± 1 std over seeds as error bars), the selection rules
/// at the default ratio as their own markers in their mixing state's colour, the pretrained backbone as a star, and
/// the Pareto front of all means dashed.
/// </summary>
internal static class SweepChart
{
    public static void WritePng(TransferReport report, IReadOnlyList<Arm> arms, string path, string title)
    {
        using var plot = new Plot();
        var front = TransferChart.ParetoFront(report);
        (double X, double Y, double XStd, double YStd)? Point(string arm)
        {
            var x = report.Summarize(arm, TransferMetrics.TargetKnn);
            var y = report.Summarize(arm, TransferMetrics.SourceKnn);
            return x.Count == 0 || y.Count == 0 ? null : (x.Mean * 100, y.Mean * 100, double.IsNaN(x.Std) ? 0 : x.Std * 100, double.IsNaN(y.Std) ? 0 : y.Std * 100);
        }

        void Bars((double X, double Y, double XStd, double YStd) p, Color color)
        {
            var bars = plot.Add.ErrorBar(new[] { p.X }, new[] { p.Y }, new[] { p.YStd });
            bars.XErrorPositive = [p.XStd];
            bars.XErrorNegative = [p.XStd];
            bars.Color = color.WithAlpha(0.6);
        }

        var frontPoints = front.Select(Point).OfType<(double X, double Y, double XStd, double YStd)>().OrderBy(p => p.X).ToList();
        if (frontPoints.Count > 0)
        {
            var line = plot.Add.Scatter(frontPoints.Select(p => p.X).ToArray(), frontPoints.Select(p => p.Y).ToArray(), Colors.Gray);
            line.LinePattern = LinePattern.Dashed;
            line.MarkerShape = MarkerShape.OpenCircle;
            line.MarkerSize = 22;
            line.LegendText = "Pareto front (means)";
        }

        foreach (bool mixing in (bool[])[false, true])
        {
            var color = mixing ? Colors.DarkOrange : Colors.SteelBlue;
            var grid = arms.Where(a => a.Train && a.Selection == ReplaySelection.Uniform && a.Mixing == mixing)
                .Select(a => (Arm: a, Point: Point(a.Name))).Where(a => a.Point is not null).OrderBy(a => a.Arm.Ratio ?? 0).ToList();
            if (grid.Count > 0)
            {
                var curve = plot.Add.Scatter(grid.Select(g => g.Point!.Value.X).ToArray(), grid.Select(g => g.Point!.Value.Y).ToArray(), color);
                curve.MarkerSize = 9;
                curve.LineWidth = 2;
                curve.LegendText = $"uniform replay, ratio 0 → 1, mixing {(mixing ? "on" : "off")}";
                foreach (var (arm, point) in grid)
                {
                    Bars(point!.Value, color);
                    var label = plot.Add.Text($"{(arm.Ratio ?? 0).ToString(System.Globalization.CultureInfo.InvariantCulture)}", point.Value.X, point.Value.Y);
                    label.LabelFontSize = 12;
                    label.LabelFontColor = color;
                    label.OffsetX = 6;
                    label.OffsetY = -6;
                }
            }

            foreach (var (selection, shape) in new[] { (ReplaySelection.Coverage, MarkerShape.FilledSquare), (ReplaySelection.TargetNearest, MarkerShape.FilledTriangleUp), (ReplaySelection.ClassBalanced, MarkerShape.FilledDiamond) })
            {
                var arm = arms.FirstOrDefault(a => a.Selection == selection && a.Mixing == mixing);
                if (arm is null || Point(arm.Name) is not { } point)
                {
                    continue;
                }

                Bars(point, color);
                var marker = plot.Add.Scatter(new[] { point.X }, new[] { point.Y }, color);
                marker.MarkerShape = shape;
                marker.MarkerSize = 13;
                marker.LegendText = $"{Arm.SelectionName(selection)}, mixing {(mixing ? "on" : "off")}";
            }
        }

        if (Point(Arm.PretrainedOnly) is { } start)
        {
            var star = plot.Add.Scatter(new[] { start.X }, new[] { start.Y }, Colors.Black);
            star.MarkerShape = MarkerShape.Asterisk;
            star.MarkerSize = 16;
            star.LegendText = Arm.PretrainedOnly;
        }

        plot.Title(title);
        plot.XLabel("target kNN (%)");
        plot.YLabel("source kNN, retention (%)");
        plot.ShowLegend(Edge.Right);
        plot.Axes.Margins(horizontal: 0.12, vertical: 0.12);
        plot.SavePng(path + ".tmp", 1100, 700);
        File.Move(path + ".tmp", path, overwrite: true);
    }
}
