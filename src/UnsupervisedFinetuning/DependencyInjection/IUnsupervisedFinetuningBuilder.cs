using Microsoft.Extensions.DependencyInjection;

namespace UnsupervisedFinetuning.DependencyInjection;

/// <summary>
/// Returned by <see cref="ServiceCollectionExtensions.AddUnsupervisedFinetuning"/>: the method, replay
/// and mixing are chosen on it (<c>.AddMocoV2(…).AddSparseReplay(…).AddMixup(…)</c>); the last choice of
/// each kind wins.
/// </summary>
public interface IUnsupervisedFinetuningBuilder
{
    /// <summary>The service collection the choices are registered in.</summary>
    IServiceCollection Services { get; }
}

/// <summary>The builder <see cref="ServiceCollectionExtensions.AddUnsupervisedFinetuning"/> returns.</summary>
internal sealed class UnsupervisedFinetuningBuilder(IServiceCollection services) : IUnsupervisedFinetuningBuilder
{
    public IServiceCollection Services { get; } = services;
}
