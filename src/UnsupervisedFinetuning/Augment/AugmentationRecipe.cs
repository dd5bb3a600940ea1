namespace UnsupervisedFinetuning.Augment;

/// <summary>Builds a method's two views at a view size, for images of some channels, with a normalisation.</summary>
/// <param name="size">Side of the square views, in pixels.</param>
/// <param name="channels">Channels of the images (1 or 3 for the built-in recipes).</param>
/// <param name="mean">Per-channel normalisation mean (null: the recipe's own default).</param>
/// <param name="std">Per-channel normalisation standard deviation (null: the recipe's own default).</param>
public delegate TwoViewAugmentation AugmentationFactory(int size, int channels, IReadOnlyList<float>? mean, IReadOnlyList<float>? std);

/// <summary>
/// A self-supervised method's own augmentation — the views its paper trains on — carried by the method itself
/// (<see cref="Methods.ISelfSupervisedMethod.Augmentation"/>), so a new method brings its recipe instead of choosing
/// one from a fixed list. The engine builds it at the run's view size when <see cref="AugmentationOptions.Preset"/> is
/// <see cref="AugmentationPreset.Auto"/> and the views are larger than 64 px; smaller views get
/// <see cref="SmallImage"/>.
/// </summary>
/// <example><code>
/// public AugmentationRecipe Augmentation { get; } = new("my views", (size, channels, mean, std) =>
///     new TwoViewAugmentation(new AugmentationPipeline(new RandomResizedCrop(size, size), new Normalize(mean ?? Normalize.ImageNetMean, std ?? Normalize.ImageNetStd))));
/// </code></example>
public sealed class AugmentationRecipe
{
    private readonly AugmentationFactory _create;

    /// <summary>A recipe of this name that builds its views with <paramref name="create"/>.</summary>
    /// <exception cref="ArgumentException">The name is empty.</exception>
    public AugmentationRecipe(string name, AugmentationFactory create)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        ArgumentNullException.ThrowIfNull(create);
        Name = name;
        _create = create;
    }

    /// <summary>The MoCo v2 views (<see cref="AugmentationPresets.MocoV2"/>).</summary>
    public static AugmentationRecipe MocoV2 { get; } = new("MoCo v2", (size, _, mean, std) => AugmentationPresets.MocoV2(size, mean, std));

    /// <summary>The SimCLR views (<see cref="AugmentationPresets.SimClr"/>).</summary>
    public static AugmentationRecipe SimClr { get; } = new("SimCLR", (size, _, mean, std) => AugmentationPresets.SimClr(size, mean, std));

    /// <summary>The asymmetric BYOL views (<see cref="AugmentationPresets.Byol"/>).</summary>
    public static AugmentationRecipe Byol { get; } = new("BYOL", (size, _, mean, std) => AugmentationPresets.Byol(size, mean, std));

    /// <summary>The small-image views, no blur (<see cref="AugmentationPresets.SmallImage"/>).</summary>
    public static AugmentationRecipe SmallImage { get; } = new("small image", (size, channels, mean, std) => AugmentationPresets.SmallImage(size, channels, flip: true, mean, std));

    /// <summary>The recipe's name, for logs and messages.</summary>
    public string Name { get; }

    /// <summary>The views at side <paramref name="size"/> for images of <paramref name="channels"/> channels.</summary>
    /// <exception cref="InvalidOperationException">The recipe's factory returned null.</exception>
    public TwoViewAugmentation Create(int size, int channels, IReadOnlyList<float>? mean = null, IReadOnlyList<float>? std = null) =>
        _create(size, channels, mean, std) ?? throw new InvalidOperationException($"The augmentation recipe '{Name}' returned no views for size {size}, {channels} channel(s).");

    /// <inheritdoc/>
    public override string ToString() => Name;
}
