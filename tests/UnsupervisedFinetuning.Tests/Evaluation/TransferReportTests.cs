using System.Text.Json;
using UnsupervisedFinetuning.Evaluation;

namespace UnsupervisedFinetuning.Tests.Evaluation;

[TestFixture]
public sealed class TransferReportTests
{
    private static TransferReport Sample() => new(
    [
        new("naive UFT", 1, TransferMetrics.TargetKnn, 0.80), new("naive UFT", 2, TransferMetrics.TargetKnn, 0.84),
        new("replay", 1, TransferMetrics.TargetKnn, 0.82), new("replay", 2, TransferMetrics.TargetKnn, 0.83),
        new("naive UFT", 1, TransferMetrics.RankMe, 40), new("naive UFT", 2, TransferMetrics.RankMe, 44),
        new("replay", 1, TransferMetrics.RankMe, 50), new("replay", 2, TransferMetrics.RankMe, 52),
    ], referenceArm: "naive UFT");

    [Test]
    public void Summarize_GivesMeanAndSampleStd()
    {
        var s = Sample().Summarize("naive UFT", TransferMetrics.TargetKnn);

        Assert.That(s.Mean, Is.EqualTo(0.82).Within(1e-12));
        Assert.That(s.Std, Is.EqualTo(Math.Sqrt(0.0008)).Within(1e-12), "sqrt(((0.8−0.82)² + (0.84−0.82)²) / 1)");
        Assert.That(s.Count, Is.EqualTo(2));
    }

    [Test]
    public void PairedDifference_PairsBySeed()
    {
        var d = Sample().PairedDifference("replay", TransferMetrics.TargetKnn);

        // Seed 1: +0.02, seed 2: −0.01.
        Assert.That(d.Mean, Is.EqualTo(0.005).Within(1e-12));
        Assert.That(d.Std, Is.EqualTo(Math.Sqrt((0.015 * 0.015) + (0.015 * 0.015))).Within(1e-12));
    }

    [Test]
    public void ToMarkdown_ShowsAccuraciesInPointsAndOtherMetricsAsThey_Are()
    {
        string md = Sample().ToMarkdown();

        Assert.That(md, Does.Contain("| naive UFT | 82.0 ± 2.8 | 42.000 ± 2.828 |"));
        Assert.That(md, Does.Contain("| replay | +0.5 ± 2.1 | +9.000 ± 1.414 |"));
    }

    [Test]
    public void ToCsvAndJson_RoundTripTheMeasurements()
    {
        var report = new TransferReport([new("arm, with comma", 3, "metric \"quoted\"", 0.5)], "arm, with comma");

        Assert.That(report.ToCsv(), Is.EqualTo("arm,seed,metric,value\n\"arm, with comma\",3,\"metric \"\"quoted\"\"\",0.5\n"));
        using var json = JsonDocument.Parse(report.ToJson());
        Assert.That(json.RootElement.GetProperty("measurements")[0].GetProperty("value").GetDouble(), Is.EqualTo(0.5));
    }

    [Test]
    public void Write_CreatesTheThreeFilesAndNoTemporaries()
    {
        using var dir = new TempDirectory();

        var written = Sample().Write(dir.Path, "quickstart");

        Assert.That(written.Select(Path.GetFileName), Is.EquivalentTo(new[] { "quickstart.md", "quickstart.csv", "quickstart.json" }));
        Assert.That(Directory.GetFiles(dir.Path), Has.Length.EqualTo(3));
    }

    [Test]
    public void Constructor_DuplicateMeasurement_IsRejected()
    {
        var e = Assert.Throws<ArgumentException>(() => _ = new TransferReport([new("a", 1, "m", 1), new("a", 1, "m", 2)], "a"));

        Assert.That(e!.Message, Does.Contain("measured twice"));
    }
}
