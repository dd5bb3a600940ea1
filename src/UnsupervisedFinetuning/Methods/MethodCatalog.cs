namespace UnsupervisedFinetuning.Methods;

/// <summary>The self-supervised methods the library ships, by name; add your own with <see cref="Catalog{TEntry}.With"/>.</summary>
public static class MethodCatalog
{
    /// <summary>mocov2 (alias moco), simclr, byol, simsiam — in this order, which help texts and messages follow.</summary>
    public static Catalog<MethodEntry> BuiltIn { get; } = new([MocoV2.Entry, SimClr.Entry, Byol.Entry, SimSiam.Entry]);
}
