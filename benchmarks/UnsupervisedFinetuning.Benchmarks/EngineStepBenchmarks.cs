using BenchmarkDotNet.Attributes;
using UnsupervisedFinetuning.Data;
using UnsupervisedFinetuning.Engine;

namespace UnsupervisedFinetuning.Benchmarks;

/// <summary>
/// FinetuneEngine step throughput against the hand-written loop doing the identical step (MoCo v2,
/// ResNet-18 standard stem, 32×32, batch 128, queue 4096, MoCo v2 augmentation), with and without replay
/// and mixing. Every invocation runs <see cref="Steps"/> steps including the set-up both need (momentum
/// copies, queue, optimizer), so the reported time is per step (OperationsPerInvoke).
/// </summary>
[MemoryDiagnoser]
[WarmupCount(2)]
[IterationCount(8)]
[InvocationCount(1)]
public class EngineStepBenchmarks
{
    private const int Steps = 12;
    private InMemoryImageDataset _target = null!;
    private InMemoryImageDataset _source = null!;
    private static bool _processWarm;

    [Params("bare loop", "engine", "engine + replay", "engine + mixing", "engine + replay + mixing")]
    public string Variant { get; set; } = "engine";

    [GlobalSetup]
    public void Setup()
    {
        TorchDevices.EnsureNativeBackend();
        _target = StepWorkload.Images(2048, seed: 1);
        _source = StepWorkload.Images(4096, seed: 2);

        // The cases share one process (in-process toolchain). The first steps in a process run slower
        // while glibc's heap grows to its working size (first-touch page faults); warm the process once
        // so that cost does not land on whichever case BenchmarkDotNet happens to run first.
        if (!_processWarm)
        {
            using var backbone = StepWorkload.Backbone();
            using var bare = new BareMocoStep(_target, backbone, StepWorkload.Augmentation());
            for (int i = 0; i < 20; i++)
            {
                bare.Step();
            }

            _processWarm = true;
        }
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _target.Dispose();
        _source.Dispose();
    }

    [Benchmark(OperationsPerInvoke = Steps)]
    public long StepsOfBatch128()
    {
        using var backbone = StepWorkload.Backbone();
        if (Variant == "bare loop")
        {
            using var bare = new BareMocoStep(_target, backbone, StepWorkload.Augmentation());
            for (int i = 0; i < Steps; i++)
            {
                bare.Step();
            }

            return Steps;
        }

        bool replay = Variant.Contains("replay", StringComparison.Ordinal);
        bool mixing = Variant.Contains("mixing", StringComparison.Ordinal);
        var engine = StepWorkload.Engine(StepWorkload.Options(Steps), replay, mixing, StepWorkload.Augmentation());
        var result = engine.Run(new FinetuneRequest { Backbone = backbone, Target = _target, Source = replay ? _source : null });
        result.Head.Dispose();
        return result.Steps;
    }
}
