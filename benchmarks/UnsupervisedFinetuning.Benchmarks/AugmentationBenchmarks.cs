using BenchmarkDotNet.Attributes;
using UnsupervisedFinetuning.Augment;
using static TorchSharp.torch;

namespace UnsupervisedFinetuning.Benchmarks;

/// <summary>
/// Two-view augmentation of one training batch on the CPU (uint8 in, two float views out), for the
/// MoCo v2 recipe (crop, jitter incl. hue, grayscale, blur, flip, normalise) and the small-image recipe.
/// Compare with <c>MocoStepBenchmarks</c> on the same batch: the target is ≤ 15% of a step.
/// </summary>
[MemoryDiagnoser]
public class AugmentationBenchmarks
{
    private Tensor _batch = null!;
    private TwoViewAugmentation _augmentation = null!;
    private SeededRandom _random = null!;

    [Params("256x32", "64x96")]
    public string Shape { get; set; } = "256x32";

    [Params("MocoV2", "SmallImage")]
    public string Recipe { get; set; } = "MocoV2";

    [GlobalSetup]
    public void Setup()
    {
        TorchDevices.EnsureNativeBackend();
        var (batch, size) = BenchmarkArguments.Shape(Shape);
        _batch = randint(0, 256, [batch, 3, size, size], generator: new Generator(1)).to(ScalarType.Byte);
        _augmentation = Recipe == "MocoV2" ? AugmentationPresets.MocoV2(size) : AugmentationPresets.SmallImage(size, 3);
        _random = new SeededRandom(1);
    }

    [GlobalCleanup]
    public void Cleanup() => _batch.Dispose();

    [Benchmark]
    public long TwoViews()
    {
        using var scope = NewDisposeScope();
        var (first, second) = _augmentation.Apply(_batch, _random);
        return first.shape[0] + second.shape[0];
    }
}
