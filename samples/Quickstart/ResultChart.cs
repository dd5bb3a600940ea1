using ScottPlot;
using UnsupervisedFinetuning.Evaluation;

namespace UnsupervisedFinetuning.Samples.Quickstart;

/// <summary>
/// The trade-off at a glance: target accuracy (x) against source retention (y), one point per arm at its
/// mean over seeds with ± 1 std error bars. Up and to the right is better on both counts.
/// </summary>
internal static class ResultChart
{
    public static string Write(TransferReport report, string path, string title)
    {
        var plot = new Plot();
        var palette = new ScottPlot.Palettes.Category10();
        int i = 0;
        foreach (string arm in report.Arms)
        {
            var x = report.Summarize(arm, TransferMetrics.TargetKnn);
            var y = report.Summarize(arm, TransferMetrics.SourceKnn);
            if (x.Count == 0 || y.Count == 0)
            {
                continue;
            }

            var color = palette.GetColor(i++);
            var point = plot.Add.Scatter(new[] { x.Mean * 100 }, new[] { y.Mean * 100 }, color);
            point.MarkerSize = 12;
            point.LegendText = arm;
            if (!double.IsNaN(x.Std) && !double.IsNaN(y.Std))
            {
                var bars = plot.Add.ErrorBar(new[] { x.Mean * 100 }, new[] { y.Mean * 100 }, new[] { y.Std * 100 });
                bars.XErrorPositive = [x.Std * 100];
                bars.XErrorNegative = [x.Std * 100];
                bars.Color = color;
            }
        }

        plot.Title(title);
        plot.XLabel("target kNN top-1 (%)");
        plot.YLabel("source kNN top-1, retention (%)");
        plot.ShowLegend(Alignment.LowerLeft);
        string temporary = path + ".tmp.png";
        plot.SavePng(temporary, 900, 650);
        File.Move(temporary, path, overwrite: true);
        return path;
    }
}
