using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
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
        return new UnsupervisedFinetuningBuilder(services);
    }
}
