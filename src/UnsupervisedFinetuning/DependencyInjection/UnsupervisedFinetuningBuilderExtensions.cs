using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using UnsupervisedFinetuning.Backbones;
using UnsupervisedFinetuning.Data;
using UnsupervisedFinetuning.Methods;
using UnsupervisedFinetuning.Mixing;
using UnsupervisedFinetuning.Replay;

namespace UnsupervisedFinetuning.DependencyInjection;

/// <summary>
/// Chooses the method, replay and mixing of the engine, one feature per call; each has options of its own,
/// validated when the engine is resolved. A later call of the same kind replaces an earlier one.
/// </summary>
public static class UnsupervisedFinetuningBuilderExtensions
{
    /// <summary>MoCo v2 (the default method) with these options.</summary>
    public static IUnsupervisedFinetuningBuilder AddMocoV2(this IUnsupervisedFinetuningBuilder builder, Action<MocoV2Options>? configure = null) =>
        builder.ValidateOptions<MocoV2Options, MocoV2OptionsValidator>().AddMethod(MocoV2.Entry.Name, configure);

    /// <summary>SimCLR with these options.</summary>
    public static IUnsupervisedFinetuningBuilder AddSimClr(this IUnsupervisedFinetuningBuilder builder, Action<SimClrOptions>? configure = null) =>
        builder.ValidateOptions<SimClrOptions, SimClrOptionsValidator>().AddMethod(SimClr.Entry.Name, configure);

    /// <summary>BYOL with these options.</summary>
    public static IUnsupervisedFinetuningBuilder AddByol(this IUnsupervisedFinetuningBuilder builder, Action<ByolOptions>? configure = null) =>
        builder.ValidateOptions<ByolOptions, ByolOptionsValidator>().AddMethod(Byol.Entry.Name, configure);

    /// <summary>SimSiam with these options.</summary>
    public static IUnsupervisedFinetuningBuilder AddSimSiam(this IUnsupervisedFinetuningBuilder builder, Action<SimSiamOptions>? configure = null) =>
        builder.ValidateOptions<SimSiamOptions, SimSiamOptionsValidator>().AddMethod(SimSiam.Entry.Name, configure);

    /// <summary>
    /// The method of the container's method catalog named <paramref name="name"/> (a built-in one, or one added with
    /// <see cref="AddToCatalog(IUnsupervisedFinetuningBuilder, MethodEntry)"/>), with options of its type configured here.
    /// </summary>
    /// <typeparam name="TOptions">The method's options type (<see cref="MethodEntry.OptionsType"/>).</typeparam>
    /// <exception cref="KeyNotFoundException">When the engine is resolved: no method has that name.</exception>
    /// <exception cref="ArgumentException">When the engine is resolved: the method takes options of another type.</exception>
    public static IUnsupervisedFinetuningBuilder AddMethod<TOptions>(this IUnsupervisedFinetuningBuilder builder, string name, Action<TOptions>? configure = null)
        where TOptions : class
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        var options = builder.Services.AddOptions<TOptions>();
        if (configure is not null)
        {
            options.Configure(configure);
        }

        builder.Services.Replace(ServiceDescriptor.Singleton(sp =>
            sp.GetRequiredService<Catalog<MethodEntry>>().Get(name).Create(sp.GetRequiredService<IOptions<TOptions>>().Value)));
        return builder;
    }

    /// <summary>Adds a method to the container's catalog (or replaces the one of its name): usable by name, e.g. with <see cref="AddMethod{TOptions}(IUnsupervisedFinetuningBuilder, string, Action{TOptions})"/>.</summary>
    public static IUnsupervisedFinetuningBuilder AddToCatalog(this IUnsupervisedFinetuningBuilder builder, MethodEntry entry) => builder.AddEntry(entry);

    /// <summary>Adds a mixing strategy to the container's catalog (or replaces the one of its name).</summary>
    public static IUnsupervisedFinetuningBuilder AddToCatalog(this IUnsupervisedFinetuningBuilder builder, MixingEntry entry) => builder.AddEntry(entry);

    /// <summary>Adds a backbone architecture to the container's catalog (or replaces the one of its name): model cards naming it load.</summary>
    public static IUnsupervisedFinetuningBuilder AddToCatalog(this IUnsupervisedFinetuningBuilder builder, ArchitectureEntry entry) => builder.AddEntry(entry);

    /// <summary>Adds an image source to the container's catalog (or replaces the one of its name): paths it claims open through it.</summary>
    public static IUnsupervisedFinetuningBuilder AddToCatalog(this IUnsupervisedFinetuningBuilder builder, ImageSourceEntry entry) => builder.AddEntry(entry);

    /// <summary>Adds a replay selection rule to the container's catalog (or replaces the one of its name).</summary>
    public static IUnsupervisedFinetuningBuilder AddToCatalog(this IUnsupervisedFinetuningBuilder builder, ReplaySelectionEntry entry) => builder.AddEntry(entry);

    /// <summary>Your own method, resolved from the container (its constructor's dependencies too).</summary>
    public static IUnsupervisedFinetuningBuilder AddMethod<TMethod>(this IUnsupervisedFinetuningBuilder builder)
        where TMethod : class, ISelfSupervisedMethod
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.Replace(ServiceDescriptor.Singleton<ISelfSupervisedMethod, TMethod>());
        return builder;
    }

    /// <summary>Sparse source replay with these options; selection by the registered <see cref="IReplaySelector"/> when one is, else by <see cref="SparseReplayOptions.Selection"/>.</summary>
    public static IUnsupervisedFinetuningBuilder AddSparseReplay(this IUnsupervisedFinetuningBuilder builder, Action<SparseReplayOptions>? configure = null)
    {
        Configure<SparseReplayOptions, SparseReplayOptionsValidator>(builder, Options.DefaultName, configure);
        builder.Services.Replace(ServiceDescriptor.Singleton<IReplaySampler>(sp =>
            new SparseSourceReplay(sp.GetRequiredService<IOptions<SparseReplayOptions>>().Value, sp.GetService<IReplaySelector>())));
        return builder;
    }

    /// <summary>
    /// Sparse source replay with the rule of the container's selection catalog named <paramref name="selection"/> (a
    /// built-in one such as "target-nearest", or one added with <see cref="AddToCatalog(IUnsupervisedFinetuningBuilder, ReplaySelectionEntry)"/>).
    /// </summary>
    /// <exception cref="KeyNotFoundException">When the engine is resolved: no rule has that name.</exception>
    public static IUnsupervisedFinetuningBuilder AddSparseReplayWith(this IUnsupervisedFinetuningBuilder builder, string selection, Action<SparseReplayOptions>? configure = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(selection);
        Configure<SparseReplayOptions, SparseReplayOptionsValidator>(builder, Options.DefaultName, configure);
        builder.Services.Replace(ServiceDescriptor.Singleton<IReplaySampler>(sp =>
            sp.GetRequiredService<Catalog<ReplaySelectionEntry>>().Get(selection).CreateReplay(sp.GetRequiredService<IOptions<SparseReplayOptions>>().Value)));
        return builder;
    }

    /// <summary>Your own replay selection rule for <see cref="AddSparseReplay(IUnsupervisedFinetuningBuilder, Action{SparseReplayOptions})"/>, resolved from the container.</summary>
    public static IUnsupervisedFinetuningBuilder AddReplaySelector<TSelector>(this IUnsupervisedFinetuningBuilder builder)
        where TSelector : class, IReplaySelector
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.Replace(ServiceDescriptor.Singleton<IReplaySelector, TSelector>());
        return builder;
    }

    /// <summary>Your own replay sampler, resolved from the container.</summary>
    public static IUnsupervisedFinetuningBuilder AddReplay<TSampler>(this IUnsupervisedFinetuningBuilder builder)
        where TSampler : class, IReplaySampler
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.Replace(ServiceDescriptor.Singleton<IReplaySampler, TSampler>());
        return builder;
    }

    /// <summary>Mixup of the query views with these options.</summary>
    public static IUnsupervisedFinetuningBuilder AddMixup(this IUnsupervisedFinetuningBuilder builder, Action<MixingOptions>? configure = null) =>
        builder.AddMixing(nameof(Mixup), configure, o => new Mixup(o));

    /// <summary>CutMix of the query views with these options.</summary>
    public static IUnsupervisedFinetuningBuilder AddCutMix(this IUnsupervisedFinetuningBuilder builder, Action<MixingOptions>? configure = null) =>
        builder.AddMixing(nameof(CutMix), configure, o => new CutMix(o));

    /// <summary>Your own mixing strategy, resolved from the container.</summary>
    public static IUnsupervisedFinetuningBuilder AddMixing<TStrategy>(this IUnsupervisedFinetuningBuilder builder)
        where TStrategy : class, IMixingStrategy
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.Replace(ServiceDescriptor.Singleton<IMixingStrategy, TStrategy>());
        return builder;
    }

    private static IUnsupervisedFinetuningBuilder ValidateOptions<TOptions, TValidator>(this IUnsupervisedFinetuningBuilder builder)
        where TOptions : class
        where TValidator : class, IValidateOptions<TOptions>
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<TOptions>, TValidator>());
        return builder;
    }

    private static IUnsupervisedFinetuningBuilder AddEntry<TEntry>(this IUnsupervisedFinetuningBuilder builder, TEntry entry)
        where TEntry : class, ICatalogEntry
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(entry);
        builder.Services.AddSingleton(entry);
        return builder;
    }

    // Mixup and CutMix share one options type, so each keeps its settings under its own name.
    private static IUnsupervisedFinetuningBuilder AddMixing(this IUnsupervisedFinetuningBuilder builder, string name, Action<MixingOptions>? configure, Func<MixingOptions, IMixingStrategy> create)
    {
        Configure<MixingOptions, MixingOptionsValidator>(builder, name, configure);
        builder.Services.Replace(ServiceDescriptor.Singleton(sp => create(sp.GetRequiredService<IOptionsMonitor<MixingOptions>>().Get(name))));
        return builder;
    }

    /// <summary>
    /// The mixing strategy of the container's mixing catalog named <paramref name="name"/>, with options of its type
    /// configured here (kept under the strategy's name, so strategies that share an options type keep their own).
    /// </summary>
    /// <typeparam name="TOptions">The strategy's options type (<see cref="MixingEntry.OptionsType"/>).</typeparam>
    /// <exception cref="KeyNotFoundException">When the engine is resolved: no strategy has that name.</exception>
    public static IUnsupervisedFinetuningBuilder AddMixing<TOptions>(this IUnsupervisedFinetuningBuilder builder, string name, Action<TOptions>? configure = null)
        where TOptions : class
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        var options = builder.Services.AddOptions<TOptions>(name);
        if (configure is not null)
        {
            options.Configure(configure);
        }

        builder.Services.Replace(ServiceDescriptor.Singleton(sp =>
            sp.GetRequiredService<Catalog<MixingEntry>>().Get(name).Create(sp.GetRequiredService<IOptionsMonitor<TOptions>>().Get(name))));
        return builder;
    }

    private static void Configure<TOptions, TValidator>(IUnsupervisedFinetuningBuilder builder, string name, Action<TOptions>? configure)
        where TOptions : class
        where TValidator : class, IValidateOptions<TOptions>
    {
        ArgumentNullException.ThrowIfNull(builder);
        var options = builder.Services.AddOptions<TOptions>(name);
        if (configure is not null)
        {
            options.Configure(configure);
        }

        builder.Services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<TOptions>, TValidator>());
    }
}
