namespace UnsupervisedFinetuning.Mixing;

/// <summary>The mixing strategies the library ships, by name; add your own with <see cref="Catalog{TEntry}.With"/>.</summary>
public static class MixingCatalog
{
    /// <summary>none, mixup, cutmix — in this order.</summary>
    public static Catalog<MixingEntry> BuiltIn { get; } = new([NoMixing.Entry, Mixup.Entry, CutMix.Entry]);
}
