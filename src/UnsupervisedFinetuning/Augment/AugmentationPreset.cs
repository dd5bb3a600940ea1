namespace UnsupervisedFinetuning.Augment;

/// <summary>A published two-view augmentation recipe (see <see cref="AugmentationPresets"/>).</summary>
public enum AugmentationPreset
{
    /// <summary>SmallImage for images up to 64 px, otherwise the recipe of the method that runs.</summary>
    Auto,

    /// <summary>The MoCo v2 recipe.</summary>
    MocoV2,

    /// <summary>The SimCLR recipe.</summary>
    SimClr,

    /// <summary>The BYOL recipe (asymmetric views).</summary>
    Byol,

    /// <summary>The small-image recipe (no blur).</summary>
    SmallImage,
}
