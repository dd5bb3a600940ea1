using UnsupervisedFinetuning.Engine;

namespace UnsupervisedFinetuning.Tests.Engine;

/// <summary>
/// <see cref="FinetuneRequest.ExtendSchedule"/>: a finished run trained for longer. The extension follows the
/// learning-rate schedule of the new total (checked against the closed form), is refused without the flag or for
/// fewer steps, and an extended run that is interrupted resumes bit for bit.
/// </summary>
public sealed class ExtendScheduleTests
{
    private static FinetuneOptions Options(string directory, int steps)
    {
        var options = EngineTestData.Options(steps);
        options.CheckpointDirectory = directory;
        options.WarmupFraction = 0.25;
        options.ProgressEverySteps = 1;
        return options;
    }

    /// <summary>The schedule written out: linear warm-up over W = ⌊f·T⌋ steps, then cosine from the peak to the minimum at step T − 1.</summary>
    private static double Cosine(FinetuneOptions options, long step, long total)
    {
        long warmup = (long)Math.Floor(options.WarmupFraction * total);
        if (step < warmup)
        {
            return options.LearningRate * (step + 1) / warmup;
        }

        double progress = (double)(step - warmup) / (total - warmup - 1);
        return options.MinLearningRate + (0.5 * (options.LearningRate - options.MinLearningRate) * (1 + Math.Cos(Math.PI * progress)));
    }

    private sealed class Recorder : IProgress<FinetuneProgress>
    {
        public List<FinetuneProgress> Reports { get; } = [];

        public void Report(FinetuneProgress value) => Reports.Add(value);
    }

    [Test]
    public void AFinishedRun_ExtendedFrom4To8Steps_TrainsSteps5To8OnThe8StepSchedule()
    {
        using var dir = new TempDirectory();
        using var target = EngineTestData.Images(32, seed: 3);
        using var model = EngineTestData.Model();
        EngineTestData.Engine(Options(dir.Path, 4)).Run(new FinetuneRequest { Backbone = model, Target = target });
        var finished = EngineTestData.Snapshot(model);
        var progress = new Recorder();
        var options = Options(dir.Path, 8);

        var result = EngineTestData.Engine(options).Run(new FinetuneRequest { Backbone = model, Target = target, ResumeFrom = Path.Combine(dir.Path, EngineCheckpoint.FileName), ExtendSchedule = true }, progress);

        Assert.That(result.Steps, Is.EqualTo(8));
        Assert.That(progress.Reports.Select(p => p.Step), Is.EqualTo(new long[] { 5, 6, 7, 8 }));
        Assert.That(progress.Reports.Select(p => p.TotalSteps).Distinct(), Is.EqualTo(new long[] { 8 }));
        for (int i = 0; i < 4; i++)
        {
            Assert.That(progress.Reports[i].LearningRate, Is.EqualTo(Cosine(options, 4 + i, 8)).Within(1e-15), $"step {5 + i}");
        }

        Assert.That(progress.Reports[^1].LearningRate, Is.EqualTo(options.MinLearningRate).Within(1e-15), "decayed to the minimum again at the new last step");
        Assert.That(EngineTestData.BitEqual(finished, EngineTestData.Snapshot(model)), Is.False, "the extension trained");
    }

    [Test]
    public void MoreSteps_WithoutExtendSchedule_AreRefusedSayingARunCanBeExtended()
    {
        using var dir = new TempDirectory();
        using var target = EngineTestData.Images(32, seed: 3);
        using var model = EngineTestData.Model();
        EngineTestData.Engine(Options(dir.Path, 4)).Run(new FinetuneRequest { Backbone = model, Target = target });
        string path = Path.Combine(dir.Path, EngineCheckpoint.FileName);

        var e = Assert.Throws<InvalidDataException>(() => EngineTestData.Engine(Options(dir.Path, 8)).Run(new FinetuneRequest { Backbone = model, Target = target, ResumeFrom = path }));

        Assert.That(e!.Message, Does.Contain("TotalSteps = 4 but this run has TotalSteps = 8").And.Contain("ExtendSchedule"));
    }

    [Test]
    public void FewerSteps_WithExtendSchedule_AreRefused_AndChangeNothing()
    {
        using var dir = new TempDirectory();
        using var target = EngineTestData.Images(32, seed: 3);
        using var model = EngineTestData.Model();
        EngineTestData.Engine(Options(dir.Path, 6)).Run(new FinetuneRequest { Backbone = model, Target = target });
        string path = Path.Combine(dir.Path, EngineCheckpoint.FileName);
        byte[] checkpoint = File.ReadAllBytes(path);
        var before = EngineTestData.Snapshot(model);

        var e = Assert.Throws<InvalidDataException>(() => EngineTestData.Engine(Options(dir.Path, 5)).Run(new FinetuneRequest { Backbone = model, Target = target, ResumeFrom = path, ExtendSchedule = true }));

        Assert.That(e!.Message, Does.Contain("TotalSteps = 6 but this run has TotalSteps = 5").And.Contain("never fewer"));
        Assert.That(EngineTestData.BitEqual(before, EngineTestData.Snapshot(model)), Is.True);
        Assert.That(File.ReadAllBytes(path), Is.EqualTo(checkpoint));
    }

    [Test]
    public void AnExtendedRun_InterruptedAndResumed_EndsBitForBitAsTheUninterruptedExtension()
    {
        using var target = EngineTestData.Images(32, seed: 3);

        Dictionary<string, TorchSharp.torch.Tensor> Extend(bool interrupt)
        {
            using var dir = new TempDirectory();
            string path = Path.Combine(dir.Path, EngineCheckpoint.FileName);
            using var model = EngineTestData.Model();
            EngineTestData.Engine(Options(dir.Path, 4)).Run(new FinetuneRequest { Backbone = model, Target = target });
            var extension = new FinetuneRequest { Backbone = model, Target = target, ResumeFrom = path, ExtendSchedule = true };
            if (interrupt)
            {
                using var stop = new CancellationTokenSource();
                var cancelAtSix = new SynchronousProgress<FinetuneProgress>(p =>
                {
                    if (p.Step == 6)
                    {
                        stop.Cancel();
                    }
                });
                Assert.Throws<OperationCanceledException>(() => EngineTestData.Engine(Options(dir.Path, 8)).Run(extension, cancelAtSix, stop.Token));
                EngineTestData.Engine(Options(dir.Path, 8)).Run(new FinetuneRequest { Backbone = model, Target = target, ResumeFrom = path }); // the checkpoint now plans 8 steps
            }
            else
            {
                EngineTestData.Engine(Options(dir.Path, 8)).Run(extension);
            }

            return EngineTestData.Snapshot(model);
        }

        Assert.That(EngineTestData.BitEqual(Extend(interrupt: false), Extend(interrupt: true)), Is.True);
    }
}
