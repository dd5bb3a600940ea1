using Microsoft.Extensions.Options;
using UnsupervisedFinetuning.Engine;
using UnsupervisedFinetuning.Mixing;
using UnsupervisedFinetuning.Objectives;
using UnsupervisedFinetuning.Replay;
using static TorchSharp.torch;

namespace UnsupervisedFinetuning.Tests.Engine;

[TestFixture]
public sealed class FinetuneEngineTests
{
    [Test]
    public void Run_SimClrOnStructuredImages_LossFalls()
    {
        using var target = EngineTestData.Images(64, seed: 1);
        using var model = EngineTestData.Model();
        var options = EngineTestData.Options(ObjectiveKind.SimClr, steps: 160);
        options.LearningRate = 0.3;
        options.Temperature = 0.2;
        var losses = new List<double>();

        var result = FinetuneEngine.Create(options).Run(
            new FinetuneRequest { Backbone = model, Target = target },
            new SynchronousProgress<FinetuneProgress>(p => losses.Add(p.Loss)));

        Assert.That(result.Steps, Is.EqualTo(160));
        Assert.That(result.History, Has.Count.EqualTo(40), "4 steps per epoch over 160 steps");
        double first = losses.Take(16).Average();
        double last = losses.TakeLast(16).Average();
        double Sd(IEnumerable<double> xs) { var a = xs.ToArray(); double m = a.Average(); return Math.Sqrt(a.Sum(x => (x - m) * (x - m)) / (a.Length - 1)); }
        double noise = Math.Sqrt((Math.Pow(Sd(losses.Take(16)), 2) + Math.Pow(Sd(losses.TakeLast(16)), 2)) / 16);
        TestContext.Out.WriteLine($"first {first:F3} last {last:F3} noise {noise:F4}");
        // The drop must be far outside step-to-step noise (standard error of the difference of the two means).
        Assert.That(first - last, Is.GreaterThan(6 * noise), $"mean loss of the first 16 steps {first:F3}, of the last 16 {last:F3}, standard error {noise:F4}");
        Assert.That(last, Is.LessThan(Math.Log((2 * 16) - 1)), "below the loss of embeddings that carry no information, ln(2B − 1)");
    }

    [TestCase(ObjectiveKind.MocoV2)]
    [TestCase(ObjectiveKind.SimClr)]
    [TestCase(ObjectiveKind.Byol)]
    public void Run_EveryObjective_ChangesTheBackboneAndReportsCompute(ObjectiveKind objective)
    {
        using var target = EngineTestData.Images(48, seed: 2);
        using var model = EngineTestData.Model();
        var before = EngineTestData.Snapshot(model);

        var result = FinetuneEngine.Create(EngineTestData.Options(objective, steps: 6)).Run(new FinetuneRequest { Backbone = model, Target = target });

        Assert.That(result.History.All(e => double.IsFinite(e.MeanLoss)), Is.True);
        Assert.That(EngineTestData.BitEqual(before, EngineTestData.Snapshot(model)), Is.False);
        long expectedQueries = objective == ObjectiveKind.Byol ? 2 * 6 * 16 : 6 * 16; // BYOL's symmetric loss takes a second query pass
        Assert.That(result.QueryImagePasses, Is.EqualTo(expectedQueries));
        Assert.That(result.Predictor is null, Is.EqualTo(objective != ObjectiveKind.Byol));
    }

    [Test]
    public void Run_MixingInAddMode_ChargesTheSecondQueryPass()
    {
        using var target = EngineTestData.Images(48, seed: 2);
        using var model = EngineTestData.Model();
        var options = EngineTestData.Options(steps: 5);
        options.Mixing = new MixingOptions { Mode = MixingMode.Mixup, Compute = MixingCompute.Add };

        var result = FinetuneEngine.Create(options).Run(new FinetuneRequest { Backbone = model, Target = target });

        Assert.That(result.QueryImagePasses, Is.EqualTo(2 * 5 * 16));
    }

    [Test]
    public void Run_WithReplay_ReportsTheSubsetAndTrainsOnBothSets()
    {
        using var target = EngineTestData.Images(48, seed: 3);
        using var source = EngineTestData.Images(500, seed: 4, brightness: 120);
        using var model = EngineTestData.Model();
        var options = EngineTestData.Options(steps: 4);
        options.Replay = new ReplayOptions { Mode = ReplayMode.Sparse, Ratio = 0.25, Composition = ReplayComposition.FixedShare };

        var result = FinetuneEngine.Create(options).Run(new FinetuneRequest { Backbone = model, Target = target, Source = source });

        Assert.That(result.ReplayedSourceIndices, Has.Count.EqualTo(12));
        Assert.That(result.ReplayedSourceIndices, Is.Unique.And.Ordered);
    }

    [Test]
    public void Run_ReplayWithoutSourceSet_IsAClearError()
    {
        using var target = EngineTestData.Images(48);
        using var model = EngineTestData.Model();
        var options = EngineTestData.Options();
        options.Replay = new ReplayOptions { Mode = ReplayMode.Sparse };

        var e = Assert.Throws<ArgumentException>(() => FinetuneEngine.Create(options).Run(new FinetuneRequest { Backbone = model, Target = target }));

        Assert.That(e!.Message, Does.Contain("needs a source dataset"));
    }

    [Test]
    public void Run_CancelledMidway_StopsAfterTheCurrentStepAndCheckpointsIt()
    {
        using var dir = new TempDirectory();
        using var target = EngineTestData.Images(64, seed: 5);
        using var model = EngineTestData.Model();
        var options = EngineTestData.Options(steps: 20);
        options.CheckpointDirectory = dir.Path;
        using var cts = new CancellationTokenSource();
        long lastReported = 0;
        var progress = new SynchronousProgress<FinetuneProgress>(p =>
        {
            lastReported = p.Step;
            if (p.Step == 5)
            {
                cts.Cancel();
            }
        });

        Assert.Throws<OperationCanceledException>(() => FinetuneEngine.Create(options).Run(new FinetuneRequest { Backbone = model, Target = target }, progress, cts.Token));

        Assert.That(lastReported, Is.EqualTo(5), "no step starts after cancellation");
        var header = EngineCheckpoint.ReadHeader(Path.Combine(dir.Path, EngineCheckpoint.FileName));
        Assert.That(header.Step, Is.EqualTo(5));
        Assert.That(Directory.GetFiles(dir.Path), Has.Length.EqualTo(1), "no temporary file is left behind");
    }

    [TestCase(ObjectiveKind.MocoV2, MixingMode.Mixup, ReplayComposition.Union)]
    [TestCase(ObjectiveKind.Byol, MixingMode.CutMix, ReplayComposition.FixedShare)]
    public void CancelThenResume_GivesBitIdenticalWeightsToAnUninterruptedRun(ObjectiveKind objective, MixingMode mixing, ReplayComposition composition)
    {
        using var dir = new TempDirectory();
        using var target = EngineTestData.Images(40, seed: 6);
        using var source = EngineTestData.Images(200, seed: 7, brightness: 140);
        FinetuneOptions Options()
        {
            var o = EngineTestData.Options(objective, steps: 9);
            o.Replay = new ReplayOptions { Mode = ReplayMode.Sparse, Ratio = 0.3, Composition = composition };
            o.Mixing = new MixingOptions { Mode = mixing, Probability = 0.7 };
            o.CheckpointDirectory = dir.Path;
            return o;
        }

        // Uninterrupted run.
        using var straight = EngineTestData.Model(seed: 11);
        var straightResult = FinetuneEngine.Create(Options()).Run(new FinetuneRequest { Backbone = straight, Target = target, Source = source });
        var expectedBackbone = EngineTestData.Snapshot(straight);
        var expectedHead = EngineTestData.Snapshot(straightResult.Head);

        // Interrupted after 4 steps (crossing an epoch boundary), then resumed into a differently initialised model.
        using var interrupted = EngineTestData.Model(seed: 11);
        using var cts = new CancellationTokenSource();
        var cancelAt4 = new SynchronousProgress<FinetuneProgress>(p => { if (p.Step == 4) { cts.Cancel(); } });
        Assert.Throws<OperationCanceledException>(() => FinetuneEngine.Create(Options()).Run(new FinetuneRequest { Backbone = interrupted, Target = target, Source = source }, cancelAt4, cts.Token));

        using var resumed = EngineTestData.Model(seed: 99);
        var resumedResult = FinetuneEngine.Create(Options()).Run(new FinetuneRequest
        {
            Backbone = resumed,
            Target = target,
            Source = source,
            ResumeFrom = Path.Combine(dir.Path, EngineCheckpoint.FileName),
        });

        Assert.That(resumedResult.Steps, Is.EqualTo(9));
        Assert.That(EngineTestData.BitEqual(expectedBackbone, EngineTestData.Snapshot(resumed)), Is.True, "backbone weights and BatchNorm statistics");
        Assert.That(EngineTestData.BitEqual(expectedHead, EngineTestData.Snapshot(resumedResult.Head)), Is.True, "head weights");
        Assert.That(resumedResult.ReplayedSourceIndices, Is.EqualTo(straightResult.ReplayedSourceIndices));
        Assert.That(resumedResult.QueryImagePasses, Is.EqualTo(straightResult.QueryImagePasses));
    }

    [TestCase("batch", "BatchSize = 16", "BatchSize = 8")]
    [TestCase("alpha", "MixingAlpha = 1", "MixingAlpha = 0.5")]
    [TestCase("temperature", "Temperature = 0.2", "Temperature = 0.1")]
    public void Resume_WithOtherOptions_NamesTheDifference(string change, string before, string after)
    {
        using var dir = new TempDirectory();
        using var target = EngineTestData.Images(48, seed: 8);
        using var model = EngineTestData.Model();
        var options = EngineTestData.Options(steps: 3);
        options.Mixing = new MixingOptions { Mode = MixingMode.Mixup, Alpha = 1 };
        options.Temperature = 0.2;
        options.CheckpointDirectory = dir.Path;
        FinetuneEngine.Create(options).Run(new FinetuneRequest { Backbone = model, Target = target });
        var other = EngineTestData.Options(steps: 3);
        other.Mixing = new MixingOptions { Mode = MixingMode.Mixup, Alpha = 1 };
        other.Temperature = 0.2;
        switch (change)
        {
            case "batch": other.BatchSize = 8; break;
            case "alpha": other.Mixing.Alpha = 0.5; break;
            default: other.Temperature = 0.1; break;
        }

        var e = Assert.Throws<InvalidDataException>(() => FinetuneEngine.Create(other).Run(new FinetuneRequest
        {
            Backbone = model,
            Target = target,
            ResumeFrom = Path.Combine(dir.Path, EngineCheckpoint.FileName),
        }));

        Assert.That(e!.Message, Does.Contain(before).And.Contain(after));
    }

    [Test]
    public void Resume_FromATruncatedCheckpoint_NamesTheFile()
    {
        using var dir = new TempDirectory();
        using var target = EngineTestData.Images(48, seed: 9);
        using var model = EngineTestData.Model();
        var options = EngineTestData.Options(steps: 2);
        options.CheckpointDirectory = dir.Path;
        FinetuneEngine.Create(options).Run(new FinetuneRequest { Backbone = model, Target = target });
        string path = Path.Combine(dir.Path, EngineCheckpoint.FileName);
        string broken = Path.Combine(dir.Path, "broken.checkpoint");
        byte[] bytes = File.ReadAllBytes(path);
        File.WriteAllBytes(broken, bytes[..(bytes.Length / 2)]);

        var e = Assert.Throws<InvalidDataException>(() => FinetuneEngine.Create(options).Run(new FinetuneRequest { Backbone = model, Target = target, ResumeFrom = broken }));

        Assert.That(e!.Message, Does.Contain(broken));
    }

    [Test]
    public void Run_NonFiniteLossWithThrowPolicy_NamesTheStep()
    {
        using var target = EngineTestData.Images(48, seed: 10);
        using var model = EngineTestData.Model();
        var options = EngineTestData.Options(steps: 6);
        var engine = new FinetuneEngine(Microsoft.Extensions.Options.Options.Create(options), NoReplay.Instance, NoMixing.Instance, new PoisonedObjective(new InfoNceLoss(), poisonCall: 3));

        var e = Assert.Throws<NonFiniteLossException>(() => engine.Run(new FinetuneRequest { Backbone = model, Target = target }));

        Assert.That(e!.Step, Is.EqualTo(2));
        Assert.That(e.Message, Does.Contain("at step 2").And.Contain("CheckpointDirectory"));
    }

    [Test]
    public void Run_NonFiniteLossWithSkipPolicy_SkipsThatUpdateOnly()
    {
        using var target = EngineTestData.Images(48, seed: 10);
        using var model = EngineTestData.Model();
        var options = EngineTestData.Options(steps: 6);
        options.NonFiniteLoss = NonFiniteLossPolicy.SkipStep;
        var engine = new FinetuneEngine(Microsoft.Extensions.Options.Options.Create(options), NoReplay.Instance, NoMixing.Instance, new PoisonedObjective(new InfoNceLoss(), poisonCall: 3));

        var result = engine.Run(new FinetuneRequest { Backbone = model, Target = target });

        Assert.That(result.Steps, Is.EqualTo(6));
        Assert.That(result.SkippedSteps, Is.EqualTo(1));
        Assert.That(result.History.All(h => double.IsFinite(h.MeanLoss)), Is.True);
    }

    [Test]
    public void Run_ManySteps_LiveTensorCountStaysFlat()
    {
        using var target = EngineTestData.Images(32, size: 8, seed: 12);
        using var model = EngineTestData.Model(features: 16);
        var options = EngineTestData.Options(steps: 520);
        options.BatchSize = 8;
        options.ProjectionDimension = 8;
        options.ProjectionHiddenDimension = 16;
        options.Mixing = new MixingOptions { Mode = MixingMode.CutMix };
        var live = new Dictionary<long, long>();
        var progress = new SynchronousProgress<FinetuneProgress>(p =>
        {
            if (p.Step is 20 or 100 or 520)
            {
                live[p.Step] = TorchSharp.DisposeScopeManager.Statistics.ThreadTotalLiveCount;
            }
        });

        FinetuneEngine.Create(options).Run(new FinetuneRequest { Backbone = model, Target = target }, progress);

        Assert.That(live[100], Is.EqualTo(live[20]), "live tensors after 100 steps vs after 20");
        Assert.That(live[520], Is.EqualTo(live[20]), "live tensors after 520 steps vs after 20");
    }

    [Test]
    public void Create_InvalidOptions_ListsEveryFailureByName()
    {
        var options = EngineTestData.Options();
        options.BatchSize = 1;
        options.LearningRate = -1;
        options.Mixing = new MixingOptions { Mode = MixingMode.Mixup, Alpha = 0 };
        options.TrimNativeMemoryEverySteps = -5;
        options.Device = "gpu";

        var e = Assert.Throws<OptionsValidationException>(() => FinetuneEngine.Create(options));

        Assert.That(e!.Message, Does.Contain("FinetuneOptions.BatchSize is 1; expected at least 2"));
        Assert.That(e.Message, Does.Contain("FinetuneOptions.LearningRate is -1"));
        Assert.That(e.Message, Does.Contain("FinetuneOptions.Mixing.Alpha is 0"));
        Assert.That(e.Message, Does.Contain("FinetuneOptions.TrimNativeMemoryEverySteps is -5"));
        Assert.That(e.Message, Does.Contain("FinetuneOptions.Device is 'gpu'"));
    }

    [Test]
    public void Create_IMixWithSimClr_IsRejected()
    {
        var options = EngineTestData.Options(ObjectiveKind.SimClr);
        options.Mixing = new MixingOptions { Mode = MixingMode.Mixup, LossForm = MixingLossForm.IMix };

        var e = Assert.Throws<OptionsValidationException>(() => FinetuneEngine.Create(options));

        Assert.That(e!.Message, Does.Contain("Mixing.LossForm"));
    }

    [Test]
    public void Run_ChannelMismatch_IsAClearError()
    {
        using var target = EngineTestData.Images(48);
        using var model = new UnsupervisedFinetuning.Backbones.SmallCnn(3, 32);

        var e = Assert.Throws<ArgumentException>(() => FinetuneEngine.Create(EngineTestData.Options()).Run(new FinetuneRequest { Backbone = model, Target = target }));

        Assert.That(e!.Message, Does.Contain("1 channel(s)").And.Contain("expects 3"));
    }

    [Test]
    public void LearningRateSchedule_WarmsUpLinearlyThenDecaysByCosine()
    {
        var schedule = new LearningRateSchedule(peak: 0.1, minimum: 0.01, totalSteps: 110, warmupSteps: 10);

        Assert.That(schedule.At(0), Is.EqualTo(0.01).Within(1e-12));
        Assert.That(schedule.At(9), Is.EqualTo(0.1).Within(1e-12));
        Assert.That(schedule.At(10), Is.EqualTo(0.1).Within(1e-12));
        Assert.That(schedule.At(10 + 99), Is.EqualTo(0.01).Within(1e-12));
        double middle = 0.01 + (0.5 * 0.09 * (1 + Math.Cos(Math.PI * 0.5)));
        Assert.That(schedule.At(10 + 49) + schedule.At(10 + 50), Is.EqualTo(2 * middle).Within(2e-3));
    }

    /// <summary>Wraps an objective and returns NaN on its n-th call (1-based).</summary>
    private sealed class PoisonedObjective(IContrastiveObjective inner, int poisonCall) : IContrastiveObjective
    {
        private int _calls;

        public string Name => inner.Name;

        public ObjectiveParts Parts => inner.Parts;

        public ObjectiveLoss Compute(Tensor queries, Tensor keys, Tensor? negatives = null, Tensor? positives = null)
        {
            var loss = inner.Compute(queries, keys, negatives, positives);
            return ++_calls == poisonCall ? new ObjectiveLoss(loss.PerSample * double.NaN, loss.Mean * double.NaN) : loss;
        }
    }
}
