using Microsoft.Extensions.DependencyInjection;
using UnsupervisedFinetuning.Backbones;
using UnsupervisedFinetuning.Data;
using UnsupervisedFinetuning.Methods;
using UnsupervisedFinetuning.Mixing;
using UnsupervisedFinetuning.Replay;

namespace UnsupervisedFinetuning.Cli;

/// <summary>
/// The catalogs uft finds names in: <c>--method</c>, <c>--mixing</c>, <c>--replay-selection</c>, <c>--arch</c> and
/// the architecture a model card names, the sources that open an image path, the settings file's sections and the
/// search grid. The tool runs with the built-in ones; a host that composes uft (a test, an app that
/// embeds it) gives catalogs with entries of its own, e.g. from a service container.
/// </summary>
internal sealed record UftCatalogs(
    Catalog<MethodEntry> Methods, Catalog<MixingEntry> Mixing, Catalog<ReplaySelectionEntry> Selections, Catalog<ArchitectureEntry> Architectures, Catalog<ImageSourceEntry> Sources)
{
    public static UftCatalogs BuiltIn { get; } = new(MethodCatalog.BuiltIn, MixingCatalog.BuiltIn, ReplaySelectionCatalog.BuiltIn, ArchitectureCatalog.BuiltIn, ImageSourceCatalog.BuiltIn);

    /// <summary>The catalogs a container holds (<c>AddUnsupervisedFinetuning()</c> registers them, with every <c>AddToCatalog</c> entry).</summary>
    public static UftCatalogs From(IServiceProvider services) => new(
        services.GetRequiredService<Catalog<MethodEntry>>(),
        services.GetRequiredService<Catalog<MixingEntry>>(),
        services.GetRequiredService<Catalog<ReplaySelectionEntry>>(),
        services.GetRequiredService<Catalog<ArchitectureEntry>>(),
        services.GetRequiredService<Catalog<ImageSourceEntry>>());

    /// <summary>The mixing strategies that mix with an α (<see cref="MixingOptions"/>): the ones uft search can grid over.</summary>
    public Catalog<MixingEntry> AlphaMixing => new(Mixing.Where(m => m.OptionsType == typeof(MixingOptions)));

    /// <summary>The method named <paramref name="name"/>, or a usage error that lists the names there are.</summary>
    public MethodEntry Method(string name) =>
        Methods.Find(name) ?? throw new UsageException($"--method is '{name}'; expected {Methods.Describe()}.");

    /// <summary>The mixing strategy named <paramref name="name"/>, or a usage error that lists the names there are.</summary>
    public MixingEntry MixingStrategy(string name) =>
        Mixing.Find(name) ?? throw new UsageException($"--mixing is '{name}'; expected {Mixing.Describe()}.");

    /// <summary>The replay selection rule named <paramref name="name"/>, or a usage error that lists the names there are.</summary>
    public ReplaySelectionEntry Selection(string name) =>
        Selections.Find(name) ?? throw new UsageException($"--replay-selection is '{name}'; expected {Selections.Describe()}.");
}
