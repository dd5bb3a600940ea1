using Microsoft.Extensions.Options;
using UnsupervisedFinetuning.Mixing;
using UnsupervisedFinetuning.Replay;

namespace UnsupervisedFinetuning.Engine;

/// <summary>Checks <see cref="FinetuneOptions"/>; every failure names the field, its value and what is expected.</summary>
public sealed class FinetuneOptionsValidator : IValidateOptions<FinetuneOptions>
{
    /// <summary>Validates the options; throws <see cref="OptionsValidationException"/> listing every failure.</summary>
    public static void ThrowIfInvalid(FinetuneOptions options)
    {
        var result = new FinetuneOptionsValidator().Validate(Microsoft.Extensions.Options.Options.DefaultName, options);
        if (result.Failed)
        {
            throw new OptionsValidationException(Microsoft.Extensions.Options.Options.DefaultName, typeof(FinetuneOptions), result.Failures);
        }
    }

    /// <inheritdoc />
    public ValidateOptionsResult Validate(string? name, FinetuneOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var failures = new List<string>();
        void Require(bool ok, string field, object? value, string expected)
        {
            if (!ok)
            {
                failures.Add($"FinetuneOptions.{field} is {Format(value)}; expected {expected}.");
            }
        }

        Require(Enum.IsDefined(options.Objective), nameof(options.Objective), options.Objective, "MocoV2, SimClr or Byol");
        Require(options.Temperature == 0 || (options.Temperature >= 1e-8 && double.IsFinite(options.Temperature)), nameof(options.Temperature), options.Temperature, "0 (objective default) or a finite value ≥ 1e-8");
        Require(options.QueueSize >= 0, nameof(options.QueueSize), options.QueueSize, "0 (automatic) or a positive size");
        Require(options.QueueSize == 0 || options.QueueSize >= options.BatchSize, nameof(options.QueueSize), options.QueueSize, $"at least the batch size ({options.BatchSize}) so a whole batch of keys fits");
        Require(options.ProjectionDimension >= 0, nameof(options.ProjectionDimension), options.ProjectionDimension, "0 (automatic) or positive");
        Require(options.ProjectionHiddenDimension >= 0, nameof(options.ProjectionHiddenDimension), options.ProjectionHiddenDimension, "0 (automatic) or positive");
        Require(options.PredictorHiddenDimension >= 0, nameof(options.PredictorHiddenDimension), options.PredictorHiddenDimension, "0 (automatic) or positive");
        Require(options.Steps >= 0, nameof(options.Steps), options.Steps, "0 (use Epochs) or a positive number of steps");
        Require(options.Steps > 0 || options.Epochs > 0, nameof(options.Epochs), options.Epochs, "a positive number of epochs when Steps is 0");
        Require(options.BatchSize >= 2, nameof(options.BatchSize), options.BatchSize, "at least 2 (batch statistics and in-batch negatives need two images)");
        Require(Enum.IsDefined(options.Optimizer), nameof(options.Optimizer), options.Optimizer, "Sgd, AdamW or Lars");
        Require(options.LearningRate > 0 && double.IsFinite(options.LearningRate), nameof(options.LearningRate), options.LearningRate, "a finite value > 0");
        Require(options.MinLearningRate >= 0 && options.MinLearningRate <= options.LearningRate, nameof(options.MinLearningRate), options.MinLearningRate, $"a value in [0, LearningRate = {options.LearningRate}]");
        Require(options.WarmupFraction >= 0 && options.WarmupFraction < 1, nameof(options.WarmupFraction), options.WarmupFraction, "a value in [0, 1)");
        Require(options.OptimizerMomentum >= 0 && options.OptimizerMomentum < 1, nameof(options.OptimizerMomentum), options.OptimizerMomentum, "a value in [0, 1)");
        Require(options.WeightDecay >= 0 && double.IsFinite(options.WeightDecay), nameof(options.WeightDecay), options.WeightDecay, "a finite value ≥ 0");
        Require(options.LarsTrustCoefficient > 0 && double.IsFinite(options.LarsTrustCoefficient), nameof(options.LarsTrustCoefficient), options.LarsTrustCoefficient, "a finite value > 0");
        Require(options.EmaMomentum >= 0 && options.EmaMomentum <= 1, nameof(options.EmaMomentum), options.EmaMomentum, "a value in [0, 1]");
        Require(TorchDevices.IsValidName(options.Device), nameof(options.Device), options.Device, "'auto', 'cpu', 'cuda', 'cuda:N' or 'mps'");
        Require(options.ImageSize >= 0, nameof(options.ImageSize), options.ImageSize, "0 (the target images' size) or a positive side in pixels");
        Require(Enum.IsDefined(options.Augmentation), nameof(options.Augmentation), options.Augmentation, "a defined AugmentationPreset");
        Require((options.NormalizationMean is null) == (options.NormalizationStd is null), nameof(options.NormalizationStd), options.NormalizationStd, "set together with NormalizationMean (both or neither)");
        Require(options.NormalizationMean is null || options.NormalizationStd is null || options.NormalizationMean.Length == options.NormalizationStd.Length, nameof(options.NormalizationStd), options.NormalizationStd?.Length, $"one value per channel, like NormalizationMean ({options.NormalizationMean?.Length})");
        Require(Enum.IsDefined(options.NonFiniteLoss), nameof(options.NonFiniteLoss), options.NonFiniteLoss, "Throw or SkipStep");
        Require(options.CheckpointEverySteps >= 0, nameof(options.CheckpointEverySteps), options.CheckpointEverySteps, "0 (end and cancellation only) or positive");
        Require(options.TrimNativeMemoryEverySteps >= 0, nameof(options.TrimNativeMemoryEverySteps), options.TrimNativeMemoryEverySteps, "0 (never) or a positive number of steps");
        Require(options.ProgressEverySteps >= 1, nameof(options.ProgressEverySteps), options.ProgressEverySteps, "at least 1");

        var replay = options.Replay;
        if (replay is null)
        {
            failures.Add("FinetuneOptions.Replay is null; expected a ReplayOptions instance.");
        }
        else
        {
            Require(Enum.IsDefined(replay.Mode), "Replay.Mode", replay.Mode, "None or Sparse");
            Require(replay.Count >= 0, "Replay.Count", replay.Count, "0 (use Ratio) or a positive number of source images");
            Require(replay.Mode == ReplayMode.None || replay.Count > 0 || (replay.Ratio > 0 && double.IsFinite(replay.Ratio)), "Replay.Ratio", replay.Ratio, "a finite value > 0 when Count is 0");
            Require(Enum.IsDefined(replay.Composition), "Replay.Composition", replay.Composition, "Union or FixedShare");
            Require(Enum.IsDefined(replay.Selection), "Replay.Selection", replay.Selection, "Uniform");
        }

        var mixing = options.Mixing;
        if (mixing is null)
        {
            failures.Add("FinetuneOptions.Mixing is null; expected a MixingOptions instance.");
        }
        else
        {
            Require(Enum.IsDefined(mixing.Mode), "Mixing.Mode", mixing.Mode, "None, Mixup or CutMix");
            Require(mixing.Alpha > 0 && double.IsFinite(mixing.Alpha), "Mixing.Alpha", mixing.Alpha, "a finite value > 0 (λ ~ Beta(α, α))");
            Require(mixing.Probability >= 0 && mixing.Probability <= 1, "Mixing.Probability", mixing.Probability, "a value in [0, 1]");
            Require(Enum.IsDefined(mixing.Partners), "Mixing.Partners", mixing.Partners, "TargetOnly or All");
            Require(Enum.IsDefined(mixing.LossForm), "Mixing.LossForm", mixing.LossForm, "UnMix or IMix");
            Require(Enum.IsDefined(mixing.Compute), "Mixing.Compute", mixing.Compute, "Replace or Add");
            Require(mixing.Mode == MixingMode.None || mixing.LossForm != MixingLossForm.IMix || options.Objective == ObjectiveKind.MocoV2, "Mixing.LossForm", mixing.LossForm, "UnMix unless Objective is MocoV2 (the i-Mix form needs InfoNCE's keys and queue)");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }

    private static string Format(object? value) => value switch
    {
        null => "null",
        string s => $"'{s}'",
        float[] a => $"[{string.Join(", ", a)}]",
        double d => d.ToString(System.Globalization.CultureInfo.InvariantCulture),
        _ => value.ToString() ?? "null",
    };
}
