using ScottPlot;
using UnsupervisedFinetuning.Evaluation;
using UnsupervisedFinetuning.Reporting;

namespace UnsupervisedFinetuning.Tests.Reporting;

/// <summary>What the two charts of a report show: one colour per arm in both, honest axes, which way is better, aligned panels.</summary>
[TestFixture]
public sealed class ChartTests
{
    private static MonitorPoint Point(long step, double rankMe, double uniformity) => new()
    {
        Step = step,
        Target = new LabelFreeMonitors(rankMe, uniformity, 0.25),
        SourceDrift = new DriftMeasurement(1 - (step / 1000.0), 1 - (step / 500.0), 256, 10),
        ValidationKnn = 0.7 + (step / 10000.0),
        Score = rankMe,
        Seconds = 0.5,
    };

    /// <summary>The Quickstart's shape: "pretrained only" is measured but not trained, so it has no monitor history.</summary>
    private static TransferReport Report()
    {
        static IEnumerable<TransferMeasurement> Arm(string arm, double target, double retention) =>
            [new(arm, 1, TransferMetrics.TargetKnn, target), new(arm, 2, TransferMetrics.TargetKnn, target + 0.002),
             new(arm, 1, TransferMetrics.SourceKnn, retention), new(arm, 2, TransferMetrics.SourceKnn, retention - 0.002)];
        var report = new TransferReport([.. Arm("pretrained only", 0.898, 0.875), .. Arm("naive UFT", 0.899, 0.874), .. Arm("mixing", 0.900, 0.876)], "naive UFT");
        foreach (var (arm, shift) in new[] { ("naive UFT", 0.0), ("mixing", 5.0) })
        {
            report.Monitoring.Add(new MonitorTrace(arm, 1, [Point(0, 60, -0.5), Point(250, 70 + shift, -1.0), Point(500, 75 + shift, -1.1)], 500));
        }

        return report;
    }

    private static Dictionary<string, Color> LineColours(Plot plot) =>
        plot.GetPlottables<ScottPlot.Plottables.Scatter>().Where(s => !string.IsNullOrEmpty(s.LegendText)).ToDictionary(s => s.LegendText, s => s.Color);

    [Test]
    public void ArmColours_AreTheSameInBothCharts_ByTheReportsArmOrder()
    {
        // Regression: naive UFT was orange in report.png (second arm there) and blue in report-monitoring.png (first with a history).
        var report = Report();
        using var tradeOff = TransferChart.Build(report, null, TransferMetrics.TargetKnn, TransferMetrics.SourceKnn, paretoFront: false);
        var panels = MonitorChart.Panels(report);
        try
        {
            var palette = new ScottPlot.Palettes.Category10();
            var expected = new Dictionary<string, Color> { ["pretrained only"] = palette.GetColor(0), ["naive UFT"] = palette.GetColor(1), ["mixing"] = palette.GetColor(2) };
            Assert.That(LineColours(tradeOff), Is.EquivalentTo(expected));
            Assert.That(panels, Has.Count.EqualTo(6));
            foreach (var (signal, plot) in panels)
            {
                Assert.That(LineColours(plot), Is.EquivalentTo(expected.Where(e => e.Key != "pretrained only")), signal);
            }
        }
        finally
        {
            panels.ForEach(p => p.Plot.Dispose());
        }
    }

    [Test]
    public void TradeOff_ArmsATenthOfAPointApart_GetAxesOfAtLeastFivePointsOnOneScale()
    {
        using var plot = TransferChart.Build(Report(), null, TransferMetrics.TargetKnn, TransferMetrics.SourceKnn, paretoFront: false);

        _ = plot.GetImageBytes(TransferChart.Width, TransferChart.Height, ImageFormat.Png);

        var limits = plot.Axes.GetLimits();
        var data = plot.RenderManager.LastRender.DataRect;
        Assert.That(limits.HorizontalSpan, Is.GreaterThanOrEqualTo(TransferChart.MinimumSpan - 1e-9), "target kNN axis, points");
        Assert.That(limits.VerticalSpan, Is.GreaterThanOrEqualTo(TransferChart.MinimumSpan - 1e-9), "retention axis, points");
        Assert.That(limits.HorizontalSpan / data.Width, Is.EqualTo(limits.VerticalSpan / data.Height).Within(1).Percent, "a point as long on x as on y");
        Assert.That(limits.Left, Is.LessThan(89.8), "every arm inside");
        Assert.That(limits.Right, Is.GreaterThan(90.2), "every arm inside");
        Assert.That(Intervals(plot.Axes.Bottom), Has.Length.EqualTo(1), "evenly spaced ticks");
        Assert.That(Intervals(plot.Axes.Left), Is.EqualTo(Intervals(plot.Axes.Bottom)), "one tick interval on both axes: a square grid");
    }

    private static double[] Intervals(IAxis axis)
    {
        double[] ticks = [.. axis.TickGenerator.Ticks.Where(t => t.IsMajor).Select(t => t.Position).Order()];
        return [.. ticks.Zip(ticks.Skip(1), (a, b) => Math.Round(b - a, 9)).Distinct()];
    }

    [Test]
    public void TradeOff_SaysWhichWayIsBetter_FromTheMetrics()
    {
        using var accuracies = TransferChart.Build(Report(), null, TransferMetrics.TargetKnn, TransferMetrics.SourceKnn, paretoFront: false);
        Assert.That(accuracies.GetPlottables<ScottPlot.Plottables.Annotation>().Single().Text, Is.EqualTo("↑ up and → right is better"));
        Assert.That(accuracies.Axes.Bottom.Label.Text, Is.EqualTo("target kNN (%), better →"));

        // Lower uniformity is better, and it is not a percentage: no ×100 on its axis.
        var report = new TransferReport(
        [
            new("a", 1, TransferMetrics.TargetKnn, 0.9), new("a", 1, TransferMetrics.Uniformity, -1.5),
            new("b", 1, TransferMetrics.TargetKnn, 0.8), new("b", 1, TransferMetrics.Uniformity, -1.2),
        ], "a");
        using var uniformity = TransferChart.Build(report, null, TransferMetrics.TargetKnn, TransferMetrics.Uniformity, paretoFront: false);
        Assert.That(uniformity.GetPlottables<ScottPlot.Plottables.Annotation>().Single().Text, Is.EqualTo("↓ down and → right is better"));
        Assert.That(uniformity.Axes.Left.Label.Text, Is.EqualTo("uniformity, ← better"));
        Assert.That(LineColours(uniformity).Keys, Is.EqualTo(new[] { "a", "b" }));
        Assert.That(uniformity.GetPlottables<ScottPlot.Plottables.Scatter>().SelectMany(s => s.Data.GetScatterPoints()).Select(p => p.Y), Is.EquivalentTo(new[] { -1.5, -1.2 }));
    }

    [Test]
    public void MonitorPanels_ShareOneLayoutAndStepTicks_AndSayWhichWayIsBetter()
    {
        var panels = MonitorChart.Panels(Report());
        try
        {
            var rendered = panels.Select(p =>
            {
                _ = p.Plot.GetImageBytes(MonitorChart.PanelWidth, MonitorChart.PanelHeight, ImageFormat.Png);
                return (p.Signal, Data: p.Plot.RenderManager.LastRender.DataRect, Steps: p.Plot.Axes.Bottom.TickGenerator.Ticks.Where(t => t.IsMajor).Select(t => t.Position).Order().ToArray(),
                    ValueTicks: p.Plot.Axes.Left.TickGenerator.Ticks.Count(t => t.IsMajor && t.Position >= p.Plot.Axes.GetLimits().Bottom && t.Position <= p.Plot.Axes.GetLimits().Top),
                    Title: p.Plot.Axes.Title.Label.Text, Legend: p.Plot.Legend.IsVisible);
            }).ToList();

            Assert.That(rendered.Select(r => r.Data).Distinct().Count(), Is.EqualTo(1), "the same data area in every panel");
            Assert.That(rendered.Select(r => string.Join(",", r.Steps)).Distinct().Single(), Is.EqualTo("0,50,100,150,200,250,300,350,400,450,500"));
            Assert.That(rendered.Select(r => r.ValueTicks), Has.All.InRange(4, 8), "about five value ticks in every panel, whatever its range");
            Assert.That(rendered.Select(r => r.Legend), Has.All.False, "no legend over the lines: one below the panels");
            Assert.That(rendered.Select(r => r.Title), Is.EqualTo(new[]
            {
                "RankMe: ↑ better", "uniformity: ↓ better", "alignment: ↓ better", "source CKA (label-free): ↑ better",
                "source neighbours kept (label-free): ↑ better", "validation kNN (leave-one-out) (%): ↑ better",
            }));
        }
        finally
        {
            panels.ForEach(p => p.Plot.Dispose());
        }
    }

    [Test]
    public void MonitorChart_DrawsOneLegendBelowThePanels_InTheArmsColours()
    {
        var report = Report();
        using var png = SkiaSharp.SKBitmap.Decode(MonitorChart.RenderPng(report));

        Assert.That((png.Width, png.Height), Is.EqualTo((MonitorChart.PanelWidth * 3, (MonitorChart.PanelHeight * 2) + MonitorChart.LegendHeight)));
        var strip = new HashSet<SkiaSharp.SKColor>();
        for (int y = MonitorChart.PanelHeight * 2; y < png.Height; y++)
        {
            for (int x = 0; x < png.Width; x++)
            {
                strip.Add(png.GetPixel(x, y));
            }
        }

        var palette = new ScottPlot.Palettes.Category10();
        Assert.That(strip, Does.Contain(palette.GetColor(1).ToSKColor()), "naive UFT in its trade-off-chart colour");
        Assert.That(strip, Does.Contain(palette.GetColor(2).ToSKColor()), "mixing");
        Assert.That(strip, Does.Not.Contain(palette.GetColor(0).ToSKColor()), "pretrained only has no history, so no legend entry");
    }
}
