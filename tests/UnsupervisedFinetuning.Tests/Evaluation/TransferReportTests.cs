using System.Text.Json;
using UnsupervisedFinetuning.Evaluation;
using UnsupervisedFinetuning.Reporting;

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
    public void ParetoFront_KeepsTheUndominatedMeans_TiesIncluded_NaNLeftOut()
    {
        static IEnumerable<TransferMeasurement> Arm(string arm, double target, double retention) =>
            [new(arm, 1, TransferMetrics.TargetKnn, target), new(arm, 1, TransferMetrics.SourceKnn, retention)];
        var report = new TransferReport(
        [
            .. Arm("a", 0.90, 0.80), .. Arm("b", 0.80, 0.90), .. Arm("a twin", 0.90, 0.80), // a and its twin: neither beats the other
            .. Arm("dominated", 0.85, 0.79), .. Arm("weakly dominated", 0.80, 0.85), .. Arm("no number", double.NaN, 0.95),
        ], "a");

        var front = TransferChart.ParetoFront(report);

        Assert.That(front, Is.EqualTo(new[] { "b", "a", "a twin" }), "by target kNN, ascending");
        using var dir = new TempDirectory();
        Assert.That(File.Exists(TransferChart.WritePng(report, Path.Combine(dir.Path, "front.png"), paretoFront: true)), Is.True);
    }

    [Test]
    public void WriteWithChart_WithTargetAndRetention_AddsTheTradeOffChart()
    {
        using var dir = new TempDirectory();
        var report = new TransferReport(
        [
            new("naive UFT", 1, TransferMetrics.TargetKnn, 0.92), new("naive UFT", 2, TransferMetrics.TargetKnn, 0.93),
            new("naive UFT", 1, TransferMetrics.SourceKnn, 0.82), new("naive UFT", 2, TransferMetrics.SourceKnn, 0.83),
            new("replay", 1, TransferMetrics.TargetKnn, 0.91), new("replay", 2, TransferMetrics.TargetKnn, 0.92),
            new("replay", 1, TransferMetrics.SourceKnn, 0.85), new("replay", 2, TransferMetrics.SourceKnn, 0.86),
        ], "naive UFT", "trade-off");

        var written = report.WriteWithChart(dir.Path);

        Assert.That(written.Select(Path.GetFileName), Is.EquivalentTo(new[] { "report.md", "report.csv", "report.json", "report.png" }));
        Assert.That(Directory.GetFiles(dir.Path), Has.Length.EqualTo(4), "no temporaries left behind");
        using var png = SkiaSharp.SKBitmap.Decode(Path.Combine(dir.Path, "report.png"));
        Assert.That(png, Is.Not.Null, "a PNG SkiaSharp can decode");
        Assert.That((png.Width, png.Height), Is.EqualTo((TransferChart.Width, TransferChart.Height)));
        var colours = png.Pixels.ToHashSet();
        // One marker per arm in the Category10 palette: #1f77b4 (first arm), #ff7f0e (second).
        Assert.That(colours, Does.Contain(new SkiaSharp.SKColor(0x1f, 0x77, 0xb4)), "the first arm's marker is drawn");
        Assert.That(colours, Does.Contain(new SkiaSharp.SKColor(0xff, 0x7f, 0x0e)), "the second arm's marker is drawn");
    }

    [Test]
    public void WritePng_NoArmHasBothMetrics_NamesThem()
    {
        using var dir = new TempDirectory();

        var e = Assert.Throws<ArgumentException>(() => TransferChart.WritePng(Sample(), Path.Combine(dir.Path, "x.png")));

        Assert.That(e!.Message, Does.Contain(TransferMetrics.TargetKnn).And.Contain(TransferMetrics.SourceKnn));
        Assert.That(Directory.GetFiles(dir.Path), Is.Empty);
    }

    [Test]
    public void Files_UnderACultureWithAUnicodeMinus_HoldOnlyAsciiMinus()
    {
        // A negative seed, a negative paired difference (replay − naive = −2.0 points), negative uniformity and a monitor history.
        var report = new TransferReport(
        [
            new("naive UFT", -1, TransferMetrics.TargetKnn, 0.92), new("replay", -1, TransferMetrics.TargetKnn, 0.90),
            new("naive UFT", -1, TransferMetrics.Uniformity, -1.6), new("replay", -1, TransferMetrics.Uniformity, -1.5),
        ], "naive UFT");
        report.Monitoring.Add(new MonitorTrace("replay", -1, [new MonitorPoint { Step = 0, Target = new LabelFreeMonitors(10, -1.25, 0.3), Score = 1.25, Seconds = 0.1 }], 0));
        var unicodeMinus = (System.Globalization.CultureInfo)System.Globalization.CultureInfo.InvariantCulture.Clone();
        unicodeMinus.NumberFormat.NegativeSign = "\u2212";
        var previous = System.Globalization.CultureInfo.CurrentCulture;
        using var dir = new TempDirectory();
        try
        {
            System.Globalization.CultureInfo.CurrentCulture = unicodeMinus;
            report.Write(dir.Path);
        }
        finally
        {
            System.Globalization.CultureInfo.CurrentCulture = previous;
        }

        string md = File.ReadAllText(Path.Combine(dir.Path, "report.md"));
        Assert.That(md, Does.Contain("| replay | -2.0 | +0.100 |"), "the negative difference, ASCII minus");
        Assert.That(md, Does.Contain("Seeds: -1 ").And.Contain("0 (seed -1)"));
        foreach (string file in Directory.GetFiles(dir.Path))
        {
            Assert.That(File.ReadAllText(file), Does.Not.Contain("\u2212"), Path.GetFileName(file));
        }

        Assert.That(File.ReadAllText(Path.Combine(dir.Path, "report.csv")), Does.Contain("replay,-1,uniformity,-1.5"));
    }

    [Test]
    public void Constructor_DuplicateMeasurement_IsRejected()
    {
        var e = Assert.Throws<ArgumentException>(() => _ = new TransferReport([new("a", 1, "m", 1), new("a", 1, "m", 2)], "a"));

        Assert.That(e!.Message, Does.Contain("measured twice"));
    }
}
