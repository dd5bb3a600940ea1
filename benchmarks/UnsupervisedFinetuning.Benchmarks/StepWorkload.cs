using UnsupervisedFinetuning.Augment;
using UnsupervisedFinetuning.Backbones;
using UnsupervisedFinetuning.Data;
using UnsupervisedFinetuning.Engine;
using UnsupervisedFinetuning.Methods;
using UnsupervisedFinetuning.Mixing;
using UnsupervisedFinetuning.Replay;
using static TorchSharp.torch;

namespace UnsupervisedFinetuning.Benchmarks;

/// <summary>
/// The step the throughput figures are about: MoCo v2 on ResNet-18 with torchvision's standard stem,
/// 32×32 RGB, batch 128, queue 4096, MLP head 512 → 512 → 128, SGD with momentum, m = 0.99, τ = 0.2.
/// Images are seeded uint8 noise (the data's content does not change the cost).
/// </summary>
internal static class StepWorkload
{
    public const int BatchSize = 128;
    public const int QueueSize = 4096;
    public const int ImageSize = 32;

    public static InMemoryImageDataset Images(int count, long seed) =>
        new(randint(0, 256, [count, 3, ImageSize, ImageSize], generator: new Generator((ulong)seed)).to(ScalarType.Byte));

    public static ResNet Backbone(long seed = 0)
    {
        random.manual_seed(seed);
        return new ResNet(ResNetDepth.ResNet18, ResNetStem.ImageNet, 3, 64);
    }

    public static FinetuneOptions Options(int steps) => new()
    {
        Steps = steps,
        BatchSize = BatchSize,
        LearningRate = 0.03,
        Device = "cpu",
        Seed = 1,
        ProgressEverySteps = int.MaxValue,
    };

    /// <summary>MoCo v2 as the bare loop runs it: queue 4096, head 512 → 512 → 128, τ 0.2, m 0.99.</summary>
    public static MocoV2 Method() => new(new MocoV2Options { QueueSize = QueueSize, ProjectionDimension = 128, Temperature = 0.2, Momentum = 0.99 });

    /// <summary>The engine of the throughput figures, with sparse replay (ratio 0.25) and mixup when asked.</summary>
    public static FinetuneEngine Engine(FinetuneOptions options, bool replay, bool mixing, TwoViewAugmentation augmentation) => FinetuneEngine.Create(
        options,
        Method(),
        replay ? new SparseSourceReplay(new SparseReplayOptions { Ratio = 0.25 }) : null,
        mixing ? new Mixup() : null,
        augmentation);

    /// <summary>The MoCo v2 recipe at 32 px (what the engine uses unless told otherwise for 32 px images is the small-image one; the benchmark pins MoCo v2's).</summary>
    public static TwoViewAugmentation Augmentation() => AugmentationPresets.MocoV2(ImageSize);

    /// <summary>No augmentation: uint8 → float views (identical), for model-only comparisons with the PyTorch peer.</summary>
    public static TwoViewAugmentation Identity() => new(new AugmentationPipeline());
}
