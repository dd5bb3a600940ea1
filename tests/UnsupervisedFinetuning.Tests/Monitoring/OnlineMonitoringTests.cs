using Microsoft.Extensions.Options;
using UnsupervisedFinetuning.Augment;
using UnsupervisedFinetuning.Data;
using UnsupervisedFinetuning.Engine;
using UnsupervisedFinetuning.Evaluation;
using UnsupervisedFinetuning.Monitoring;
using UnsupervisedFinetuning.Tests.Engine;
using static TorchSharp.torch;

namespace UnsupervisedFinetuning.Tests.Monitoring;

/// <summary>Label-free monitoring during a run, checkpoint selection and early stopping.</summary>
public sealed class OnlineMonitoringTests
{
    private static FinetuneOptions Options(int steps, int? every, Action<MonitoringOptions>? configure = null)
    {
        var options = EngineTestData.Options(steps);
        options.Monitoring.EverySteps = every;
        configure?.Invoke(options.Monitoring);
        return options;
    }

    [Test]
    public void Run_WithMonitoring_TrainsBitIdenticallyToARunWithoutIt()
    {
        // Points read no training random stream and change no weight or BatchNorm statistic.
        using var target = EngineTestData.Images(40, seed: 2);
        using var source = EngineTestData.Images(60, seed: 3, brightness: 140);
        using var labelled = Labelled(EngineTestData.Images(30, seed: 4));
        using var monitored = EngineTestData.Model(seed: 7);
        using var plain = EngineTestData.Model(seed: 7);

        var result = EngineTestData.Engine(Options(8, every: 2)).Run(new FinetuneRequest { Backbone = monitored, Target = target, SourceProbe = source, Validation = labelled });
        EngineTestData.Engine(Options(8, every: 2, m => m.Enabled = false)).Run(new FinetuneRequest { Backbone = plain, Target = target });

        Assert.That(EngineTestData.BitEqual(EngineTestData.Snapshot(monitored), EngineTestData.Snapshot(plain)), Is.True);
        Assert.That(result.Monitoring.Select(p => p.Step), Is.EqualTo(new long[] { 0, 2, 4, 6, 8 }));
        Assert.That(result.Monitoring.Select(p => p.Target.Alignment), Has.All.GreaterThan(0), "alignment is on by default");
        Assert.That(result.Monitoring.Select(p => p.ValidationKnn), Has.All.InRange(0.0, 1.0));
    }

    [Test]
    public void Points_MatchAReferenceComputedFromTheBackbonesFeatures()
    {
        // Step 0 is the pretrained backbone and the last point the finetuned one: both are recomputed here from
        // FeatureExtractor features through the public monitor and drift functions.
        using var target = EngineTestData.Images(40, seed: 5);
        using var probe = EngineTestData.Images(50, seed: 6, brightness: 150);
        using var labelled = Labelled(EngineTestData.Images(24, seed: 8));
        using var model = EngineTestData.Model(seed: 9);
        var views = AugmentationPresets.MocoV2(16, [0.5f], [0.25f]);
        Tensor Input(Tensor x) => views.Evaluate(x, 16, 16);
        using var before = FeatureExtractor.Extract(model, probe, Input);
        using var targetBefore = FeatureExtractor.Extract(model, target, Input);
        var options = Options(5, every: 10, m => m.Alignment = false);
        var engine = FinetuneEngine.Create(options, EngineTestData.Method(MethodKind.MocoV2), augmentation: views);

        var result = engine.Run(new FinetuneRequest { Backbone = model, Target = target, SourceProbe = probe, Validation = labelled });

        Assert.That(result.Monitoring.Select(p => p.Step), Is.EqualTo(new long[] { 0, 5 }), "step 0 and the last step even when the interval is longer than the run");
        using var after = FeatureExtractor.Extract(model, probe, Input);
        using var targetAfter = FeatureExtractor.Extract(model, target, Input);
        using var labelledAfter = FeatureExtractor.Extract(model, labelled, Input);
        var (start, last) = (result.Monitoring[0], result.Monitoring[1]);
        Assert.That(start.Target.RankMe, Is.EqualTo(RepresentationMonitors.RankMe(targetBefore)).Within(1e-9));
        Assert.That(start.Target.Uniformity, Is.EqualTo(RepresentationMonitors.Uniformity(targetBefore)).Within(1e-9));
        Assert.That(start.Target.Alignment, Is.Null);
        Assert.That(start.SourceDrift!.LinearCka, Is.EqualTo(1).Within(1e-9), "nothing moved yet");
        Assert.That(start.SourceDrift.NeighbourhoodPreservation, Is.EqualTo(1));
        Assert.That(last.Target.RankMe, Is.EqualTo(RepresentationMonitors.RankMe(targetAfter)).Within(1e-9));
        Assert.That(last.SourceDrift!.LinearCka, Is.EqualTo(RepresentationDrift.LinearCka(before, after)).Within(1e-9));
        Assert.That(last.SourceDrift.NeighbourhoodPreservation, Is.EqualTo(RepresentationDrift.NeighbourhoodPreservation(before, after, 10)).Within(1e-12));
        Assert.That(last.SourceDrift.LinearCka, Is.LessThan(1), "five steps at lr 0.05 move the representation");
        Assert.That(last.ValidationKnn, Is.EqualTo(new KnnClassifier().LeaveOneOutAccuracy(labelledAfter, labelled.GetLabels(), labelled.ClassCount)).Within(1e-12));
        Assert.That(last.Score, Is.EqualTo(-last.Target.Uniformity), "the default criterion is uniformity, lower is better");
    }

    [Test]
    public void RestoreBest_LoadsTheSelectedPointsWeights()
    {
        // A custom criterion that prefers earlier steps selects step 0: the restored backbone is the pretrained one.
        using var target = EngineTestData.Images(40, seed: 13);
        using var model = EngineTestData.Model(seed: 14);
        var pretrained = EngineTestData.Snapshot(model);
        var options = Options(6, every: 2, m =>
        {
            m.Criterion = MonitorCriterion.Custom;
            m.CustomScore = p => -p.Step;
            m.RestoreBest = true;
        });

        var result = EngineTestData.Engine(options).Run(new FinetuneRequest { Backbone = model, Target = target });

        Assert.That(result.Selected!.Step, Is.EqualTo(0));
        Assert.That(result.SelectedRestored, Is.True);
        Assert.That(result.Steps, Is.EqualTo(6), "without patience the run goes on");
        Assert.That(EngineTestData.BitEqual(pretrained, EngineTestData.Snapshot(model)), Is.True);
    }

    [Test]
    public void RestoreSelected_AfterEvaluatingTheLast_SwapsInTheSelectedWeights()
    {
        using var target = EngineTestData.Images(40, seed: 15);
        using var model = EngineTestData.Model(seed: 16);
        using var reference = EngineTestData.Model(seed: 16);
        // The best point is step 2 (the score peaks there): reproduce it with a 2-step run of the same settings.
        var options = Options(6, every: 2, m => { m.Criterion = MonitorCriterion.Custom; m.CustomScore = p => -Math.Abs(p.Step - 2); });
        var twoSteps = Options(6, every: 2, m => { m.Criterion = MonitorCriterion.Custom; m.CustomScore = p => -Math.Abs(p.Step - 2); m.Patience = 1; });

        var result = EngineTestData.Engine(options).Run(new FinetuneRequest { Backbone = model, Target = target });
        var last = EngineTestData.Snapshot(model);
        var stopped = EngineTestData.Engine(twoSteps).Run(new FinetuneRequest { Backbone = reference, Target = target });

        Assert.That(result.SelectedRestored, Is.False, "the last weights until asked");
        Assert.That(stopped.Steps, Is.EqualTo(4), "patience 1: the point after the best ends the run");
        result.RestoreSelected();
        result.RestoreSelected(); // idempotent
        Assert.That(EngineTestData.BitEqual(last, EngineTestData.Snapshot(model)), Is.False);
        stopped.RestoreSelected();
        Assert.That(EngineTestData.BitEqual(EngineTestData.Snapshot(reference), EngineTestData.Snapshot(model)), Is.True, "the step-2 weights of both runs");
    }

    [Test]
    public void Patience_StopsWhenTheCriterionStopsImproving()
    {
        using var target = EngineTestData.Images(40, seed: 17);
        using var model = EngineTestData.Model(seed: 18);
        var options = Options(20, every: 1, m => { m.Criterion = MonitorCriterion.Custom; m.CustomScore = p => p.Step <= 3 ? p.Step : 3 - (0.001 * p.Step); m.Patience = 4; });
        var reported = new List<FinetuneProgress>();

        var result = EngineTestData.Engine(options).Run(new FinetuneRequest { Backbone = model, Target = target }, new SynchronousProgress<FinetuneProgress>(reported.Add));

        Assert.That(result.StoppedEarly, Is.True);
        Assert.That(result.Steps, Is.EqualTo(7), "best at 3, then 4 points without improvement");
        Assert.That(result.Selected!.Step, Is.EqualTo(3));
        Assert.That(reported.Where(p => p.Monitor is not null).Select(p => p.Monitor!.Step), Is.EqualTo(new long[] { 1, 2, 3, 4, 5, 6, 7 }), "every point after a step reaches IProgress");
        Assert.That(result.Monitoring[0].Step, Is.EqualTo(0), "step 0 is in the result");
    }

    [Test]
    public void MinImprovement_SmallGainsDoNotResetPatience()
    {
        using var target = EngineTestData.Images(40, seed: 19);
        using var model = EngineTestData.Model(seed: 20);
        var options = Options(20, every: 1, m => { m.Criterion = MonitorCriterion.Custom; m.CustomScore = p => 0.01 * p.Step; m.Patience = 3; m.MinImprovement = 0.05; });

        var result = EngineTestData.Engine(options).Run(new FinetuneRequest { Backbone = model, Target = target });

        Assert.That(result.Selected!.Step, Is.EqualTo(0), "+0.01 a point never beats the best by more than 0.05");
        Assert.That(result.Steps, Is.EqualTo(3));
    }

    [Test]
    public void CancelThenResume_ContinuesTheHistoryAndTheSelectionExactly()
    {
        using var dir = new TempDirectory();
        using var target = EngineTestData.Images(40, seed: 21);
        using var source = EngineTestData.Images(30, seed: 22, brightness: 150);
        FinetuneEngine Engine()
        {
            var options = Options(8, every: 2, m => m.Criterion = MonitorCriterion.SourceCka);
            options.CheckpointDirectory = dir.Path;
            return EngineTestData.Engine(options);
        }

        using var straight = EngineTestData.Model(seed: 23);
        var whole = Engine().Run(new FinetuneRequest { Backbone = straight, Target = target, SourceProbe = source });
        using var interrupted = EngineTestData.Model(seed: 23);
        using var cts = new CancellationTokenSource();
        var cancelAt5 = new SynchronousProgress<FinetuneProgress>(p => { if (p.Step == 5) { cts.Cancel(); } });
        Assert.Throws<OperationCanceledException>(() => Engine().Run(new FinetuneRequest { Backbone = interrupted, Target = target, SourceProbe = source }, cancelAt5, cts.Token));
        using var resumed = EngineTestData.Model(seed: 99);

        var continued = Engine().Run(new FinetuneRequest { Backbone = resumed, Target = target, SourceProbe = source, ResumeFrom = Path.Combine(dir.Path, FinetuneEngine.CheckpointFileName) });

        static object Key(MonitorPoint p) => (p.Step, p.Target, p.SourceDrift, p.Score);
        Assert.That(continued.Monitoring.Select(Key), Is.EqualTo(whole.Monitoring.Select(Key)), "drift is measured against the run's start, not the resume");
        Assert.That(continued.Selected!.Step, Is.EqualTo(whole.Selected!.Step));
        whole.RestoreSelected();
        continued.RestoreSelected();
        Assert.That(EngineTestData.BitEqual(EngineTestData.Snapshot(straight), EngineTestData.Snapshot(resumed)), Is.True, "the best weights travel in the checkpoint");
    }

    [Test]
    public void Resume_AfterAnEarlyStop_EndsAtOnceWithTheSameSelection()
    {
        using var dir = new TempDirectory();
        using var target = EngineTestData.Images(40, seed: 26);
        FinetuneOptions Stopping()
        {
            var options = Options(20, every: 1, m => { m.Criterion = MonitorCriterion.Custom; m.CustomScore = p => p.Step <= 2 ? p.Step : 0; m.Patience = 2; });
            options.CheckpointDirectory = dir.Path;
            return options;
        }

        using var model = EngineTestData.Model(seed: 27);
        var first = EngineTestData.Engine(Stopping()).Run(new FinetuneRequest { Backbone = model, Target = target });
        using var again = EngineTestData.Model(seed: 60);

        var resumed = EngineTestData.Engine(Stopping()).Run(new FinetuneRequest { Backbone = again, Target = target, ResumeFrom = Path.Combine(dir.Path, FinetuneEngine.CheckpointFileName) });

        Assert.That((first.Steps, first.StoppedEarly, first.Selected!.Step), Is.EqualTo((4L, true, 2L)));
        Assert.That((resumed.Steps, resumed.StoppedEarly, resumed.Selected!.Step, resumed.Monitoring.Count), Is.EqualTo((4L, true, 2L, 5)), "no step is trained after the stop");
        Assert.That(EngineTestData.BitEqual(EngineTestData.Snapshot(model), EngineTestData.Snapshot(again)), Is.True);
    }

    [Test]
    public void Resume_WithATamperedMonitorSection_IsRefusedAndChangesNothing()
    {
        using var dir = new TempDirectory();
        using var target = EngineTestData.Images(40, seed: 28);
        var options = Options(4, every: 2);
        options.CheckpointDirectory = dir.Path;
        using (var model = EngineTestData.Model(seed: 29))
        {
            EngineTestData.Engine(options).Run(new FinetuneRequest { Backbone = model, Target = target });
        }

        string path = Path.Combine(dir.Path, FinetuneEngine.CheckpointFileName);
        byte[] good = File.ReadAllBytes(path);
        string bestMissing = Path.Combine(dir.Path, "best-step.checkpoint");
        File.WriteAllBytes(bestMissing, RewriteHeader(good, header => header.Replace("\"BestStep\":", "\"BestStep\":9", StringComparison.Ordinal)));
        string trailing = Path.Combine(dir.Path, "trailing.checkpoint");
        File.WriteAllBytes(trailing, EngineCheckpoint.Restamp([.. good[..^32], 1, 2, 3, .. good[^32..]]));
        using var resumed = EngineTestData.Model(seed: 30);
        var before = EngineTestData.Snapshot(resumed);

        var wrongBest = Assert.Throws<InvalidDataException>(() => EngineTestData.Engine(options).Run(new FinetuneRequest { Backbone = resumed, Target = target, ResumeFrom = bestMissing }))!;
        var extra = Assert.Throws<InvalidDataException>(() => EngineTestData.Engine(options).Run(new FinetuneRequest { Backbone = resumed, Target = target, ResumeFrom = trailing }))!;

        Assert.That(wrongBest.Message, Does.StartWith(bestMissing).And.Contain("monitor section is corrupt").And.Contain("best step 9"));
        Assert.That(extra.Message, Does.StartWith(trailing).And.Contain("3 bytes follow the last section"));
        Assert.That(EngineTestData.BitEqual(before, EngineTestData.Snapshot(resumed)), Is.True, "the caller's backbone is untouched");
    }

    [Test]
    public void CollapsedBackbone_IsReportedNotFatal()
    {
        // Every weight zero: the features are all zero, RankMe and CKA are undefined (NaN); the run goes on.
        using var target = EngineTestData.Images(40, seed: 31);
        using var probe = EngineTestData.Images(30, seed: 32, brightness: 150);
        using var model = EngineTestData.Model(seed: 33);
        using (no_grad())
        {
            foreach (var parameter in model.parameters())
            {
                parameter.zero_();
            }
        }

        var result = EngineTestData.Engine(Options(2, every: 1, m => m.Criterion = MonitorCriterion.SourceCka)).Run(new FinetuneRequest { Backbone = model, Target = target, SourceProbe = probe });

        Assert.That(result.Steps, Is.EqualTo(2));
        Assert.That(result.Monitoring[0].SourceDrift!.LinearCka, Is.NaN);
        Assert.That(result.Monitoring[0].Target.RankMe, Is.NaN);
        Assert.That(result.Selected!.Step, Is.EqualTo(0), "NaN everywhere: the first point stays the best");
    }

    /// <summary>The checkpoint with its JSON header passed through <paramref name="edit"/> (magic, version, header are BinaryWriter fields).</summary>
    private static byte[] RewriteHeader(byte[] checkpoint, Func<string, string> edit)
    {
        using var reader = new BinaryReader(new MemoryStream(checkpoint));
        string magic = reader.ReadString();
        int version = reader.ReadInt32();
        string header = reader.ReadString();
        byte[] rest = reader.ReadBytes(checkpoint.Length);
        var output = new MemoryStream();
        using (var writer = new BinaryWriter(output))
        {
            writer.Write(magic);
            writer.Write(version);
            writer.Write(edit(header));
            writer.Write(rest);
        }

        return EngineCheckpoint.Restamp(output.ToArray()); // the forged field, not the checksum, is what must be refused
    }

    [Test]
    public void Criterion_NeedingDataTheRequestLacks_IsRefusedBeforeAnythingChanges()
    {
        using var target = EngineTestData.Images(40, seed: 24);
        using var model = EngineTestData.Model(seed: 25);
        var before = EngineTestData.Snapshot(model);

        var drift = Assert.Throws<ArgumentException>(() => EngineTestData.Engine(Options(2, every: 1, m => m.Criterion = MonitorCriterion.SourceNeighbourhoods)).Run(new FinetuneRequest { Backbone = model, Target = target }))!;
        var knn = Assert.Throws<ArgumentException>(() => EngineTestData.Engine(Options(2, every: 1, m => m.Criterion = MonitorCriterion.ValidationKnn)).Run(new FinetuneRequest { Backbone = model, Target = target }))!;

        Assert.That(drift.Message, Does.Contain("SourceNeighbourhoods").And.Contain("SourceProbe"));
        Assert.That(knn.Message, Does.Contain("ValidationKnn").And.Contain("FinetuneRequest.Validation"));
        Assert.That(EngineTestData.BitEqual(before, EngineTestData.Snapshot(model)), Is.True);
    }

    [Test]
    public void InvalidMonitoringOptions_AreNamedWithTheirPath()
    {
        var options = Options(2, every: 0, m => { m.ProbeImages = 1; m.Criterion = MonitorCriterion.Custom; m.Patience = 0; m.MinImprovement = double.NaN; });

        var e = Assert.Throws<OptionsValidationException>(() => EngineTestData.Engine(options))!;

        Assert.That(e.Failures, Has.Some.StartsWith("FinetuneOptions.Monitoring.EverySteps is 0"));
        Assert.That(e.Failures, Has.Some.StartsWith("FinetuneOptions.Monitoring.ProbeImages is 1"));
        Assert.That(e.Failures, Has.Some.StartsWith("FinetuneOptions.Monitoring.CustomScore is null"));
        Assert.That(e.Failures, Has.Some.StartsWith("FinetuneOptions.Monitoring.Patience is 0"));
        Assert.That(e.Failures, Has.Some.StartsWith("FinetuneOptions.Monitoring.MinImprovement is NaN"));
    }

    [TestCase(1024L, 128, 500L)]
    [TestCase(768L, 64, 2000L)]
    [TestCase(256L, 16, 12L)]
    [TestCase(40L, 256, 100_000L)]
    public void AutomaticInterval_IsTheSmallestWithinFivePercent(long imagesPerPoint, int batch, long steps)
    {
        // Closed form: points at 0, N, 2N, … and the last step cost (⌊T/N⌋ + 2)·M at most, training 3·B·T.
        static double Share(long m, int b, long t, int n) => (((double)t / n) + 2) * m / (3.0 * b * t);
        int interval = OnlineMonitor.AutomaticInterval(imagesPerPoint, batch, steps);

        if (interval < steps)
        {
            Assert.That(Share(imagesPerPoint, batch, steps, interval), Is.LessThanOrEqualTo(MonitoringOptions.AutomaticBudget + 1e-12));
            Assert.That(interval == 1 || Share(imagesPerPoint, batch, steps, interval - 1) > MonitoringOptions.AutomaticBudget, Is.True, "the smallest such interval");
        }
        else
        {
            Assert.That(Share(imagesPerPoint, batch, steps, (int)steps - 1), Is.GreaterThan(MonitoringOptions.AutomaticBudget), "no shorter interval fits: only the end points are measured");
        }
    }

    /// <summary>Images with 3 labels by brightness of their rectangle position (any fixed labelling works for the monitor).</summary>
    private static InMemoryLabeledImageDataset Labelled(InMemoryImageDataset images)
    {
        using (images)
        {
            var pixels = images.GetBatch(Enumerable.Range(0, images.Count).ToArray());
            int[] labels = Enumerable.Range(0, images.Count).Select(i => i % 3).ToArray();
            return new InMemoryLabeledImageDataset(pixels.clone(), labels, 3);
        }
    }
}
