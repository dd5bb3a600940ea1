using System.Globalization;
using UnsupervisedFinetuning.Evaluation;

namespace UnsupervisedFinetuning.Tests.Evaluation;

/// <summary>One way to write a report's numbers: the same digits on screen and in every file, ASCII minus whatever the culture.</summary>
[TestFixture]
public sealed class ReportFormatTests
{
    [Test]
    public void Number_RoundsTheDecimalTheValueStandsFor()
    {
        // 1797/2000 = 89.85 %, stored as 89.849999…: "F1" printed 89.8 (the Quickstart's screen), "0.0" 89.9 (report.md).
        Assert.That((0.8985 * 100).ToString("F1", CultureInfo.InvariantCulture), Is.EqualTo("89.8"), "what the screen used to print");
        Assert.That((0.8985 * 100).ToString("0.0", CultureInfo.InvariantCulture), Is.EqualTo("89.9"), "what report.md printed");

        Assert.That(ReportFormat.Number(0.8985 * 100, 1), Is.EqualTo("89.9"));
        Assert.That(ReportFormat.Value(0.8985, TransferMetrics.TargetKnn), Is.EqualTo("89.9"));
        Assert.That(ReportFormat.Number(83.35, 1), Is.EqualTo("83.4"));
        Assert.That(ReportFormat.Number(83.35000000000001, 1), Is.EqualTo("83.4"), "the same decimal, one ulp above, rounds alike");
        Assert.That(ReportFormat.Number(-0.05, 1), Is.EqualTo("-0.1"), "half away from zero on both sides");
        Assert.That(ReportFormat.Number(2.675, 2), Is.EqualTo("2.68"));
    }

    [Test]
    public void Number_SignsDifferencesButNeverZero()
    {
        Assert.That(ReportFormat.Number(1.05, 1, signed: true), Is.EqualTo("+1.1"));
        Assert.That(ReportFormat.Number(-1.05, 1, signed: true), Is.EqualTo("-1.1"));
        Assert.That(ReportFormat.Number(-0.04, 1, signed: true), Is.EqualTo("0.0"));
        Assert.That(ReportFormat.Number(-0.04, 1), Is.EqualTo("0.0"), "no negative zero");
        Assert.That(ReportFormat.Number(double.NaN, 1), Is.EqualTo("NaN"));
    }

    [Test]
    public void Number_UnderACultureWithAUnicodeMinus_WritesAsciiMinus()
    {
        var unicodeMinus = (CultureInfo)CultureInfo.InvariantCulture.Clone();
        unicodeMinus.NumberFormat.NegativeSign = "\u2212"; // as sv-SE, fi-FI and nb-NO do
        unicodeMinus.NumberFormat.NumberDecimalSeparator = ",";
        var previous = CultureInfo.CurrentCulture;
        try
        {
            CultureInfo.CurrentCulture = unicodeMinus;
            Assert.That((-1.5).ToString(CultureInfo.CurrentCulture), Is.EqualTo("\u22121,5"), "the culture would write a Unicode minus");

            Assert.That(ReportFormat.Number(-1.5, 3), Is.EqualTo("-1.500"));
            Assert.That(ReportFormat.Value(-0.004, TransferMetrics.TargetKnn, signed: true), Is.EqualTo("-0.4"));
            Assert.That(ReportFormat.MeanStd(new Summary(-1.6031, 0.0144, 3), TransferMetrics.Uniformity), Is.EqualTo("-1.603 ± 0.014"));
        }
        finally
        {
            CultureInfo.CurrentCulture = previous;
        }
    }

    [Test]
    public void MeanStd_AccuraciesInPointsOthersAsTheyAre()
    {
        Assert.That(ReportFormat.MeanStd(new Summary(0.8985, 0.006, 3), TransferMetrics.SourceKnn), Is.EqualTo("89.9 ± 0.6"));
        Assert.That(ReportFormat.MeanStd(new Summary(81.41, 0.952, 3), TransferMetrics.RankMe), Is.EqualTo("81.410 ± 0.952"));
        Assert.That(ReportFormat.MeanStd(new Summary(0.011, 0.006, 3), TransferMetrics.TargetKnn, signed: true), Is.EqualTo("+1.1 ± 0.6"));
        Assert.That(ReportFormat.MeanStd(new Summary(0.9, double.NaN, 1), TransferMetrics.TargetKnn), Is.EqualTo("90.0"), "one seed: no std");
        Assert.That(ReportFormat.MeanStd(new Summary(double.NaN, double.NaN, 0), TransferMetrics.TargetKnn), Is.EqualTo("–"), "not measured");
    }

    [TestCase(TransferMetrics.TargetKnn, true, true)]
    [TestCase(TransferMetrics.TargetLinearProbe, true, true)]
    [TestCase(TransferMetrics.SourceKnnSelected, true, true)]
    [TestCase(TransferReport.ValidationKnnSignal, true, true)]
    [TestCase(TransferMetrics.RankMe, false, true)]
    [TestCase(TransferMetrics.SourceCka, false, true)]
    [TestCase(TransferMetrics.SourceNeighbourhoods, false, true)]
    [TestCase(TransferMetrics.Uniformity, false, false)]
    [TestCase(TransferMetrics.Alignment, false, false)]
    [TestCase("loss", false, null)]
    public void Metrics_KnowTheirUnitAndDirection(string metric, bool accuracy, bool? higherIsBetter)
    {
        Assert.That(TransferMetrics.IsAccuracy(metric), Is.EqualTo(accuracy));
        Assert.That(TransferMetrics.HigherIsBetter(metric), Is.EqualTo(higherIsBetter));
    }
}
