using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using UnsupervisedFinetuning.Engine;
using UnsupervisedFinetuning.Mixing;
using UnsupervisedFinetuning.Objectives;
using UnsupervisedFinetuning.Replay;

namespace UnsupervisedFinetuning.DependencyInjection;

/// <summary>Registers the finetuning engine and the strategies its options choose.</summary>
public static class ServiceCollectionExtensions
{
    /// <summary>
    /// Adds <see cref="FinetuneEngine"/> (transient), the validated <see cref="FinetuneOptions"/>, and the
    /// <see cref="IReplaySampler"/>, <see cref="IMixingStrategy"/> and <see cref="IContrastiveObjective"/> the
    /// options name. Register your own implementation of any of the three before or after this call to
    /// replace it (existing registrations are kept).
    /// </summary>
    public static IServiceCollection AddUnsupervisedFinetuning(this IServiceCollection services, Action<FinetuneOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        var builder = services.AddOptions<FinetuneOptions>();
        if (configure is not null)
        {
            builder.Configure(configure);
        }

        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<FinetuneOptions>, FinetuneOptionsValidator>());
        services.TryAddTransient<IReplaySampler>(sp => StrategyFactory.Replay(sp.GetRequiredService<IOptions<FinetuneOptions>>().Value.Replay));
        services.TryAddTransient<IMixingStrategy>(sp => StrategyFactory.Mixing(sp.GetRequiredService<IOptions<FinetuneOptions>>().Value.Mixing));
        services.TryAddTransient<IContrastiveObjective>(sp => StrategyFactory.Objective(sp.GetRequiredService<IOptions<FinetuneOptions>>().Value));
        services.TryAddTransient<FinetuneEngine>();
        return services;
    }
}
