using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using UnsupervisedFinetuning.Backbones;
using UnsupervisedFinetuning.Data;
using UnsupervisedFinetuning.Engine;
using UnsupervisedFinetuning.Methods;
using UnsupervisedFinetuning.Mixing;
using UnsupervisedFinetuning.Replay;

namespace UnsupervisedFinetuning.DependencyInjection;

/// <summary>Registers the finetuning engine, and the method, replay and mixing it composes.</summary>
/// <example><code>
/// services.AddUnsupervisedFinetuning(o => { o.Steps = 500; o.BatchSize = 128; })
///         .AddMocoV2(o => o.Temperature = 0.2)
///         .AddSparseReplay(o => o.Ratio = 0.25)
///         .AddMixup(o => o.Alpha = 1.0);
/// var engine = provider.GetRequiredService&lt;FinetuneEngine&gt;();
/// </code></example>
public static class ServiceCollectionExtensions
{
    /// <summary>
    /// Adds <see cref="FinetuneEngine"/> (transient) with validated <see cref="FinetuneOptions"/>, and the
    /// defaults it composes unless something else is registered: MoCo v2 (<see cref="ISelfSupervisedMethod"/>),
    /// no replay (<see cref="IReplaySampler"/>), no mixing (<see cref="IMixingStrategy"/>). Choose others on
    /// the returned builder, or register your own implementations of those interfaces before or after this call.
    /// Also adds the catalogs — <see cref="Catalog{TEntry}"/> of <see cref="MethodEntry"/>, <see cref="MixingEntry"/>,
    /// <see cref="ReplaySelectionEntry"/>, <see cref="ArchitectureEntry"/> and <see cref="ImageSourceEntry"/>: the built-in entries and every entry added with
    /// <see cref="UnsupervisedFinetuningBuilderExtensions.AddToCatalog(IUnsupervisedFinetuningBuilder, MethodEntry)"/>
    /// (or registered as a singleton of its entry type).
    /// </summary>
    public static IUnsupervisedFinetuningBuilder AddUnsupervisedFinetuning(this IServiceCollection services, Action<FinetuneOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        var options = services.AddOptions<FinetuneOptions>();
        if (configure is not null)
        {
            options.Configure(configure);
        }

        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<FinetuneOptions>, FinetuneOptionsValidator>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<MocoV2Options>, MocoV2OptionsValidator>());
        services.TryAddSingleton<ISelfSupervisedMethod>(sp => new MocoV2(sp.GetRequiredService<IOptions<MocoV2Options>>().Value));
        services.TryAddSingleton<IReplaySampler>(NoReplay.Instance);
        services.TryAddSingleton<IMixingStrategy>(NoMixing.Instance);
        services.TryAddTransient<FinetuneEngine>();
        services.TryAddSingleton(sp => WithRegistered(MethodCatalog.BuiltIn, sp));
        services.TryAddSingleton(sp => WithRegistered(MixingCatalog.BuiltIn, sp));
        services.TryAddSingleton(sp => WithRegistered(ReplaySelectionCatalog.BuiltIn, sp));
        services.TryAddSingleton(sp => WithRegistered(ArchitectureCatalog.BuiltIn, sp));
        services.TryAddSingleton(sp => WithRegistered(ImageSourceCatalog.BuiltIn, sp));
        return new UnsupervisedFinetuningBuilder(services);
    }

    // The built-in catalog with the entries registered in the container, in registration order (a later entry of a
    // name replaces an earlier one, a built-in included).
    private static Catalog<TEntry> WithRegistered<TEntry>(Catalog<TEntry> builtIn, IServiceProvider services)
        where TEntry : class, ICatalogEntry =>
        services.GetServices<TEntry>().Aggregate(builtIn, (catalog, entry) => catalog.With(entry));
}
