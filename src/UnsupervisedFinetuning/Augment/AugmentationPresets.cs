namespace UnsupervisedFinetuning.Augment;

/// <summary>
/// The two-view augmentations of the published methods, scaled to an output size. Kernel sizes of the
/// blur follow SimCLR (≈ 10% of the image side, odd).
/// </summary>
public static class AugmentationPresets
{
    /// <summary>
    /// MoCo v2 (Chen et al. 2020): RandomResizedCrop(scale 0.2–1), ColorJitter(0.4, 0.4, 0.4, 0.1) with p = 0.8,
    /// grayscale p = 0.2, Gaussian blur σ ∈ [0.1, 2] with p = 0.5, horizontal flip, normalisation; symmetric views.
    /// </summary>
    public static TwoViewAugmentation MocoV2(int size, IReadOnlyList<float>? mean = null, IReadOnlyList<float>? std = null) =>
        new(new AugmentationPipeline(
            new RandomResizedCrop(size, size, scaleMin: 0.2),
            new ColorJitter(0.4, 0.4, 0.4, 0.1, probability: 0.8),
            new RandomGrayscale(0.2),
            new GaussianBlur(BlurKernel(size), 0.1, 2.0, probability: 0.5),
            new RandomHorizontalFlip(0.5),
            new Normalize(mean ?? Normalize.ImageNetMean, std ?? Normalize.ImageNetStd)));

    /// <summary>
    /// SimCLR (Chen et al. 2020): RandomResizedCrop(scale 0.08–1), flip, ColorJitter(0.8, 0.8, 0.8, 0.2) with p = 0.8,
    /// grayscale p = 0.2, Gaussian blur σ ∈ [0.1, 2] with p = 0.5, normalisation; symmetric views.
    /// </summary>
    public static TwoViewAugmentation SimClr(int size, IReadOnlyList<float>? mean = null, IReadOnlyList<float>? std = null) =>
        new(new AugmentationPipeline(
            new RandomResizedCrop(size, size, scaleMin: 0.08),
            new RandomHorizontalFlip(0.5),
            new ColorJitter(0.8, 0.8, 0.8, 0.2, probability: 0.8),
            new RandomGrayscale(0.2),
            new GaussianBlur(BlurKernel(size), 0.1, 2.0, probability: 0.5),
            new Normalize(mean ?? Normalize.ImageNetMean, std ?? Normalize.ImageNetStd)));

    /// <summary>
    /// BYOL (Grill et al. 2020), asymmetric: both views RandomResizedCrop(0.08–1), flip, ColorJitter(0.4, 0.4, 0.2, 0.1)
    /// with p = 0.8, grayscale p = 0.2; blur p = 1.0 / 0.1 and solarize p = 0 / 0.2 for the first / second view.
    /// </summary>
    public static TwoViewAugmentation Byol(int size, IReadOnlyList<float>? mean = null, IReadOnlyList<float>? std = null)
    {
        AugmentationPipeline View(double blur, double solarize) => new(
            new RandomResizedCrop(size, size, scaleMin: 0.08),
            new RandomHorizontalFlip(0.5),
            new ColorJitter(0.4, 0.4, 0.2, 0.1, probability: 0.8),
            new RandomGrayscale(0.2),
            new GaussianBlur(BlurKernel(size), 0.1, 2.0, probability: blur),
            new RandomSolarize(0.5, probability: solarize),
            new Normalize(mean ?? Normalize.ImageNetMean, std ?? Normalize.ImageNetStd));
        return new TwoViewAugmentation(View(1.0, 0.0), View(0.1, 0.2));
    }

    /// <summary>
    /// For small images (28–32 px, e.g. MNIST, Fashion-MNIST, CIFAR): RandomResizedCrop(scale 0.2–1),
    /// optional horizontal flip, ColorJitter(0.4, 0.4, 0.4, 0.1) with p = 0.8 (saturation and hue act on RGB
    /// only), grayscale p = 0.2 for RGB, no blur (it erases most detail at this size), normalisation with
    /// mean 0.5 / std 0.5 per channel unless given.
    /// </summary>
    public static TwoViewAugmentation SmallImage(int size, int channels, bool flip = true, IReadOnlyList<float>? mean = null, IReadOnlyList<float>? std = null)
    {
        if (channels is not (1 or 3))
        {
            throw new ArgumentOutOfRangeException(nameof(channels), channels, "Small-image augmentation supports 1 (grayscale) or 3 (RGB) channels.");
        }

        var steps = new List<IBatchTransform> { new RandomResizedCrop(size, size, scaleMin: 0.2) };
        if (flip)
        {
            steps.Add(new RandomHorizontalFlip(0.5));
        }

        steps.Add(new ColorJitter(0.4, 0.4, 0.4, 0.1, probability: 0.8));
        if (channels == 3)
        {
            steps.Add(new RandomGrayscale(0.2));
        }

        steps.Add(new Normalize(mean ?? Enumerable.Repeat(0.5f, channels).ToArray(), std ?? Enumerable.Repeat(0.5f, channels).ToArray()));
        return new TwoViewAugmentation(new AugmentationPipeline([.. steps]));
    }

    /// <summary>
    /// The augmentation <paramref name="options"/> ask for at output side <paramref name="size"/>:
    /// <see cref="AugmentationPreset.Auto"/> resolves to <see cref="AugmentationRecipe.SmallImage"/> up to 64 px
    /// and to <paramref name="methodRecipe"/> (the running method's own) above; another preset names its recipe.
    /// Without an explicit normalisation, images that are not RGB are normalised with 0.5 / 0.5 per channel.
    /// </summary>
    /// <param name="options">The preset and normalisation.</param>
    /// <param name="methodRecipe">The recipe of the method that runs (<see cref="Methods.ISelfSupervisedMethod.Augmentation"/>).</param>
    /// <param name="channels">Channels of the images.</param>
    /// <param name="size">Side of the square views.</param>
    public static TwoViewAugmentation Create(AugmentationOptions options, AugmentationRecipe methodRecipe, int channels, int size)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(methodRecipe);
        var recipe = options.Preset switch
        {
            AugmentationPreset.Auto => size <= 64 ? AugmentationRecipe.SmallImage : methodRecipe,
            AugmentationPreset.MocoV2 => AugmentationRecipe.MocoV2,
            AugmentationPreset.SimClr => AugmentationRecipe.SimClr,
            AugmentationPreset.Byol => AugmentationRecipe.Byol,
            _ => AugmentationRecipe.SmallImage,
        };
        IReadOnlyList<float>? mean = options.NormalizationMean;
        IReadOnlyList<float>? std = options.NormalizationStd;
        if (mean is null && channels != 3)
        {
            mean = Enumerable.Repeat(0.5f, channels).ToArray();
            std = Enumerable.Repeat(0.5f, channels).ToArray();
        }

        return recipe.Create(size, channels, mean, std);
    }

    /// <summary>
    /// As <see cref="Create(AugmentationOptions, AugmentationRecipe, int, int)"/> with a preset's recipe as the
    /// method's (<see cref="AugmentationPreset.Auto"/>: the small-image recipe at every size).
    /// </summary>
    public static TwoViewAugmentation Create(AugmentationOptions options, AugmentationPreset methodRecipe, int channels, int size) =>
        Create(options, methodRecipe switch
        {
            AugmentationPreset.MocoV2 => AugmentationRecipe.MocoV2,
            AugmentationPreset.SimClr => AugmentationRecipe.SimClr,
            AugmentationPreset.Byol => AugmentationRecipe.Byol,
            _ => AugmentationRecipe.SmallImage,
        }, channels, size);

    /// <summary>An odd blur kernel of about 10% of the image side, at least 3.</summary>
    public static int BlurKernel(int size)
    {
        int k = (int)Math.Round(size * 0.1);
        k = Math.Max(3, k);
        return k % 2 == 0 ? k + 1 : k;
    }
}
