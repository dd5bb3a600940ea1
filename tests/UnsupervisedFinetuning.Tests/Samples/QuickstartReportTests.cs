using UnsupervisedFinetuning.Evaluation;
using UnsupervisedFinetuning.Samples.Quickstart;

namespace UnsupervisedFinetuning.Tests.Samples;

/// <summary>The Quickstart's screen table against its report files.</summary>
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
}
