using UnsupervisedFinetuning.Engine;
using UnsupervisedFinetuning.Fuzzing;

namespace UnsupervisedFinetuning.Tests.Engine;

public sealed class StepMemoryCheckTests
{
    [Test]
    public void Run_ViewsTooLargeForTheBatch_IsRefusedByTheMeasuredEstimate_LeavingTheBackboneAsItWas()
    {
        // 2000² views of a 1-channel SmallCnn at batch 128: the inputs alone (≈ 5 GB) would fit, the activations
        // (≈ 0.3 GB an image, measured) would not — the estimate has to come from the probe.
        Assume.That(OperatingSystem.IsLinux() && NativeMemory.AvailableBytes() is < 60_000_000_000L, "a machine with less than 60 GB available");
        using var target = EngineTestData.Images(16, size: 16, seed: 1);
        using var model = EngineTestData.Model();
        model.train();
        var before = EngineTestData.Snapshot(model);
        var options = EngineTestData.Options(steps: 2);
        options.BatchSize = 128;
        options.Steps = 1;
        options.Augmentation.ImageSize = 2000;
        Assume.That(ResidentMemory.ResetPeak(), "needs /proc/self/clear_refs");
        long resident = ResidentMemory.Current()!.Value;

        var e = Assert.Throws<InsufficientMemoryException>(() => FinetuneEngine.Create(options).CheckStepMemory(model, 1, 2000));

        double peakAdded = (ResidentMemory.Peak()!.Value - resident) / 1e9;
        Assert.That(e!.Message, Does.StartWith("A training step at batch 128 with 2000x2000 views needs about").And.Contain("for one image's forward and backward pass, measured"));
        Assert.That(peakAdded, Is.LessThan(2.0), "the probe costs about one image's pass");
        Assert.That(model.training, Is.True, "the mode is restored");
        Assert.That(model.parameters().All(p => p.grad is null), Is.True, "no gradient was accumulated");
        Assert.That(EngineTestData.BitEqual(before, EngineTestData.Snapshot(model)), Is.True, "weights and batch-norm statistics untouched");
        TestContext.Out.WriteLine($"{e.Message} (probe peak {peakAdded:F2} GB)");
    }

    [Test]
    public void Run_AnOrdinarySize_PassesTheCheck()
    {
        using var target = EngineTestData.Images(32, size: 16, seed: 1);
        using var model = EngineTestData.Model();

        var result = EngineTestData.Engine(EngineTestData.Options(steps: 1)).Run(new FinetuneRequest { Backbone = model, Target = target });

        Assert.That(result.Steps, Is.EqualTo(1));
    }
}
