namespace UnsupervisedFinetuning.Engine;

/// <summary>Which two-view augmentation the engine builds when none is given.</summary>
public enum AugmentationPreset
{
    /// <summary>SmallImage for images up to 64 px, otherwise the objective's own recipe.</summary>
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
