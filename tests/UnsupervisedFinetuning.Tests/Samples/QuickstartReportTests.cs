using UnsupervisedFinetuning.Evaluation;
using UnsupervisedFinetuning.Samples.Quickstart;

namespace UnsupervisedFinetuning.Tests.Samples;

/// <summary>The Quickstart's screen table against its report files, and --render-only's saved report.</summary>
[TestFixture]
public sealed class QuickstartReportTests
{
    private TempDirectory _dir = null!;

    [SetUp]
    public void SetUp() => _dir = new TempDirectory();

    [TearDown]
    public void TearDown() => _dir.Dispose();

    [Test]
    public void ScreenCell_ShowsTheDigitsOfReportMd()
    {
        // Regression: 0.8985 (1797 of 2000) printed 89.8 on screen ("F1" on 89.849999…) and 89.9 in report.md.
        var report = new TransferReport(
        [
            new("pretrained only", 0, TransferMetrics.TargetKnn, 0.8985), new("pretrained only", 1, TransferMetrics.TargetKnn, 0.8985),
            new("naive UFT", 0, TransferMetrics.TargetKnn, 0.9055), new("naive UFT", 1, TransferMetrics.TargetKnn, 0.9015),
        ], "naive UFT");

        string screen = QuickstartRun.Cell(report, "pretrained only", TransferMetrics.TargetKnn);

        Assert.That(screen, Is.EqualTo("89.9 ± 0.0 (Δ -0.5)"));
        Assert.That(report.ToMarkdown(), Does.Contain("| pretrained only | 89.9 ± 0.0 |").And.Contain("| pretrained only | -0.5 ± 0.3 |"));
    }

    [Test]
    public void SavedReport_ReadBack_WritesTheSameFiles()
    {
        var report = new TransferReport(
        [
            new("pretrained only", 0, TransferMetrics.TargetKnn, 0.8985), new("naive UFT", 0, TransferMetrics.TargetKnn, 0.9055),
            new("naive UFT", 0, TransferMetrics.Uniformity, -1.5987863920584235), new("naive UFT", 1, TransferMetrics.TargetKnn, 0.9015),
        ], "naive UFT", "Unsupervised finetuning, far pairing");
        report.Notes.Add("Pairing: far: Fashion-MNIST classes 0–4 → MNIST digits.");
        report.Monitoring.Add(new MonitorTrace("naive UFT", 0,
        [
            new MonitorPoint { Step = 0, Target = new LabelFreeMonitors(77.4, -1.13, 0.298), SourceDrift = new DriftMeasurement(0.9999999999999993, 1, 256, 10), ValidationKnn = 0.73, Score = 1.13, Seconds = 0.25 },
            new MonitorPoint { Step = 86, Target = new LabelFreeMonitors(double.NaN, -1.5, null), Score = double.NaN, Seconds = 3.5 }, // collapsed; no alignment, no drift
        ], 0));
        report.Monitoring.Add(new MonitorTrace("naive UFT", 1, [], null));
        File.WriteAllText(Path.Combine(_dir.Path, "report.json"), report.ToJson());

        var read = SavedReport.Read(Path.Combine(_dir.Path, "report.json"));

        Assert.That(read.ToJson(), Is.EqualTo(report.ToJson()));
        Assert.That(read.ToMarkdown(), Is.EqualTo(report.ToMarkdown()));
        Assert.That(read.ToCsv(), Is.EqualTo(report.ToCsv()));
        Assert.That(read.MonitoringToCsv(), Is.EqualTo(report.MonitoringToCsv()));
    }

    [Test]
    public void SavedReport_NotAReport_IsInvalidDataNamingTheFile()
    {
        string path = Path.Combine(_dir.Path, "report.json");
        File.WriteAllText(path, "{\"title\": \"x\"}");

        var e = Assert.Throws<InvalidDataException>(() => SavedReport.Read(path))!;

        Assert.That(e.Message, Does.StartWith(path));
    }

    [Test]
    public void RenderOnly_NeedsASavedReportAndNoOtherMode()
    {
        string output = Path.Combine(_dir.Path, "out");

        Assert.That(QuickstartCommandLine.Parse(["--render-only", "--out", output]).Errors.Single(), Does.Contain("report.json does not exist"));
        Directory.CreateDirectory(output);
        File.WriteAllText(Path.Combine(output, "report.json"), "{}");
        Assert.That(QuickstartCommandLine.Parse(["--render-only", "--out", output]).Settings!.RenderOnly, Is.True);
        Assert.That(QuickstartCommandLine.Parse(["--render-only", "--sweep", "--out", output]).Errors.Single(), Does.StartWith("--render-only rewrites the five-arm report"));
        Assert.That(QuickstartCommandLine.Parse(["--out", output]).Settings!.RenderOnly, Is.False);
    }
}
