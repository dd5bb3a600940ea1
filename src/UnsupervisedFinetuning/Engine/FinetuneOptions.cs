using UnsupervisedFinetuning.Augment;
using UnsupervisedFinetuning.Monitoring;

namespace UnsupervisedFinetuning.Engine;

/// <summary>How mixed query views spend compute.</summary>
public enum MixingCompute
{
    /// <summary>Mixed queries take the place of the plain ones: no extra pass, equal cost per step.</summary>
    Replace,

    /// <summary>
    /// A second, mixed query pass whose loss is averaged with the plain loss (as Un-Mix does): ≈ 1.7× the
    /// cost of a step, which a fair comparison must charge to it (see <see cref="FinetuneResult.OnlineImagePasses"/>).
    /// </summary>
    Add,
}

/// <summary>
/// What the engine owns in a run: its length, batch, optimizer and schedule, device, seed, checkpoints
/// and housekeeping. The method, replay and mixing have options of their own (<see cref="Methods.MocoV2Options"/>,
/// <see cref="Replay.SparseReplayOptions"/>, <see cref="Mixing.MixingOptions"/>, …). Validated when the
/// engine is built; defaults suit finetuning a pretrained backbone on a few hundred to a few thousand images.
/// </summary>
public sealed class FinetuneOptions
{
    /// <summary>Passes over the training set (target plus replayed images); used when <see cref="Steps"/> is null. Default 1.</summary>
    public int Epochs { get; set; } = 1;

    /// <summary>Total optimizer steps; overrides <see cref="Epochs"/> when set. Default null.</summary>
    public int? Steps { get; set; }

    /// <summary>Images per batch (target and replayed source together), at least 2. Default 128.</summary>
    public int BatchSize { get; set; } = 128;

    /// <summary>Optimizer. Default <see cref="OptimizerKind.Sgd"/>.</summary>
    public OptimizerKind Optimizer { get; set; } = OptimizerKind.Sgd;

    /// <summary>Peak learning rate, reached after warm-up. Default 0.03 (MoCo v2 for batch 256).</summary>
    public double LearningRate { get; set; } = 0.03;

    /// <summary>Learning rate at the end of the cosine decay, in [0, LearningRate]. Default 0.</summary>
    public double MinLearningRate { get; set; }

    /// <summary>Share of the steps spent in linear warm-up, in [0, 1). Default 0.05.</summary>
    public double WarmupFraction { get; set; } = 0.05;

    /// <summary>Momentum of SGD and LARS (β₁ of AdamW), in [0, 1). Default 0.9.</summary>
    public double OptimizerMomentum { get; set; } = 0.9;

    /// <summary>Weight decay. Default 1e-4.</summary>
    public double WeightDecay { get; set; } = 1e-4;

    /// <summary>LARS trust coefficient η. Default 0.001.</summary>
    public double LarsTrustCoefficient { get; set; } = 0.001;

    /// <summary>Seed of every random choice of the run (data order, replay, augmentation, mixing, new weights). Default 0.</summary>
    public long Seed { get; set; }

    /// <summary>Device: "auto" (CUDA when available, else CPU), "cpu", "cuda", "cuda:N", "mps". Default "auto".</summary>
    public string Device { get; set; } = TorchDevices.Auto;

    /// <summary>
    /// The dtype the training step's convolutions and linear layers compute in (mixed precision: weights,
    /// gradients, optimizer state, batch-norm statistics, the momentum encoder and the losses stay float32).
    /// Default <see cref="ComputePrecision.Float32"/>; <see cref="ComputePrecision.Auto"/> takes bfloat16 where
    /// the device computes it natively. <see cref="ComputePrecision.Float16"/> is refused: it needs loss scaling.
    /// </summary>
    public ComputePrecision Precision { get; set; } = ComputePrecision.Float32;

    /// <summary>How mixed query views spend compute when a mixing strategy is used. Default <see cref="MixingCompute.Replace"/>.</summary>
    public MixingCompute MixingCompute { get; set; } = MixingCompute.Replace;

    /// <summary>The two-view augmentation the engine builds when it is not given one.</summary>
    public AugmentationOptions Augmentation { get; set; } = new();

    /// <summary>What a NaN or infinite loss does. Default <see cref="NonFiniteLossPolicy.Throw"/>.</summary>
    public NonFiniteLossPolicy NonFiniteLoss { get; set; } = NonFiniteLossPolicy.Throw;

    /// <summary>Folder of the run's checkpoint; null writes none. Default null.</summary>
    public string? CheckpointDirectory { get; set; }

    /// <summary>Also write a checkpoint every N steps; null writes one only at the end and on cancellation. Default null.</summary>
    public int? CheckpointEverySteps { get; set; }

    /// <summary>
    /// Return freed native memory to the operating system every N steps (glibc's malloc_trim; see
    /// <see cref="NativeMemory"/>); null never does. Default 50: keeps resident memory flat over long runs
    /// at a cost of well under 1% of a step.
    /// </summary>
    public int? TrimNativeMemoryEverySteps { get; set; } = 50;

    /// <summary>Report progress every N steps. Default 1.</summary>
    public int ProgressEverySteps { get; set; } = 1;

    /// <summary>Label-free monitoring during the run, checkpoint selection and early stopping. On by default, at ≤ 5% of the compute.</summary>
    public MonitoringOptions Monitoring { get; set; } = new();

    /// <summary>A copy whose nested options (augmentation, monitoring) are copies too, so changing it leaves this one alone.</summary>
    internal FinetuneOptions Copy()
    {
        var copy = (FinetuneOptions)MemberwiseClone();
        copy.Augmentation = (AugmentationOptions)Copy(Augmentation);
        copy.Monitoring = (MonitoringOptions)Copy(Monitoring);
        return copy;
    }

    private static object Copy(object options)
    {
        var copy = Activator.CreateInstance(options.GetType())!;
        foreach (var property in options.GetType().GetProperties().Where(p => p.CanRead && p.CanWrite))
        {
            object? value = property.GetValue(options);
            property.SetValue(copy, value is Array array ? array.Clone() : value); // e.g. the normalisation vectors
        }

        return copy;
    }
}
