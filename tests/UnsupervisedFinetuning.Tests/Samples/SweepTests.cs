using UnsupervisedFinetuning.Evaluation;
using UnsupervisedFinetuning.Replay;
using UnsupervisedFinetuning.Samples.Quickstart;

namespace UnsupervisedFinetuning.Tests.Samples;

/// <summary>The Quickstart's --sweep: its arms, its arguments, and the analysis it writes from saved runs.</summary>
[TestFixture]
public sealed class SweepTests
{
    private TempDirectory _dir = null!;

    [SetUp]
    public void SetUp() => _dir = new TempDirectory();

    [TearDown]
    public void TearDown() => _dir.Dispose();

    private Settings Parse(params string[] args) => QuickstartCommandLine.Parse([.. args, "--out", Path.Combine(_dir.Path, "out")]).Settings!;

    [Test]
    public void Arguments_SweepPartsAndConflicts()
    {
        Assert.That(Parse("--sweep").Sweep, Is.EqualTo("all"));
        Assert.That(Parse("--sweep", "--sweep-part", "rules").Sweep, Is.EqualTo("rules"));
        Assert.That(Parse().Sweep, Is.Null);
        Assert.That(QuickstartCommandLine.Parse(["--sweep", "--study", "--out", _dir.Path]).Errors, Does.Contain("Give --sweep or --study, not both."));
        Assert.That(QuickstartCommandLine.Parse(["--sweep", "--sweep-part", "half", "--out", _dir.Path]).Errors.Single(), Does.Contain("--sweep-part must be all, grid or rules; got 'half'"));
    }

    [Test]
    public void Arms_GridAndRules_AtEqualCompute()
    {
        var arms = Arm.Sweep(Parse("--sweep"), grid: true, rules: true);

        Assert.That(arms, Has.Count.EqualTo(17), "the pretrained backbone, 5 ratios × 2 mixing, 3 rules × 2 mixing");
        Assert.That(arms.Select(a => a.Name), Is.Unique);
        Assert.That(arms.Where(a => a.Train).Select(a => a.Steps(Parse("--sweep"))), Is.All.EqualTo(500));
        Assert.That(arms.Count(a => a.Train && a.Selection == ReplaySelection.Uniform), Is.EqualTo(10));
        Assert.That(arms.Single(a => a.Name == "replay 0.25 coverage + mixing"), Is.EqualTo(new Arm("replay 0.25 coverage + mixing", true, true, true, 0.25, ReplaySelection.Coverage)));
        Assert.That(((SparseSourceReplay)arms.Single(a => a.Name == "replay 0.5 uniform").ReplaySampler(Parse("--sweep"))).Settings["Ratio"], Is.EqualTo("0.5"));
        Assert.That(Arm.Sweep(Parse("--sweep"), grid: false, rules: true), Has.Count.EqualTo(7));
    }

    [Test]
    public void Analysis_PairsRulesWithUniform_MarksTheFront_AndScoresTheAutomaticChoices()
    {
        var settings = Parse("--sweep", "--seeds", "0,1");
        var arms = Arm.Sweep(settings, grid: true, rules: true);
        var rows = new List<TransferMeasurement>();
        void Run(string arm, long seed, double target, double retention, double validation, double uniformity)
        {
            rows.Add(new(arm, seed, TransferMetrics.TargetKnn, target));
            rows.Add(new(arm, seed, TransferMetrics.SourceKnn, retention));
            rows.Add(new(arm, seed, SweepAnalysis.ValidationKnn, validation));
            rows.Add(new(arm, seed, TransferMetrics.Uniformity, uniformity));
        }

        foreach (long seed in (long[])[0, 1])
        {
            foreach (var arm in arms)
            {
                // A made-up trade-off: more replay, less target and more retention; mixing costs 1 point of target.
                double ratio = arm.Ratio ?? 0;
                double target = 0.90 - (0.02 * ratio) - (arm.Mixing ? 0.01 : 0) + (0.001 * seed);
                Run(arm.Name, seed, target, 0.80 + (0.04 * ratio), target, -1 - ratio);
            }

            // Coverage beats uniform at 0.25 by exactly 1 point of target kNN and 2 of retention, on each seed.
            rows.RemoveAll(m => m.Arm == "replay 0.25 coverage" && m.Seed == seed && m.Metric is TransferMetrics.TargetKnn or TransferMetrics.SourceKnn);
            rows.Add(new("replay 0.25 coverage", seed, TransferMetrics.TargetKnn, 0.90 - 0.005 + 0.01 + (0.001 * seed)));
            rows.Add(new("replay 0.25 coverage", seed, TransferMetrics.SourceKnn, 0.80 + 0.01 + 0.02));
        }

        // Short trials: uniformity is lowest for ratio 0.5 on both seeds; leave-one-out kNN is best for ratio 0.1.
        var trials = (long[])[0, 1];
        var searches = trials.SelectMany(seed => arms.Where(a => a.Train && a.Selection == ReplaySelection.Uniform)
            .Select(a => new SearchTrial(seed, a.Name, 100, a.Name == "replay 0.5 uniform" ? -3 : -1, 10, a.Name == "replay 0.1 uniform" ? 0.9 : 0.5, 1))).ToList();

        var files = SweepAnalysis.Write(_dir.Path, arms, rows, searches, settings, "Settings: test.");

        string md = File.ReadAllText(files[0]);
        Assert.That(md, Does.Contain("| coverage | off | 2 | +1.0 ± 0.0 | +2.0 ± 0.0 |"));
        Assert.That(md, Does.Contain("| target-nearest | off | 2 | 0.0 ± 0.0 | 0.0 ± 0.0 |"));
        // (90.5 + 90.6) / 2 = 90.55, stored as 90.549999…: rounded as report.md rounds it (ReportFormat), not down.
        Assert.That(md, Does.Contain("| ◆ replay 0.25 coverage | 2 | 90.6 ± 0.1 | 83.0 ± 0.0 |"), "the most target kNN");
        Assert.That(md, Does.Contain("| ◆ replay 1 uniform | 2 | 88.1 ± 0.1 | 84.0 ± 0.0 |"), "the most retention");
        Assert.That(md, Does.Not.Contain("\u2212"), "ASCII minus only: the file pastes into a spreadsheet");
        Assert.That(md, Does.Contain("| replay 0 | 2 |").And.Contain("| replay 0.25 uniform | 2 |"), "both dominated by coverage");
        // Validation kNN tracks test kNN here, so its pick is the best grid arm (replay 0); uniformity (lower is better) picks ratio 1.
        Assert.That(md, Does.Contain("| validation-split kNN (the reference) | 500 labelled target images | replay 0; replay 0 | 90.1 ± 0.1 |"));
        Assert.That(md, Does.Contain("| uniformity of the final backbone | none | replay 1 uniform; replay 1 uniform | 88.1 ± 0.1 | 84.0 ± 0.0 | +2.0 ± 0.0 |"));
        Assert.That(md, Does.Contain("| uniformity (FinetuneSearch's label-free default) | none | replay 0.5 uniform; replay 0.5 uniform | 89.1 ± 0.1 | 82.0 ± 0.0 | +1.0 ± 0.0 |"));
        Assert.That(md, Does.Contain("| leave-one-out kNN | 20 a class (100) | replay 0.1 uniform; replay 0.1 uniform | 89.9 ± 0.1 | 80.4 ± 0.0 | +0.2 ± 0.0 |"));
        using var png = SkiaSharp.SKBitmap.Decode(files[1]);
        Assert.That((png.Width, png.Height), Is.EqualTo((1100, 700)));
    }
}
