using System.Text.Json;
using UnsupervisedFinetuning.Evaluation;
using UnsupervisedFinetuning.Reporting;

namespace UnsupervisedFinetuning.Tests.Evaluation;

/// <summary>Monitor histories in a transfer report: Markdown section, CSV, JSON and the chart.</summary>
public sealed class MonitoringReportTests
{
    private static MonitorPoint Point(long step, double rankMe, double? cka = null, double? knn = null) => new()
    {
        Step = step,
        Target = new LabelFreeMonitors(rankMe, -1.5, 0.25),
        SourceDrift = cka is null ? null : new DriftMeasurement(cka.Value, cka.Value - 0.1, 256, 10),
        ValidationKnn = knn,
        Score = rankMe,
        Seconds = 0.5,
    };

    private static TransferReport Report()
    {
        var report = new TransferReport(
        [
            new("naive UFT", 1, TransferMetrics.TargetKnn, 0.90), new("naive UFT", 2, TransferMetrics.TargetKnn, 0.92),
            new("naive UFT", 1, TransferMetrics.SourceKnn, 0.80), new("naive UFT", 2, TransferMetrics.SourceKnn, 0.82),
        ], "naive UFT");
        report.Monitoring.Add(new MonitorTrace("naive UFT", 1, [Point(0, 10, 1.0, 0.5), Point(50, 20, 0.9, 0.6)], 50));
        report.Monitoring.Add(new MonitorTrace("naive UFT", 2, [Point(0, 12, 1.0, 0.5), Point(50, 30, 0.8, 0.7)], 0));
        return report;
    }

    [Test]
    public void Markdown_AveragesEachStepOverSeedsAndNamesTheSelectedSteps()
    {
        string md = Report().ToMarkdown();

        Assert.That(md, Does.Contain("## Monitoring during the runs"));
        Assert.That(md, Does.Contain("**naive UFT** — selected step: 50 (seed 1), 0 (seed 2)"));
        // Step 50: RankMe (20 + 30)/2 = 25 ± 7.071; CKA (0.9 + 0.8)/2; kNN in points (60 + 70)/2 = 65.
        Assert.That(md, Does.Contain("| 50 | 25.000 ± 7.071 | -1.500 ± 0.000 | 0.250 ± 0.000 | 0.850 ± 0.071 | 0.750 ± 0.071 | 65.0 ± 7.1 |"));
    }

    [Test]
    public void MonitoringCsv_HasOneRowPerSignalAndMarksTheSelectedPoint()
    {
        string[] lines = Report().MonitoringToCsv().Split('\n', StringSplitOptions.RemoveEmptyEntries);

        Assert.That(lines[0], Is.EqualTo("arm,seed,step,signal,value,selected"));
        Assert.That(lines, Has.Length.EqualTo(1 + (4 * 6)), "4 points × 6 signals");
        Assert.That(lines, Does.Contain("naive UFT,1,50,RankMe,20,1"));
        Assert.That(lines, Does.Contain("naive UFT,2,50,RankMe,30,0"));
        Assert.That(lines, Does.Contain("naive UFT,2,0,source CKA (label-free),1,1"), "every signal of the selected step-0 point is marked");
    }

    [Test]
    public void Json_CarriesEveryPoint()
    {
        using var json = JsonDocument.Parse(Report().ToJson());

        var runs = json.RootElement.GetProperty("monitoring");
        Assert.That(runs.GetArrayLength(), Is.EqualTo(2));
        Assert.That(runs[1].GetProperty("selectedStep").GetInt64(), Is.EqualTo(0));
        Assert.That(runs[1].GetProperty("points")[1].GetProperty("signals").GetProperty(TransferMetrics.RankMe).GetDouble(), Is.EqualTo(30));
    }

    [Test]
    public void WriteWithChart_AddsTheMonitoringCsvAndChart()
    {
        using var dir = new TempDirectory();

        var written = Report().WriteWithChart(dir.Path);

        Assert.That(written.Select(Path.GetFileName), Is.EquivalentTo(new[] { "report.md", "report.csv", "report.json", "report-monitoring.csv", "report.png", "report-monitoring.png" }));
        using var png = SkiaSharp.SKBitmap.Decode(Path.Combine(dir.Path, "report-monitoring.png"));
        Assert.That((png.Width, png.Height), Is.EqualTo((MonitorChart.PanelWidth * 3, (MonitorChart.PanelHeight * 2) + MonitorChart.LegendHeight)), "six signals: two rows of three panels, then the legend");
        Assert.That(png.Pixels.ToHashSet(), Does.Contain(new SkiaSharp.SKColor(0x1f, 0x77, 0xb4)), "the arm's line is drawn");
    }

    [Test]
    public void MonitorChart_WithoutHistories_SaysSo()
    {
        var report = new TransferReport([new("a", 1, TransferMetrics.TargetKnn, 0.5)], "a");

        var e = Assert.Throws<ArgumentException>(() => MonitorChart.RenderPng(report))!;

        Assert.That(e.Message, Does.Contain("no monitor histories"));
    }
}
