using Microsoft.Extensions.Options;
using UnsupervisedFinetuning.Backbones;
using UnsupervisedFinetuning.Data;
using UnsupervisedFinetuning.Engine;
using UnsupervisedFinetuning.Methods;
using UnsupervisedFinetuning.Mixing;
using UnsupervisedFinetuning.Replay;
using static TorchSharp.torch;

namespace UnsupervisedFinetuning.Tests.Engine;

[TestFixture]
public sealed class FinetuneEngineTests
{
    // 160 steps on 64 images learn for every seed tried (3–10), but how fast depends on the seed: 6 of those
    // 8 drop by more than 6 standard errors; seed 4 is one of them.
    [Test]
    public void Run_SimClrOnStructuredImages_LossFalls()
    {
        using var target = EngineTestData.Images(64, seed: 1);
        using var model = EngineTestData.Model();
        var options = EngineTestData.Options(steps: 160);
        options.LearningRate = 0.3;
        options.Seed = 4;
        var losses = new List<double>();

        var result = FinetuneEngine.Create(options, EngineTestData.Method(MethodKind.SimClr, temperature: 0.2)).Run(
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

    // Online passes: every query view, plus the second view where it goes through the online network with
    // gradients (SimCLR's keys, BYOL's and SimSiam's symmetric terms). Target passes: forward-only.
    [TestCase(MethodKind.MocoV2, 1, 1)]
    [TestCase(MethodKind.SimClr, 2, 0)]
    [TestCase(MethodKind.Byol, 2, 2)]
    [TestCase(MethodKind.SimSiam, 2, 0)]
    public void Run_EveryMethod_ChangesTheBackboneAndReportsCompute(MethodKind kind, int onlinePerImage, int targetPerImage)
    {
        using var target = EngineTestData.Images(48, seed: 2);
        using var model = EngineTestData.Model();
        var before = EngineTestData.Snapshot(model);

        var result = EngineTestData.Engine(EngineTestData.Options(steps: 6), kind).Run(new FinetuneRequest { Backbone = model, Target = target });

        Assert.That(result.History.All(e => double.IsFinite(e.MeanLoss)), Is.True);
        Assert.That(EngineTestData.BitEqual(before, EngineTestData.Snapshot(model)), Is.False);
        Assert.That(result.OnlineImagePasses, Is.EqualTo(onlinePerImage * 6 * 16));
        Assert.That(result.TargetImagePasses, Is.EqualTo(targetPerImage * 6 * 16));
        Assert.That(result.Predictor is null, Is.EqualTo(kind is MethodKind.MocoV2 or MethodKind.SimClr));
    }

    [Test]
    public void Run_MixingInAddMode_ChargesTheSecondQueryPass()
    {
        using var target = EngineTestData.Images(48, seed: 2);
        using var model = EngineTestData.Model();
        var options = EngineTestData.Options(steps: 5);
        options.MixingCompute = MixingCompute.Add;

        var result = EngineTestData.Engine(options, mixing: new Mixup()).Run(new FinetuneRequest { Backbone = model, Target = target });

        Assert.That(result.OnlineImagePasses, Is.EqualTo(2 * 5 * 16));
    }

    [Test]
    public void Run_WithReplay_ReportsTheSubsetAndTrainsOnBothSets()
    {
        using var target = EngineTestData.Images(48, seed: 3);
        using var source = EngineTestData.Images(500, seed: 4, brightness: 120);
        using var model = EngineTestData.Model();
        var replay = new SparseSourceReplay(new SparseReplayOptions { Ratio = 0.25, Composition = ReplayComposition.FixedShare });

        var result = EngineTestData.Engine(EngineTestData.Options(steps: 4), replay: replay).Run(new FinetuneRequest { Backbone = model, Target = target, Source = source });

        Assert.That(result.ReplayedSourceIndices, Has.Count.EqualTo(12));
        Assert.That(result.ReplayedSourceIndices, Is.Unique.And.Ordered);
    }

    [TestCase(ReplayComposition.FixedShare, 12)]
    [TestCase(ReplayComposition.Union, 15)]
    public void Run_WithReplay_EveryReplayedImageReachesTheBatchesAndNoOtherSourceImageDoes(ReplayComposition composition, int steps)
    {
        // 48 target + 12 replayed images, batch 16. FixedShare: round(16·0.25/1.25) = 3 source rows in every
        // batch and 48 / 13 = 3 batches an epoch, the 9 source rows of an epoch drawn without repeats from a
        // fresh shuffle of the subset (so an image can sit out an epoch). Union: each epoch shuffles the 60 images and cuts 3 full batches
        // (12 images left over), so a fifth of the rows are source rows on average: 15 steps = 240 rows,
        // 48 expected (hypergeometric, sd ≈ 2.8).
        using var target = new CountingDataset(EngineTestData.Images(48, seed: 3));
        using var source = new CountingDataset(EngineTestData.Images(500, seed: 4, brightness: 120));
        using var model = EngineTestData.Model();
        var replay = new RecordingReplay(new SparseSourceReplay(new SparseReplayOptions { Ratio = 0.25, Composition = composition }));

        var result = EngineTestData.Engine(EngineTestData.Options(steps), replay: replay).Run(new FinetuneRequest { Backbone = model, Target = target, Source = source });

        var subset = result.ReplayedSourceIndices.ToHashSet();
        var batches = replay.Planned.Take(steps).ToList();
        var replayed = batches.SelectMany(b => b.Source).ToList();
        // The monitor decodes its probes once, first: all 48 target images, and a fixed sample of 256 source images.
        Assert.That(target.Requested[0], Is.EqualTo(Enumerable.Range(0, 48)), "the target probe is the whole (small) target set, read once");
        var trained = target.Requested.Skip(1).SelectMany(r => r).ToList();
        Assert.That(subset, Has.Count.EqualTo(12));
        Assert.That(source.Requested, Has.Count.EqualTo(2), "the source probe and the replayed images are each decoded once, when the run starts");
        Assert.That(source.Requested[0], Has.Length.EqualTo(256).And.Unique.And.Ordered, "the source probe: 256 distinct images");
        Assert.That(source.Requested[1], Is.EqualTo(result.ReplayedSourceIndices), "and then nothing but the replayed subset is read from the source");
        Assert.That(trained, Is.EqualTo(batches.SelectMany(b => b.Target)), "the target rows are the planned ones, in order");
        Assert.That(replayed.All(subset.Contains), Is.True, "only replay-subset images are planned");
        Assert.That(replayed.Count + trained.Count, Is.EqualTo(steps * 16), "full batches, target rows and source rows together");
        if (composition == ReplayComposition.FixedShare)
        {
            Assert.That(batches.Select(b => b.Source.Length), Is.All.EqualTo(3), "3 source rows in every batch");
            var epochs = batches.Chunk(3).Select(epoch => epoch.SelectMany(b => b.Source).ToList());
            Assert.That(epochs, Is.All.Unique, "no replayed image repeats within an epoch");
            Assert.That(replayed.Distinct().Count(), Is.GreaterThanOrEqualTo(9), "at least an epoch's worth of distinct images");
        }
        else
        {
            Assert.That(replayed.Distinct().Count(), Is.EqualTo(12), "every replayed image reaches a batch over 5 epochs");
            Assert.That(replayed, Has.Count.InRange(38, 58), "about a fifth of 240 rows");
        }
    }

    [Test]
    public void Run_ReplayWithoutSourceSet_IsAClearError()
    {
        using var target = EngineTestData.Images(48);
        using var model = EngineTestData.Model();

        var e = Assert.Throws<ArgumentException>(() => EngineTestData.Engine(EngineTestData.Options(), replay: new SparseSourceReplay()).Run(new FinetuneRequest { Backbone = model, Target = target }));

        Assert.That(e!.Message, Does.Contain("needs a source dataset").And.Contain("FinetuneRequest.Source"));
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

        Assert.Throws<OperationCanceledException>(() => EngineTestData.Engine(options).Run(new FinetuneRequest { Backbone = model, Target = target }, progress, cts.Token));

        Assert.That(lastReported, Is.EqualTo(5), "no step starts after cancellation");
        var header = EngineCheckpoint.ReadHeader(Path.Combine(dir.Path, EngineCheckpoint.FileName));
        Assert.That(header.Step, Is.EqualTo(5));
        Assert.That(Directory.GetFiles(dir.Path).Select(Path.GetFileName), Is.EquivalentTo(new[] { EngineCheckpoint.FileName, RunFolderLock.FileName }), "no temporary file is left behind");
    }

    [TestCase(MethodKind.MocoV2, "mixup", ReplayComposition.Union)]
    [TestCase(MethodKind.Byol, "cutmix", ReplayComposition.FixedShare)]
    [TestCase(MethodKind.SimSiam, "mixup", ReplayComposition.Union)]
    public void CancelThenResume_GivesBitIdenticalWeightsToAnUninterruptedRun(MethodKind kind, string mixing, ReplayComposition composition)
    {
        using var dir = new TempDirectory();
        using var target = EngineTestData.Images(40, seed: 6);
        using var source = EngineTestData.Images(200, seed: 7, brightness: 140);
        FinetuneEngine Engine()
        {
            var o = EngineTestData.Options(steps: 9);
            o.CheckpointDirectory = dir.Path;
            var mix = new MixingOptions { Probability = 0.7 };
            return EngineTestData.Engine(o, kind,
                new SparseSourceReplay(new SparseReplayOptions { Ratio = 0.3, Composition = composition }),
                mixing == "mixup" ? new Mixup(mix) : new CutMix(mix));
        }

        // Uninterrupted run.
        using var straight = EngineTestData.Model(seed: 11);
        var straightResult = Engine().Run(new FinetuneRequest { Backbone = straight, Target = target, Source = source });
        var expectedBackbone = EngineTestData.Snapshot(straight);
        var expectedHead = EngineTestData.Snapshot(straightResult.Head);

        // Interrupted after 4 steps (crossing an epoch boundary), then resumed into a differently initialised model.
        using var interrupted = EngineTestData.Model(seed: 11);
        using var cts = new CancellationTokenSource();
        var cancelAt4 = new SynchronousProgress<FinetuneProgress>(p => { if (p.Step == 4) { cts.Cancel(); } });
        Assert.Throws<OperationCanceledException>(() => Engine().Run(new FinetuneRequest { Backbone = interrupted, Target = target, Source = source }, cancelAt4, cts.Token));

        using var resumed = EngineTestData.Model(seed: 99);
        var resumedResult = Engine().Run(new FinetuneRequest
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
        Assert.That(resumedResult.OnlineImagePasses, Is.EqualTo(straightResult.OnlineImagePasses));
    }

    [TestCase("batch", "BatchSize = 16", "BatchSize = 8")]
    [TestCase("alpha", "Mixing.Alpha = 1", "Mixing.Alpha = 0.5")]
    [TestCase("temperature", "Method.Temperature = 0.2", "Method.Temperature = 0.1")]
    [TestCase("method", "Method = MoCo v2", "Method = SimCLR")]
    public void Resume_WithOtherSettings_NamesTheDifferenceAndLeavesTheBackboneUntouched(string change, string before, string after)
    {
        using var dir = new TempDirectory();
        using var target = EngineTestData.Images(48, seed: 8);
        using var model = EngineTestData.Model();
        var options = EngineTestData.Options(steps: 3);
        options.CheckpointDirectory = dir.Path;
        EngineTestData.Engine(options, mixing: new Mixup(new MixingOptions { Alpha = 1 })).Run(new FinetuneRequest { Backbone = model, Target = target });
        var other = EngineTestData.Options(steps: 3);
        var method = EngineTestData.Method(MethodKind.MocoV2, temperature: change == "temperature" ? 0.1 : 0.2);
        if (change == "batch")
        {
            other.BatchSize = 8;
        }

        if (change == "method")
        {
            method = EngineTestData.Method(MethodKind.SimClr);
        }

        var mixing = new Mixup(new MixingOptions { Alpha = change == "alpha" ? 0.5 : 1 });
        using var fresh = EngineTestData.Model(seed: 42);
        var untouched = EngineTestData.Snapshot(fresh);

        var e = Assert.Throws<InvalidDataException>(() => FinetuneEngine.Create(other, method, mixing: mixing).Run(new FinetuneRequest
        {
            Backbone = fresh,
            Target = target,
            ResumeFrom = Path.Combine(dir.Path, EngineCheckpoint.FileName),
        }));

        Assert.That(e!.Message, Does.Contain(before).And.Contain(after));
        Assert.That(EngineTestData.BitEqual(untouched, EngineTestData.Snapshot(fresh)), Is.True, "a rejected resume loads no weights into the caller's backbone");
    }

    [Test]
    public void Resume_FromACheckpointCutAnywhere_IsOneShortLineNamingTheFile()
    {
        // Regression: a cut inside a tensor's data surfaced libtorch's native stack trace (≈ 3 KB) in the message.
        using var dir = new TempDirectory();
        using var target = EngineTestData.Images(48, seed: 9);
        using var model = EngineTestData.Model();
        var options = EngineTestData.Options(steps: 2);
        options.CheckpointDirectory = dir.Path;
        EngineTestData.Engine(options).Run(new FinetuneRequest { Backbone = model, Target = target });
        byte[] bytes = File.ReadAllBytes(Path.Combine(dir.Path, EngineCheckpoint.FileName));
        var messages = new List<string>();
        foreach (double share in new[] { 0.0, 0.01, 0.1, 0.3, 0.5, 0.7, 0.9, 0.99, 0.999 })
        {
            string broken = Path.Combine(dir.Path, $"cut-{share}.checkpoint");
            File.WriteAllBytes(broken, bytes[..(int)(bytes.Length * share)]);

            var e = Assert.Throws<InvalidDataException>(() => EngineTestData.Engine(options).Run(new FinetuneRequest { Backbone = model, Target = target, ResumeFrom = broken }), $"cut at {share:P1}");

            messages.Add(e!.Message);
            Assert.That(e.Message, Does.Contain(broken));
            Assert.That(e.Message, share > 0 ? Does.Contain("truncated") : Does.Contain("not a readable UnsupervisedFinetuning checkpoint"));
            Assert.That(e.Message, Does.Not.Contain("\n").And.Length.LessThan(400), $"cut at {share:P1}: {e.Message}");
        }

        TestContext.Out.WriteLine(string.Join(Environment.NewLine, messages));
    }

    [Test]
    public void Resume_FromATruncatedCheckpoint_LeavesEveryNetworkTheCallerPassedUntouched()
    {
        // Regression: the weights of a checkpoint that fails half-way used to stay in the caller's backbone.
        using var dir = new TempDirectory();
        using var target = EngineTestData.Images(48, seed: 9);
        using var model = EngineTestData.Model();
        var options = EngineTestData.Options(steps: 2);
        options.CheckpointDirectory = dir.Path;
        var method = EngineTestData.Method(MethodKind.Byol);
        var first = FinetuneEngine.Create(options, method).Run(new FinetuneRequest { Backbone = model, Target = target });
        first.Head.Dispose();
        first.Predictor!.Dispose();
        string path = Path.Combine(dir.Path, EngineCheckpoint.FileName);
        string broken = Path.Combine(dir.Path, "broken.checkpoint");
        byte[] bytes = File.ReadAllBytes(path);
        File.WriteAllBytes(broken, bytes[..(bytes.Length * 3 / 4)]); // the backbone's weights are whole, the rest is cut
        using var fresh = EngineTestData.Model(seed: 42);
        using var head = new ProjectionHead(32, 32, 16, batchNorm: true);
        using var predictor = new ProjectionHead(16, 32, 16, batchNorm: true);
        var before = new[] { EngineTestData.Snapshot(fresh), EngineTestData.Snapshot(head), EngineTestData.Snapshot(predictor) };

        var e = Assert.Throws<InvalidDataException>(() => FinetuneEngine.Create(options, method).Run(new FinetuneRequest
        {
            Backbone = fresh,
            Head = head,
            Predictor = predictor,
            Target = target,
            ResumeFrom = broken,
        }));

        Assert.That(e!.Message, Does.Contain(broken));
        var after = new[] { EngineTestData.Snapshot(fresh), EngineTestData.Snapshot(head), EngineTestData.Snapshot(predictor) };
        Assert.That(before.Zip(after).All(pair => EngineTestData.BitEqual(pair.First, pair.Second)), Is.True, "backbone, head and predictor as they were");
    }

    [Test]
    public void Checkpoint_RemovesTheTemporaryFilesOfAnInterruptedWrite()
    {
        // Regression: a write killed between creating and renaming its temporary file left it forever.
        using var dir = new TempDirectory();
        using var target = EngineTestData.Images(48, seed: 9);
        using var model = EngineTestData.Model();
        string orphan = Path.Combine(dir.Path, EngineCheckpoint.FileName + ".tmp-0123456789abcdef");
        string unrelated = Path.Combine(dir.Path, "other.dat.tmp-0123456789abcdef");
        File.WriteAllBytes(orphan, new byte[100]);
        File.WriteAllBytes(unrelated, new byte[100]);
        var options = EngineTestData.Options(steps: 2);
        options.CheckpointDirectory = dir.Path;

        EngineTestData.Engine(options).Run(new FinetuneRequest { Backbone = model, Target = target });

        Assert.That(File.Exists(orphan), Is.False, "the orphan of this checkpoint is gone");
        Assert.That(File.Exists(unrelated), Is.True, "another file's temporary is not this write's business");
        Assert.That(Directory.GetFiles(dir.Path).Select(Path.GetFileName), Is.EquivalentTo(new[] { EngineCheckpoint.FileName, RunFolderLock.FileName, "other.dat.tmp-0123456789abcdef" }));
    }

    [Test]
    public void Resume_FromAVersion1Checkpoint_SaysWhichVersionAndWhatToDo()
    {
        using var dir = new TempDirectory();
        using var target = EngineTestData.Images(48, seed: 9);
        using var model = EngineTestData.Model();
        string old = Path.Combine(dir.Path, "old.checkpoint");
        using (var writer = new BinaryWriter(File.Create(old)))
        {
            // The opening of a checkpoint written by library 0.1: magic, format version 1, then its JSON header.
            writer.Write("UnsupervisedFinetuning.Checkpoint");
            writer.Write(1);
            writer.Write("{\"Fingerprint\":{\"Objective\":\"InfoNCE\"},\"QueuePointer\":0}");
        }

        var e = Assert.Throws<InvalidDataException>(() => EngineTestData.Engine(EngineTestData.Options()).Run(new FinetuneRequest { Backbone = model, Target = target, ResumeFrom = old }));

        Assert.That(e!.Message, Does.Contain(old).And.Contain("format version 1").And.Contain("reads version 4").And.Contain("without ResumeFrom"));
    }

    [TestCase(OptimizerKind.Sgd)]
    [TestCase(OptimizerKind.AdamW)]
    [TestCase(OptimizerKind.Lars)]
    public void CancelThenResume_EveryOptimizer_GivesBitIdenticalWeights(OptimizerKind optimizer)
    {
        // The optimizer section is walked with TorchSharp's layout before it is loaded; each kind must resume exactly.
        using var dir = new TempDirectory();
        using var target = EngineTestData.Images(40, seed: 31);
        FinetuneEngine Engine()
        {
            var o = EngineTestData.Options(steps: 6);
            o.Optimizer = optimizer;
            o.LearningRate = optimizer == OptimizerKind.AdamW ? 1e-3 : 0.05;
            o.CheckpointDirectory = dir.Path;
            return EngineTestData.Engine(o);
        }

        using var straight = EngineTestData.Model(seed: 12);
        Engine().Run(new FinetuneRequest { Backbone = straight, Target = target });
        using var interrupted = EngineTestData.Model(seed: 12);
        using var cts = new CancellationTokenSource();
        var cancelAt3 = new SynchronousProgress<FinetuneProgress>(p => { if (p.Step == 3) { cts.Cancel(); } });
        Assert.Throws<OperationCanceledException>(() => Engine().Run(new FinetuneRequest { Backbone = interrupted, Target = target }, cancelAt3, cts.Token));
        using var resumed = EngineTestData.Model(seed: 50);

        Engine().Run(new FinetuneRequest { Backbone = resumed, Target = target, ResumeFrom = Path.Combine(dir.Path, EngineCheckpoint.FileName) });

        Assert.That(EngineTestData.BitEqual(EngineTestData.Snapshot(straight), EngineTestData.Snapshot(resumed)), Is.True);
    }

    [Test]
    public void Resume_FromACheckpointWithAForgedRank_IsRefusedBeforeAllocating()
    {
        // Regression (fuzzing): a rank of 2²⁸ in a stored tensor cost 1.3 GB (long[rank]) before the read failed;
        // forged shapes reached libtorch's allocator ("Storage size calculation overflowed", ExternalException).
        using var dir = new TempDirectory();
        using var target = EngineTestData.Images(32, seed: 8);
        var options = EngineTestData.Options(steps: 2);
        options.CheckpointDirectory = dir.Path;
        using (var model = EngineTestData.Model())
        {
            EngineTestData.Engine(options).Run(new FinetuneRequest { Backbone = model, Target = target });
        }

        string path = Path.Combine(dir.Path, EngineCheckpoint.FileName);
        File.WriteAllBytes(path, EngineCheckpoint.Restamp(UnsupervisedFinetuning.Tests.Backbones.HostileCheckpointTests.ForgeFirstRank(File.ReadAllBytes(path), "features.0.conv.weight")));
        using var resumed = EngineTestData.Model(seed: 5);
        var before = EngineTestData.Snapshot(resumed);
        long allocated = GC.GetTotalAllocatedBytes(precise: true);

        var e = Assert.Throws<InvalidDataException>(() => EngineTestData.Engine(options).Run(new FinetuneRequest { Backbone = resumed, Target = target, ResumeFrom = path }))!;

        Assert.That(GC.GetTotalAllocatedBytes(precise: true) - allocated, Is.LessThan(16 << 20), "bounded: no long[2²⁸]");
        Assert.That(e.Message, Does.StartWith(path).And.Contain("declares 268435456 dimensions"));
        Assert.That(EngineTestData.BitEqual(before, EngineTestData.Snapshot(resumed)), Is.True, "the caller's backbone is untouched");
    }

    [Test]
    public void Run_NonFiniteLossWithThrowPolicy_NamesTheStep()
    {
        using var target = EngineTestData.Images(48, seed: 10);
        using var model = EngineTestData.Model();
        var engine = FinetuneEngine.Create(EngineTestData.Options(steps: 6), new PoisonedMethod(EngineTestData.Method(MethodKind.MocoV2), call => call == 3));
        long lastReported = 0;

        var e = Assert.Throws<NonFiniteLossException>(() => engine.Run(new FinetuneRequest { Backbone = model, Target = target }, new SynchronousProgress<FinetuneProgress>(p => lastReported = p.Step)));

        Assert.That(lastReported, Is.EqualTo(2), "progress reported steps 1 and 2");
        Assert.That(e!.Step, Is.EqualTo(3), "the third step, numbered as progress numbers steps");
        Assert.That(e.Message, Does.Contain("at step 3").And.Contain("CheckpointDirectory"));
    }

    [Test]
    public void Run_NonFiniteLossWithSkipPolicy_SkipsThatUpdateOnly()
    {
        using var target = EngineTestData.Images(48, seed: 10);
        using var model = EngineTestData.Model();
        var options = EngineTestData.Options(steps: 6);
        options.NonFiniteLoss = NonFiniteLossPolicy.SkipStep;
        var engine = FinetuneEngine.Create(options, new PoisonedMethod(EngineTestData.Method(MethodKind.MocoV2), call => call == 3));

        var result = engine.Run(new FinetuneRequest { Backbone = model, Target = target });

        Assert.That(result.Steps, Is.EqualTo(6));
        Assert.That(result.SkippedSteps, Is.EqualTo(1));
        Assert.That(result.History.All(h => double.IsFinite(h.MeanLoss)), Is.True);
    }

    [Test]
    public void Run_EveryStepOfAnEpochSkipped_CheckpointsItsNaNMeanAndResumes()
    {
        // Regression: an epoch whose steps were all skipped has a NaN mean loss, which the checkpoint's
        // JSON writer used to refuse, crashing the run at its first checkpoint.
        using var dir = new TempDirectory();
        using var target = EngineTestData.Images(48, seed: 10);
        using var model = EngineTestData.Model();
        var options = EngineTestData.Options(steps: 6);
        options.NonFiniteLoss = NonFiniteLossPolicy.SkipStep;
        options.CheckpointDirectory = dir.Path;
        options.CheckpointEverySteps = 2;
        var poisoned = new PoisonedMethod(EngineTestData.Method(MethodKind.MocoV2), call => call <= 3); // epoch 1 (3 steps) all skipped
        using var cts = new CancellationTokenSource();

        Assert.Throws<OperationCanceledException>(() => FinetuneEngine.Create(options, poisoned).Run(
            new FinetuneRequest { Backbone = model, Target = target },
            new SynchronousProgress<FinetuneProgress>(p => { if (p.Step == 4) { cts.Cancel(); } }),
            cts.Token));
        var header = EngineCheckpoint.ReadHeader(Path.Combine(dir.Path, EngineCheckpoint.FileName));
        var healthy = new PoisonedMethod(EngineTestData.Method(MethodKind.MocoV2), _ => false);
        var result = FinetuneEngine.Create(options, healthy).Run(new FinetuneRequest { Backbone = model, Target = target, ResumeFrom = Path.Combine(dir.Path, EngineCheckpoint.FileName) });

        Assert.That(header.History, Has.Count.EqualTo(1));
        Assert.That(header.History[0].MeanLoss, Is.NaN, "the skipped epoch's mean survives the checkpoint as NaN");
        Assert.That(result.Steps, Is.EqualTo(6));
        Assert.That(result.SkippedSteps, Is.EqualTo(3));
        Assert.That(result.History.Select(h => double.IsNaN(h.MeanLoss)), Is.EqualTo(new[] { true, false }));
    }

    [Test]
    public void Run_ManySteps_LiveTensorCountStaysFlat()
    {
        using var target = EngineTestData.Images(32, size: 8, seed: 12);
        using var model = EngineTestData.Model(features: 16);
        var options = EngineTestData.Options(steps: 520);
        options.BatchSize = 8;
        var method = new MocoV2(new MocoV2Options { ProjectionDimension = 8, ProjectionHiddenDimension = 16 });
        var live = new Dictionary<long, long>();
        var progress = new SynchronousProgress<FinetuneProgress>(p =>
        {
            if (p.Step is 20 or 100 or 520)
            {
                live[p.Step] = TorchSharp.DisposeScopeManager.Statistics.ThreadTotalLiveCount;
            }
        });

        FinetuneEngine.Create(options, method, mixing: new CutMix()).Run(new FinetuneRequest { Backbone = model, Target = target }, progress);

        Assert.That(live[100], Is.EqualTo(live[20]), "live tensors after 100 steps vs after 20");
        Assert.That(live[520], Is.EqualTo(live[20]), "live tensors after 520 steps vs after 20");
    }

    [Test]
    public void Create_InvalidOptions_ListsEveryFailureByName()
    {
        var options = EngineTestData.Options();
        options.BatchSize = 1;
        options.LearningRate = -1;
        options.TrimNativeMemoryEverySteps = -5;
        options.Device = "gpu";
        options.Augmentation.ImageSize = 0;

        var e = Assert.Throws<OptionsValidationException>(() => FinetuneEngine.Create(options));

        Assert.That(e!.Message, Does.Contain("FinetuneOptions.BatchSize is 1; expected at least 2"));
        Assert.That(e.Message, Does.Contain("FinetuneOptions.LearningRate is -1; expected a finite value > 0"));
        Assert.That(e.Message, Does.Not.Contain("MinLearningRate"), "a bad peak is reported once, not again through the minimum");
        Assert.That(e.Message, Does.Contain("FinetuneOptions.TrimNativeMemoryEverySteps is -5; expected null (never) or a positive number of steps"));
        Assert.That(e.Message, Does.Contain("FinetuneOptions.Device is 'gpu'"));
        Assert.That(e.Message, Does.Contain("FinetuneOptions.Augmentation.ImageSize is 0"));
    }

    [Test]
    public void Run_ChannelMismatch_IsAClearError()
    {
        using var target = EngineTestData.Images(48);
        using var model = new UnsupervisedFinetuning.Backbones.SmallCnn(3, 32);

        var e = Assert.Throws<ArgumentException>(() => EngineTestData.Engine(EngineTestData.Options()).Run(new FinetuneRequest { Backbone = model, Target = target }));

        Assert.That(e!.Message, Does.Contain("1 channel(s)").And.Contain("expects 3"));
    }

    [Test]
    public void Run_IMixLossForm_TrainsAndTakesAnotherPathThanUnMix()
    {
        using var target = EngineTestData.Images(48, seed: 13);
        using var unMixModel = EngineTestData.Model();
        using var iMixModel = EngineTestData.Model();
        var losses = new Dictionary<MixedLossForm, List<double>> { [MixedLossForm.UnMix] = [], [MixedLossForm.IMix] = [] };
        foreach (var (form, model) in new[] { (MixedLossForm.UnMix, unMixModel), (MixedLossForm.IMix, iMixModel) })
        {
            FinetuneEngine.Create(EngineTestData.Options(steps: 4), EngineTestData.Method(MethodKind.MocoV2, form), mixing: new Mixup())
                .Run(new FinetuneRequest { Backbone = model, Target = target }, new SynchronousProgress<FinetuneProgress>(p => losses[form].Add(p.Loss)));
        }

        Assert.That(losses[MixedLossForm.IMix].All(double.IsFinite), Is.True);
        // Same seed, data and first weights: the first step's views and plan are identical, so any difference
        // in its loss is the loss form. i-Mix scores against B − 1 more candidates (the other in-batch keys).
        Assert.That(losses[MixedLossForm.IMix][0], Is.Not.EqualTo(losses[MixedLossForm.UnMix][0]).Within(1e-4));
        Assert.That(EngineTestData.BitEqual(EngineTestData.Snapshot(unMixModel), EngineTestData.Snapshot(iMixModel)), Is.False);
    }

    [Test]
    public void Run_NewHeads_DependOnTheRunsSeedOnlyAndConcurrentEnginesDoNotDisturbEachOther()
    {
        using var target = EngineTestData.Images(48, seed: 14);
        Dictionary<string, Tensor> Alone(long globalSeed)
        {
            random.manual_seed(globalSeed);
            using var model = EngineTestData.Model();
            var result = EngineTestData.Engine(EngineTestData.Options(steps: 3)).Run(new FinetuneRequest { Backbone = model, Target = target });
            using var head = result.Head;
            return EngineTestData.Snapshot(head);
        }

        var reference = Alone(globalSeed: 1);
        Assert.That(EngineTestData.BitEqual(reference, Alone(globalSeed: 2)), Is.True, "TorchSharp's global generator does not reach the run");

        // Two engines at once on two threads: TorchSharp's global generator is shared, the runs' are not.
        using var first = EngineTestData.Model();
        using var second = EngineTestData.Model(seed: 5);
        var otherOptions = EngineTestData.Options(steps: 6);
        otherOptions.Seed = 77;
        var a = EngineTestData.Engine(EngineTestData.Options(steps: 3)).RunAsync(new FinetuneRequest { Backbone = first, Target = target });
        var b = EngineTestData.Engine(otherOptions, MethodKind.SimClr).RunAsync(new FinetuneRequest { Backbone = second, Target = target });
        Task.WaitAll(a, b);
        using var headA = a.Result.Head;
        b.Result.Head.Dispose();

        Assert.That(EngineTestData.BitEqual(reference, EngineTestData.Snapshot(headA)), Is.True, "the same run beside another engine");
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

    /// <summary>A user's method wrapper: the inner method, but the losses of the calls <paramref name="poison"/> picks (1-based) are NaN.</summary>
    private sealed class PoisonedMethod(ISelfSupervisedMethod inner, Func<int, bool> poison) : ISelfSupervisedMethod
    {
        public string Name => inner.Name;

        public UnsupervisedFinetuning.Augment.AugmentationRecipe Augmentation => inner.Augmentation;

        public IReadOnlyDictionary<string, string> Settings => inner.Settings;

        public ISelfSupervisedModel Build(MethodContext context) => new Model(inner.Build(context), poison);

        private sealed class Model(ISelfSupervisedModel inner, Func<int, bool> poison) : ISelfSupervisedModel
        {
            private int _calls;

            public ProjectionHead Head => inner.Head;

            public ProjectionHead? Predictor => inner.Predictor;

            public IReadOnlyList<TorchSharp.Modules.Parameter> TrainableParameters => inner.TrainableParameters;

            public IReadOnlyList<(string Name, nn.Module Module)> Networks => inner.Networks;

            public MethodLoss Loss(MethodInput input)
            {
                var loss = inner.Loss(input);
                return poison(++_calls) ? loss with { Value = loss.Value * double.NaN } : loss;
            }

            public void AfterStep() => inner.AfterStep();

            public IReadOnlyDictionary<string, Tensor> GetState() => inner.GetState();

            public void LoadState(IReadOnlyDictionary<string, Tensor> state) => inner.LoadState(state);

            public void Dispose() => inner.Dispose();
        }
    }

    /// <summary>Records the indices of every batch read from a dataset.</summary>
    /// <summary>Passes everything to <paramref name="inner"/> and keeps every batch it plans, in order.</summary>
    private sealed class RecordingReplay(IReplaySampler inner) : IReplaySampler
    {
        public List<ReplayBatch> Planned { get; } = [];

        public string Name => inner.Name;

        public IReadOnlyDictionary<string, string> Settings => inner.Settings;

        public int[] SelectSubset(ReplaySelectionContext context) => inner.SelectSubset(context);

        public int StepsPerEpoch(int targetCount, int subsetCount, int batchSize) => inner.StepsPerEpoch(targetCount, subsetCount, batchSize);

        public IReadOnlyList<ReplayBatch> PlanEpoch(int targetCount, IReadOnlyList<int> subset, int batchSize, SeededRandom random)
        {
            var plan = inner.PlanEpoch(targetCount, subset, batchSize, random);
            Planned.AddRange(plan);
            return plan;
        }
    }

    private sealed class CountingDataset(InMemoryImageDataset inner) : IImageDataset, IDisposable
    {
        public List<int[]> Requested { get; } = [];

        public int Count => inner.Count;

        public ImageShape Shape => inner.Shape;

        public Tensor GetBatch(ReadOnlySpan<int> indices)
        {
            Requested.Add(indices.ToArray());
            return inner.GetBatch(indices);
        }

        public void Dispose() => inner.Dispose();
    }
}
