using Microsoft.Extensions.Options;

namespace UnsupervisedFinetuning.Augment;

/// <summary>Which two-view augmentation the engine builds when it is not given one.</summary>
public sealed class AugmentationOptions
{
    /// <summary>The recipe. Default <see cref="AugmentationPreset.Auto"/>: small-image for views up to 64 px, otherwise the running method's own.</summary>
    public AugmentationPreset Preset { get; set; } = AugmentationPreset.Auto;

    /// <summary>Side of the square training views in pixels. Default null: the target images' height.</summary>
    public int? ImageSize { get; set; }

    /// <summary>Per-channel normalisation mean. Default null: 0.5 per channel for small images and non-RGB data, ImageNet's otherwise.</summary>
    public float[]? NormalizationMean { get; set; }

    /// <summary>Per-channel normalisation standard deviation, set together with the mean. Default null (see <see cref="NormalizationMean"/>).</summary>
    public float[]? NormalizationStd { get; set; }
}

/// <summary>Validates <see cref="AugmentationOptions"/>, naming every field that is out of range.</summary>
internal sealed class AugmentationOptionsValidator : IValidateOptions<AugmentationOptions>
{
    private readonly string _path;

    public AugmentationOptionsValidator(string path = nameof(AugmentationOptions)) => _path = path;

    public ValidateOptionsResult Validate(string? name, AugmentationOptions options)
    {
        var check = new OptionsFailures(_path);
        check.Require(Enum.IsDefined(options.Preset), nameof(options.Preset), options.Preset, "a defined AugmentationPreset");
        check.Require(options.ImageSize is null or (> 0 and <= 4096), nameof(options.ImageSize), options.ImageSize, "null (the target images' size) or a side of 1 to 4096 pixels");
        check.Require((options.NormalizationMean is null) == (options.NormalizationStd is null), nameof(options.NormalizationStd), options.NormalizationStd, "set together with NormalizationMean (both or neither)");
        check.Require(options.NormalizationMean is null || options.NormalizationStd is null || options.NormalizationMean.Length == options.NormalizationStd.Length, nameof(options.NormalizationStd), options.NormalizationStd?.Length, $"one value per channel, like NormalizationMean ({options.NormalizationMean?.Length})");
        check.Require(options.NormalizationStd is null || options.NormalizationStd.All(s => float.IsFinite(s) && s > 0), nameof(options.NormalizationStd), options.NormalizationStd, "finite values > 0");
        return check.Result();
    }
}
