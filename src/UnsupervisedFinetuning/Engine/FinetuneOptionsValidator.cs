using Microsoft.Extensions.Options;
using UnsupervisedFinetuning.Augment;
using UnsupervisedFinetuning.Monitoring;

namespace UnsupervisedFinetuning.Engine;

/// <summary>Checks <see cref="FinetuneOptions"/>; every failure names the field, its value and what is expected.</summary>
internal sealed class FinetuneOptionsValidator : IValidateOptions<FinetuneOptions>
{
    /// <inheritdoc />
    public ValidateOptionsResult Validate(string? name, FinetuneOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var check = new OptionsFailures(nameof(FinetuneOptions));
        check.Require(options.Steps is null or > 0, nameof(options.Steps), options.Steps, "null (use Epochs) or a positive number of steps");
        check.Require(options.Steps is not null || options.Epochs > 0, nameof(options.Epochs), options.Epochs, "a positive number of epochs when Steps is null");
        check.Require(options.BatchSize >= 2, nameof(options.BatchSize), options.BatchSize, "at least 2 (batch statistics and in-batch negatives need two images)");
        check.Require(Enum.IsDefined(options.Optimizer), nameof(options.Optimizer), options.Optimizer, "Sgd, AdamW or Lars");
        check.Require(double.IsFinite(options.LearningRate) && options.LearningRate > 0, nameof(options.LearningRate), options.LearningRate, "a finite value > 0");
        // Only meaningful against a valid peak: a negative learning rate is reported once, above.
        check.Require(!(options.LearningRate > 0) || options.MinLearningRate is >= 0 && options.MinLearningRate <= options.LearningRate, nameof(options.MinLearningRate), options.MinLearningRate, $"a value in [0, LearningRate = {OptionsFailures.Format(options.LearningRate)}]");
        check.Require(options.WarmupFraction is >= 0 and < 1, nameof(options.WarmupFraction), options.WarmupFraction, "a value in [0, 1)");
        check.Require(options.OptimizerMomentum is >= 0 and < 1, nameof(options.OptimizerMomentum), options.OptimizerMomentum, "a value in [0, 1)");
        check.Require(OptionsValidation.IsFiniteAtLeast(options.WeightDecay, 0), nameof(options.WeightDecay), options.WeightDecay, "a finite value ≥ 0");
        check.Require(double.IsFinite(options.LarsTrustCoefficient) && options.LarsTrustCoefficient > 0, nameof(options.LarsTrustCoefficient), options.LarsTrustCoefficient, "a finite value > 0");
        check.Require(TorchDevices.IsValidName(options.Device), nameof(options.Device), options.Device, "'auto', 'cpu', 'cuda', 'cuda:N' or 'mps'");
        check.Require(Enum.IsDefined(options.Precision), nameof(options.Precision), options.Precision, "Float32, BFloat16 or Auto");
        // Float16's 5-bit exponent underflows small gradients to zero; training in it needs dynamic loss scaling.
        check.Require(options.Precision != ComputePrecision.Float16, nameof(options.Precision), options.Precision,
            "Float32, BFloat16 or Auto (Float16 training needs dynamic loss scaling, which this version does not implement; BFloat16 has float32's range and needs none)");
        check.Require(Enum.IsDefined(options.MixingCompute), nameof(options.MixingCompute), options.MixingCompute, "Replace or Add");
        check.Require(Enum.IsDefined(options.NonFiniteLoss), nameof(options.NonFiniteLoss), options.NonFiniteLoss, "Throw or SkipStep");
        check.Require(options.CheckpointEverySteps is null or > 0, nameof(options.CheckpointEverySteps), options.CheckpointEverySteps, "null (end and cancellation only) or a positive number of steps");
        check.Require(options.TrimNativeMemoryEverySteps is null or > 0, nameof(options.TrimNativeMemoryEverySteps), options.TrimNativeMemoryEverySteps, "null (never) or a positive number of steps");
        check.Require(options.ProgressEverySteps >= 1, nameof(options.ProgressEverySteps), options.ProgressEverySteps, "at least 1");
        check.Require(options.Augmentation is not null, nameof(options.Augmentation), options.Augmentation, "an AugmentationOptions instance");
        if (options.Augmentation is not null)
        {
            check.AddNested(new AugmentationOptionsValidator($"{nameof(FinetuneOptions)}.{nameof(options.Augmentation)}").Validate(name, options.Augmentation));
        }

        check.Require(options.Monitoring is not null, nameof(options.Monitoring), options.Monitoring, "a MonitoringOptions instance");
        if (options.Monitoring is not null)
        {
            check.AddNested(new MonitoringOptionsValidator($"{nameof(FinetuneOptions)}.{nameof(options.Monitoring)}").Validate(name, options.Monitoring));
        }

        return check.Result();
    }
}
