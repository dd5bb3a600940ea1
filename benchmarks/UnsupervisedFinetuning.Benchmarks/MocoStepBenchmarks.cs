using BenchmarkDotNet.Attributes;
using UnsupervisedFinetuning.Backbones;
using UnsupervisedFinetuning.Data;
using static TorchSharp.torch;

namespace UnsupervisedFinetuning.Benchmarks;

/// <summary>
/// The model's share of one MoCo v2 training step (<see cref="BareMocoStep.ModelStep"/>: ResNet-18 with
/// torchvision's standard stem, 128-d MLP head, momentum encoder, InfoNCE against a 4096-key queue, SGD
/// with momentum) on already-augmented float views: the reference that augmentation cost (≤ 15% of a step)
/// is measured against.
/// </summary>
[MemoryDiagnoser]
public class MocoStepBenchmarks
{
    private ResNet _backbone = null!;
    private InMemoryImageDataset _unused = null!;
    private BareMocoStep _step = null!;
    private Tensor _view1 = null!;
    private Tensor _view2 = null!;

    [Params("128x32", "256x32", "64x96")]
    public string Shape { get; set; } = "128x32";

    [GlobalSetup]
    public void Setup()
    {
        TorchDevices.EnsureNativeBackend();
        var (batch, size) = BenchmarkArguments.Shape(Shape);
        _backbone = StepWorkload.Backbone();
        _unused = StepWorkload.Images(1, seed: 0); // ModelStep takes its views directly; the data is never read
        _step = new BareMocoStep(_unused, _backbone, StepWorkload.Identity());
        _view1 = randn(batch, 3, size, size);
        _view2 = randn(batch, 3, size, size);
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _view1.Dispose();
        _view2.Dispose();
        _step.Dispose();
        _backbone.Dispose();
        _unused.Dispose();
    }

    [Benchmark]
    public float Step() => _step.ModelStep(_view1, _view2);
}
