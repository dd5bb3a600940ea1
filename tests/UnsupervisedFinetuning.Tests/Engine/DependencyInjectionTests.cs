using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using UnsupervisedFinetuning.DependencyInjection;
using UnsupervisedFinetuning.Engine;
using UnsupervisedFinetuning.Mixing;
using UnsupervisedFinetuning.Objectives;
using UnsupervisedFinetuning.Replay;

namespace UnsupervisedFinetuning.Tests.Engine;

[TestFixture]
public sealed class DependencyInjectionTests
{
    [Test]
    public void AddUnsupervisedFinetuning_ResolvesAWorkingEngineWithTheStrategiesTheOptionsName()
    {
        var services = new ServiceCollection();
        services.AddUnsupervisedFinetuning(o =>
        {
            var defaults = EngineTestData.Options(ObjectiveKind.MocoV2, steps: 3);
            o.Steps = defaults.Steps;
            o.BatchSize = defaults.BatchSize;
            o.Device = "cpu";
            o.ProjectionDimension = 16;
            o.ProjectionHiddenDimension = 32;
            o.Replay = new ReplayOptions { Mode = ReplayMode.Sparse, Ratio = 0.25 };
            o.Mixing = new MixingOptions { Mode = MixingMode.CutMix };
        });
        using var provider = services.BuildServiceProvider();

        Assert.That(provider.GetRequiredService<IReplaySampler>(), Is.InstanceOf<SparseSourceReplay>());
        Assert.That(provider.GetRequiredService<IMixingStrategy>(), Is.InstanceOf<CutMix>());
        Assert.That(provider.GetRequiredService<IContrastiveObjective>(), Is.InstanceOf<InfoNceLoss>());
        var engine = provider.GetRequiredService<FinetuneEngine>();
        using var target = EngineTestData.Images(48);
        using var source = EngineTestData.Images(100, seed: 5);
        using var model = EngineTestData.Model();

        var result = engine.Run(new FinetuneRequest { Backbone = model, Target = target, Source = source });

        Assert.That(result.Steps, Is.EqualTo(3));
        Assert.That(result.ReplayedSourceIndices, Has.Count.EqualTo(12));
    }

    [Test]
    public void AddUnsupervisedFinetuning_InvalidOptions_FailWhenTheEngineIsResolved()
    {
        var services = new ServiceCollection();
        services.AddUnsupervisedFinetuning(o => o.BatchSize = 0);
        using var provider = services.BuildServiceProvider();

        var e = Assert.Throws<OptionsValidationException>(() => provider.GetRequiredService<FinetuneEngine>());

        Assert.That(e!.Message, Does.Contain("FinetuneOptions.BatchSize is 0"));
    }

    [Test]
    public void AddUnsupervisedFinetuning_KeepsAStrategyRegisteredBefore()
    {
        var services = new ServiceCollection();
        services.AddSingleton<IMixingStrategy>(NoMixing.Instance);
        services.AddUnsupervisedFinetuning(o => o.Mixing = new MixingOptions { Mode = MixingMode.Mixup });
        using var provider = services.BuildServiceProvider();

        Assert.That(provider.GetRequiredService<IMixingStrategy>(), Is.SameAs(NoMixing.Instance));
    }
}
