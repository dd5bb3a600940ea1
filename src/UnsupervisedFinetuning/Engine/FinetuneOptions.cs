using UnsupervisedFinetuning.Mixing;
using UnsupervisedFinetuning.Replay;

namespace UnsupervisedFinetuning.Engine;

/// <summary>
/// Everything a finetuning run is configured with; validated by <see cref="FinetuneOptionsValidator"/>
/// when the engine is built. Defaults suit unsupervised finetuning of a pretrained backbone on a few
/// hundred to a few thousand images.
/// </summary>
public sealed class FinetuneOptions
{
    /// <summary>Objective (and so method). Default <see cref="ObjectiveKind.MocoV2"/>.</summary>
    public ObjectiveKind Objective { get; set; } = ObjectiveKind.MocoV2;

    /// <summary>Temperature τ; 0 picks the objective's default (MoCo v2 0.2, SimCLR 0.5; unused by BYOL).</summary>
    public double Temperature { get; set; }

    /// <summary>Negative queue size K; 0 picks the largest multiple of the batch size not above min(4096, |D_t ∪ S|).</summary>
    public int QueueSize { get; set; }

    /// <summary>Embedding width of the projection head; 0 picks 128 (MoCo v2, SimCLR) or 256 (BYOL).</summary>
    public int ProjectionDimension { get; set; }

    /// <summary>Hidden width of the projection head; 0 picks the backbone's feature width (MoCo v2, SimCLR) or 4096 (BYOL).</summary>
    public int ProjectionHiddenDimension { get; set; }

    /// <summary>Hidden width of BYOL's predictor; 0 picks 4096.</summary>
    public int PredictorHiddenDimension { get; set; }

    /// <summary>Passes over the training set; used when <see cref="Steps"/> is 0. Default 1.</summary>
    public int Epochs { get; set; } = 1;

    /// <summary>Total optimizer steps; overrides <see cref="Epochs"/> when positive. Default 0.</summary>
    public int Steps { get; set; }

    /// <summary>Images per batch (target and replayed source together). Default 128.</summary>
    public int BatchSize { get; set; } = 128;

    /// <summary>Optimizer. Default <see cref="OptimizerKind.Sgd"/>.</summary>
    public OptimizerKind Optimizer { get; set; } = OptimizerKind.Sgd;

    /// <summary>Peak learning rate, reached after warm-up. Default 0.03 (MoCo v2 for batch 256).</summary>
    public double LearningRate { get; set; } = 0.03;

    /// <summary>Learning rate at the end of the cosine decay. Default 0.</summary>
    public double MinLearningRate { get; set; }

    /// <summary>Share of the steps spent in linear warm-up, in [0, 1). Default 0.05.</summary>
    public double WarmupFraction { get; set; } = 0.05;

    /// <summary>Momentum of SGD and LARS (β₁ of AdamW). Default 0.9.</summary>
    public double OptimizerMomentum { get; set; } = 0.9;

    /// <summary>Weight decay. Default 1e-4.</summary>
    public double WeightDecay { get; set; } = 1e-4;

    /// <summary>LARS trust coefficient η. Default 0.001.</summary>
    public double LarsTrustCoefficient { get; set; } = 0.001;

    /// <summary>EMA coefficient m of the momentum target, in [0, 1]. Default 0.99.</summary>
    public double EmaMomentum { get; set; } = 0.99;

    /// <summary>Seed of every random choice of the run. Default 0.</summary>
    public long Seed { get; set; }

    /// <summary>Device: "auto" (CUDA when available, else CPU), "cpu", "cuda", "cuda:N", "mps". Default "auto".</summary>
    public string Device { get; set; } = TorchDevices.Auto;

    /// <summary>Side of the square training views in pixels; 0 keeps the target images' height. Default 0.</summary>
    public int ImageSize { get; set; }

    /// <summary>Augmentation recipe when the engine is not given one. Default <see cref="AugmentationPreset.Auto"/>.</summary>
    public AugmentationPreset Augmentation { get; set; } = AugmentationPreset.Auto;

    /// <summary>Per-channel normalisation mean; null picks the recipe's default (0.5 for small images, ImageNet's otherwise).</summary>
    public float[]? NormalizationMean { get; set; }

    /// <summary>Per-channel normalisation standard deviation; null picks the recipe's default.</summary>
    public float[]? NormalizationStd { get; set; }

    /// <summary>What a NaN or infinite loss does. Default <see cref="NonFiniteLossPolicy.Throw"/>.</summary>
    public NonFiniteLossPolicy NonFiniteLoss { get; set; } = NonFiniteLossPolicy.Throw;

    /// <summary>Folder of the run's checkpoint; null writes none. Default null.</summary>
    public string? CheckpointDirectory { get; set; }

    /// <summary>Write a checkpoint every N steps (also at the end and on cancellation); 0 only at the end and on cancellation. Default 0.</summary>
    public int CheckpointEverySteps { get; set; }

    /// <summary>
    /// Return freed native memory to the operating system every N steps (glibc's malloc_trim; see
    /// <see cref="NativeMemory"/>); 0 never does. Default 50: keeps resident memory flat over long runs
    /// at a cost of well under 1% of a step.
    /// </summary>
    public int TrimNativeMemoryEverySteps { get; set; } = 50;

    /// <summary>Report progress every N steps. Default 1.</summary>
    public int ProgressEverySteps { get; set; } = 1;

    /// <summary>Sparse source replay. Default: none.</summary>
    public ReplayOptions Replay { get; set; } = new();

    /// <summary>Data mixing. Default: none.</summary>
    public MixingOptions Mixing { get; set; } = new();

    /// <summary>The temperature in effect: <see cref="Temperature"/> or the objective's default.</summary>
    public double EffectiveTemperature => Temperature > 0 ? Temperature : Objective == ObjectiveKind.SimClr ? 0.5 : 0.2;
}
