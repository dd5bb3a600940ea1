using System.Globalization;
using System.Text.Json;
using SkiaSharp;
using UnsupervisedFinetuning.Cli;
using UnsupervisedFinetuning.Evaluation;
using UnsupervisedFinetuning.IO;
using UnsupervisedFinetuning.Reporting;

namespace UnsupervisedFinetuning.Tests.Cli;

/// <summary>
/// <c>uft finetune</c> writes the run's report beside its model (<see cref="RunReportFiles"/>): the numbers are the ones
/// monitor.csv and metrics.csv hold, the monitoring chart has a panel per monitor with the run's one line, and a report
/// that cannot be written leaves no file of it.
/// </summary>
[TestFixture]
[NonParallelizable]
public sealed class UftReportTests
{
    private static readonly string Images = Path.Combine(RepositoryPaths.SampleData, "images");

    /// <summary>The report's signal names → monitor.csv's columns.</summary>
    private static readonly Dictionary<string, string> Columns = new()
    {
        [TransferMetrics.RankMe] = "rankme",
        [TransferMetrics.Uniformity] = "uniformity",
        [TransferMetrics.Alignment] = "alignment",
        [TransferMetrics.SourceCka] = "source_cka",
        [TransferMetrics.SourceNeighbourhoods] = "source_neighbours_kept",
        [TransferReport.ValidationKnnSignal] = "validation_knn",
    };

    private TempDirectory _dir = null!;

    [SetUp]
    public void SetUp() => _dir = new TempDirectory();

    [TearDown]
    public void TearDown() => _dir.Dispose();

    private static string[] Finetune(string output, int steps, params string[] extra) =>
        ["finetune", "--backbone", UftTests.Model, "--target", Path.Combine(Images, "digits"), "--steps", steps.ToString(CultureInfo.InvariantCulture), "--batch-size", "32", "--out", output, .. extra];

    /// <summary>monitor.csv as step → column → the cell's text.</summary>
    private static Dictionary<long, Dictionary<string, string>> MonitorRows(string output)
    {
        string[] lines = File.ReadAllLines(Path.Combine(output, MetricsFiles.MonitorFile));
        string[] header = lines[0].Split(',');
        return lines.Skip(1).Select(l => l.Split(',')).ToDictionary(
            cells => long.Parse(cells[0], CultureInfo.InvariantCulture),
            cells => header.Select((h, i) => (h, cells[i])).ToDictionary(c => c.h, c => c.Item2));
    }

    [Test]
    public void Finetune_Monitored_WritesTheReportWithMonitorCsvsNumbersAndAChartPanelPerMonitor()
    {
        string output = _dir.File("run");

        var outcome = UftTests.Run(null, Finetune(output, 4, "--source-probe", Path.Combine(Images, "fashion0to4"), "--validation", Path.Combine(Images, "digits-labelled"), "--monitor-every", "2"));

        Assert.That(outcome.ExitCode, Is.EqualTo(ExitCodes.Success), outcome.Error);
        Assert.That(outcome.Output, Does.Contain($"report:     {Path.Combine(output, "report.md")}, report.csv, report.json, report-monitoring.csv, report-monitoring.png"));
        var monitor = MonitorRows(output);
        Assert.That(monitor.Keys, Is.EqualTo(new long[] { 0, 2, 4 }));

        // report-monitoring.csv: every point's every signal, as monitor.csv wrote it (both round-trip the double).
        var traced = File.ReadAllLines(Path.Combine(output, "report-monitoring.csv")).Skip(1).Select(l => l.Split(',')).ToList();
        Assert.That(traced, Has.Count.EqualTo(3 * 6));
        foreach (var row in traced)
        {
            Assert.That((row[0], row[1]), Is.EqualTo(("finetuned", "0")));
            var point = monitor[long.Parse(row[2], CultureInfo.InvariantCulture)];
            Assert.That(row[4], Is.EqualTo(point[Columns[row[3]]]), $"step {row[2]}, {row[3]}");
            Assert.That(row[5], Is.EqualTo(row[2] == monitor[4]["best_step"] ? "1" : "0"), "the run's selected step: the best so far at its last point");
        }

        // report.csv: the pretrained backbone is point 0, the saved (last) one point 4; the loss is the last epoch's mean of metrics.csv.
        var measured = File.ReadAllLines(Path.Combine(output, "report.csv")).Skip(1).Select(l => l.Split(',')).ToDictionary(c => (c[0], c[2]), c => c[3]);
        foreach (var (signal, column) in Columns)
        {
            Assert.That(measured[("pretrained", signal)], Is.EqualTo(monitor[0][column]), signal);
            Assert.That(measured[("finetuned", signal)], Is.EqualTo(monitor[4][column]), signal);
        }

        double meanLoss = File.ReadAllLines(Path.Combine(output, MetricsFiles.StepsFile)).Skip(1).Average(l => double.Parse(l.Split(',')[3], CultureInfo.InvariantCulture));
        Assert.That(double.Parse(measured[("finetuned", RunReportFiles.LossMetric)], CultureInfo.InvariantCulture), Is.EqualTo(meanLoss).Within(1e-6));

        // report.json: the same measurements and points.
        using var json = JsonDocument.Parse(File.ReadAllText(Path.Combine(output, "report.json")));
        var measurements = json.RootElement.GetProperty("measurements").EnumerateArray().ToList();
        Assert.That(measurements, Has.Count.EqualTo(measured.Count));
        foreach (var m in measurements)
        {
            Assert.That(m.GetProperty("value").GetDouble(), Is.EqualTo(double.Parse(measured[(m.GetProperty("arm").GetString()!, m.GetProperty("metric").GetString()!)], CultureInfo.InvariantCulture)));
        }

        var run = json.RootElement.GetProperty("monitoring").EnumerateArray().Single();
        Assert.That(run.GetProperty("selectedStep").GetInt64(), Is.EqualTo(long.Parse(monitor[4]["best_step"], CultureInfo.InvariantCulture)));
        foreach (var point in run.GetProperty("points").EnumerateArray())
        {
            var row = monitor[point.GetProperty("step").GetInt64()];
            foreach (var signal in point.GetProperty("signals").EnumerateObject())
            {
                Assert.That(signal.Value.GetDouble(), Is.EqualTo(double.Parse(row[Columns[signal.Name]], CultureInfo.InvariantCulture)), signal.Name);
            }

            Assert.That(point.GetProperty("score").GetDouble(), Is.EqualTo(double.Parse(row["score"], CultureInfo.InvariantCulture)));
        }

        string markdown = File.ReadAllText(Path.Combine(output, "report.md"));
        Assert.That(markdown, Does.Contain("Paired difference against **pretrained**").And.Contain("## Monitoring during the runs").And.Contain("the chart is report-monitoring.png"));

        // The chart: a well-formed PNG of six panels (three a row) over the legend, each panel drawing the run's one line
        // (the first arm colour, the finetuned arm's) and no second series (the next colour of the palette).
        using var chart = SKBitmap.Decode(Path.Combine(output, "report-monitoring.png"));
        Assert.That(chart, Is.Not.Null, "a decodable PNG");
        Assert.That((chart.Width, chart.Height), Is.EqualTo((MonitorChart.PanelWidth * 3, (MonitorChart.PanelHeight * 2) + MonitorChart.LegendHeight)));
        var palette = new ScottPlot.Palettes.Category10();
        var (line, other) = (palette.GetColor(1), palette.GetColor(2)); // arms: pretrained (0), finetuned (1)
        for (int panel = 0; panel < 6; panel++)
        {
            int left = MonitorChart.PanelWidth * (panel % 3), top = MonitorChart.PanelHeight * (panel / 3);
            Assert.That(Count(chart, left, top, line), Is.GreaterThan(50), $"panel {panel} draws the run's line");
            Assert.That(Count(chart, left, top, other), Is.Zero, $"panel {panel} draws one series");
        }
    }

    private static int Count(SKBitmap chart, int left, int top, ScottPlot.Color color)
    {
        int n = 0;
        for (int y = top; y < top + MonitorChart.PanelHeight; y++)
        {
            for (int x = left; x < left + MonitorChart.PanelWidth; x++)
            {
                var p = chart.GetPixel(x, y);
                n += p.Red == color.R && p.Green == color.G && p.Blue == color.B ? 1 : 0;
            }
        }

        return n;
    }

    [Test]
    public void Finetune_MonitoringOff_WritesTheReportWithoutAChartAndSaysSo()
    {
        string output = _dir.File("run");

        var outcome = UftTests.Run(null, Finetune(output, 2, "--monitor-every", "off"));

        Assert.That(outcome.ExitCode, Is.EqualTo(ExitCodes.Success), outcome.Error);
        Assert.That(Directory.GetFiles(output, "report*").Select(Path.GetFileName).Order(), Is.EqualTo(new[] { "report.csv", "report.json", "report.md" }));
        Assert.That(File.ReadAllText(Path.Combine(output, "report.md")), Does.Contain("monitoring was off (--monitor-every off)").And.Contain("no monitoring chart"));
        string[] rows = File.ReadAllLines(Path.Combine(output, "report.csv"));
        double meanLoss = File.ReadAllLines(Path.Combine(output, MetricsFiles.StepsFile)).Skip(1).Average(l => double.Parse(l.Split(',')[3], CultureInfo.InvariantCulture));
        Assert.That(rows, Has.Length.EqualTo(2));
        Assert.That(rows[1], Does.StartWith($"finetuned,0,{RunReportFiles.LossMetric},"));
        Assert.That(double.Parse(rows[1].Split(',')[3], CultureInfo.InvariantCulture), Is.EqualTo(meanLoss).Within(1e-6));
    }

    [Test]
    public void Finetune_ReportCannotBeWritten_LeavesNoFileOfItAndSaysWhich()
    {
        string output = _dir.File("run");
        var store = new ChartRefused();

        UftTests.Outcome outcome;
        using (AtomicFile.Use(store))
        {
            outcome = UftTests.Run(null, Finetune(output, 2, "--monitor-every", "2"));
        }

        Assert.That(store.Refused, Is.True, "the chart was the last file, renamed after the Markdown, CSV and JSON");
        Assert.That(outcome.ExitCode, Is.EqualTo(ExitCodes.Failure));
        Assert.That(outcome.Error, Does.Contain(Path.Combine(output, "report-monitoring.png")));
        Assert.That(Directory.GetFiles(output).Select(Path.GetFileName).Where(f => f!.StartsWith("report", StringComparison.Ordinal)), Is.Empty, "no report file, whole or partial");
        Assert.That(Directory.GetFiles(output, "*.tmp-*"), Is.Empty);
        Assert.That(File.Exists(Path.Combine(output, FinetuneCommand.ModelFile)), Is.True, "the model was saved before the report");
    }

    /// <summary>The real file system, but renaming the monitoring chart into place is refused, as a permission would be.</summary>
    private sealed class ChartRefused : IFileStore
    {
        public bool Refused { get; private set; }

        public Stream CreateNew(string path) => PhysicalFileStore.Instance.CreateNew(path);

        public void Replace(string source, string destination)
        {
            if (destination.EndsWith("report-monitoring.png", StringComparison.Ordinal))
            {
                Refused = true;
                throw new UnauthorizedAccessException($"Access to the path '{destination}' is denied.");
            }

            PhysicalFileStore.Instance.Replace(source, destination);
        }

        public void Delete(string path) => PhysicalFileStore.Instance.Delete(path);

        public IEnumerable<string> Enumerate(string directory, string pattern) => PhysicalFileStore.Instance.Enumerate(directory, pattern);
    }
}
