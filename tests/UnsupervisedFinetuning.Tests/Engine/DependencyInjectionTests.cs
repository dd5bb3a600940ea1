using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using UnsupervisedFinetuning.Augment;
using UnsupervisedFinetuning.DependencyInjection;
using UnsupervisedFinetuning.Engine;
using UnsupervisedFinetuning.Methods;
using UnsupervisedFinetuning.Mixing;
using UnsupervisedFinetuning.Replay;

namespace UnsupervisedFinetuning.Tests.Engine;

[TestFixture]
public sealed class DependencyInjectionTests
{
    private static void SmallRun(FinetuneOptions o)
    {
        o.Steps = 3;
        o.BatchSize = 16;
        o.Device = "cpu";
    }

    [Test]
    public void FeatureChain_ResolvesAWorkingEngineWithTheChosenMethodReplayAndMixing()
    {
        var services = new ServiceCollection();
        services.AddUnsupervisedFinetuning(SmallRun)
            .AddMocoV2(o => { o.ProjectionDimension = 16; o.ProjectionHiddenDimension = 32; o.Temperature = 0.3; })
            .AddSparseReplay(o => o.Ratio = 0.25)
            .AddCutMix(o => o.Alpha = 0.5);
        using var provider = services.BuildServiceProvider();

        var engine = provider.GetRequiredService<FinetuneEngine>();
        Assert.That(engine.Method, Is.InstanceOf<MocoV2>());
        Assert.That(engine.Method.Settings["Temperature"], Is.EqualTo("0.3"));
        Assert.That(provider.GetRequiredService<IReplaySampler>(), Is.InstanceOf<SparseSourceReplay>());
        var mixing = provider.GetRequiredService<IMixingStrategy>();
        Assert.That(mixing, Is.InstanceOf<CutMix>());
        Assert.That(mixing.Settings["Alpha"], Is.EqualTo("0.5"));
        using var target = EngineTestData.Images(48);
        using var source = EngineTestData.Images(100, seed: 5);
        using var model = EngineTestData.Model();

        var result = engine.Run(new FinetuneRequest { Backbone = model, Target = target, Source = source });

        Assert.That(result.Steps, Is.EqualTo(3));
        Assert.That(result.ReplayedSourceIndices, Has.Count.EqualTo(12));
    }

    [Test]
    public void Defaults_AreMocoV2WithoutReplayOrMixing()
    {
        var services = new ServiceCollection();
        services.AddUnsupervisedFinetuning();
        using var provider = services.BuildServiceProvider();

        Assert.That(provider.GetRequiredService<FinetuneEngine>().Method, Is.InstanceOf<MocoV2>());
        Assert.That(provider.GetRequiredService<IReplaySampler>(), Is.SameAs(NoReplay.Instance));
        Assert.That(provider.GetRequiredService<IMixingStrategy>(), Is.SameAs(NoMixing.Instance));
    }

    [Test]
    public void LaterChoice_ReplacesAnEarlierOne()
    {
        var services = new ServiceCollection();
        services.AddUnsupervisedFinetuning().AddMocoV2().AddByol(o => o.Momentum = 0.9).AddMixup().AddCutMix();
        using var provider = services.BuildServiceProvider();

        Assert.That(provider.GetRequiredService<FinetuneEngine>().Method, Is.InstanceOf<Byol>());
        Assert.That(provider.GetServices<ISelfSupervisedMethod>().Count(), Is.EqualTo(1), "one method, not two");
        Assert.That(provider.GetRequiredService<IMixingStrategy>(), Is.InstanceOf<CutMix>());
    }

    [Test]
    public void MixupAndCutMix_KeepTheirOwnOptions()
    {
        var services = new ServiceCollection();
        var builder = services.AddUnsupervisedFinetuning().AddMixup(o => o.Alpha = 0.2).AddCutMix(o => o.Probability = 0.5);
        using var provider = services.BuildServiceProvider();

        var cutMix = provider.GetRequiredService<IMixingStrategy>();
        Assert.That(cutMix.Settings["Probability"], Is.EqualTo("0.5"));
        Assert.That(cutMix.Settings["Alpha"], Is.EqualTo("1"), "mixup's α does not leak into CutMix");
    }

    [Test]
    public void InvalidOptions_FailWhenTheEngineIsResolved_NamingEachField()
    {
        var services = new ServiceCollection();
        services.AddUnsupervisedFinetuning(o => o.BatchSize = 0).AddSimClr(o => o.Temperature = -1);
        using var provider = services.BuildServiceProvider();

        var e = Assert.Throws<OptionsValidationException>(() => provider.GetRequiredService<FinetuneEngine>());

        Assert.That(e!.Message, Does.Contain("SimClrOptions.Temperature is -1").Or.Contain("FinetuneOptions.BatchSize is 0"));
        var options = Assert.Throws<OptionsValidationException>(() => _ = provider.GetRequiredService<IOptions<FinetuneOptions>>().Value);
        Assert.That(options!.Message, Does.Contain("FinetuneOptions.BatchSize is 0; expected at least 2"));
    }

    [Test]
    public void YourOwnStrategies_RegisterTheSameWay()
    {
        var services = new ServiceCollection();
        services.AddSingleton<IMixingStrategy>(NoMixing.Instance); // registered before: kept
        services.AddUnsupervisedFinetuning(SmallRun)
            .AddMethod<OwnMethod>()
            .AddSparseReplay(o => o.Count = 5)
            .AddReplaySelector<FirstImagesSelector>();
        using var provider = services.BuildServiceProvider();

        var engine = provider.GetRequiredService<FinetuneEngine>();
        using var target = EngineTestData.Images(48);
        using var source = EngineTestData.Images(100, seed: 5);
        using var model = EngineTestData.Model();
        var result = engine.Run(new FinetuneRequest { Backbone = model, Target = target, Source = source });

        Assert.That(engine.Method, Is.InstanceOf<OwnMethod>());
        Assert.That(provider.GetRequiredService<IMixingStrategy>(), Is.SameAs(NoMixing.Instance));
        Assert.That(result.ReplayedSourceIndices, Is.EqualTo(new[] { 0, 1, 2, 3, 4 }), "the registered selection rule chose the replayed images");
    }

    [Test]
    public void SparseReplay_SelectionFromOptions_BuildsThatRule()
    {
        var services = new ServiceCollection();
        services.AddUnsupervisedFinetuning(SmallRun).AddSparseReplay(o =>
        {
            o.Selection = ReplaySelection.TargetNearest;
            o.UniformFraction = 0.5;
        });
        using var provider = services.BuildServiceProvider();

        var replay = (SparseSourceReplay)provider.GetRequiredService<IReplaySampler>();

        Assert.That(replay.Selector, Is.InstanceOf<TargetNearestReplaySelector>());
        Assert.That(((TargetNearestReplaySelector)replay.Selector).UniformFraction, Is.EqualTo(0.5));
    }

    [Test]
    public void Augmentation_FollowsTheMethodThatRuns()
    {
        // 96 px views: above the small-image threshold, so Auto takes the running method's recipe.
        using var target = EngineTestData.Images(16, size: 96);
        using var model = EngineTestData.Model();
        AugmentationPreset Recipe(IUnsupervisedFinetuningBuilder builder)
        {
            using var provider = builder.Services.BuildServiceProvider();
            var engine = provider.GetRequiredService<FinetuneEngine>();
            using var run = TrainingRun.Start(new FinetuneRequest { Backbone = model, Target = target }, engine.Options, engine.Method, NoReplay.Instance, NoMixing.Instance, null, Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance);
            run.Model.Head.Dispose();
            run.Model.Predictor?.Dispose();
            return Identify(run.Augmentation);
        }

        Assert.That(Recipe(new ServiceCollection().AddUnsupervisedFinetuning(SmallRun).AddByol(o => { o.ProjectionHiddenDimension = 8; o.PredictorHiddenDimension = 8; })), Is.EqualTo(AugmentationPreset.Byol));
        Assert.That(Recipe(new ServiceCollection().AddUnsupervisedFinetuning(SmallRun).AddSimClr()), Is.EqualTo(AugmentationPreset.SimClr));
        Assert.That(Recipe(new ServiceCollection().AddUnsupervisedFinetuning(SmallRun)), Is.EqualTo(AugmentationPreset.MocoV2));
    }

    /// <summary>Tells the presets apart by their structure: BYOL's views differ, SimCLR crops from 8%, MoCo v2 from 20%.</summary>
    private static AugmentationPreset Identify(TwoViewAugmentation augmentation)
    {
        if (!ReferenceEquals(augmentation.First, augmentation.Second))
        {
            return AugmentationPreset.Byol;
        }

        var crop = augmentation.First.Transforms.OfType<RandomResizedCrop>().Single();
        return crop.Scale.Min < 0.1 ? AugmentationPreset.SimClr : AugmentationPreset.MocoV2;
    }

    /// <summary>A user's own method: SimCLR under another name, with a dependency from the container.</summary>
    private sealed class OwnMethod(IOptions<FinetuneOptions> engine) : ISelfSupervisedMethod
    {
        private readonly SimClr _inner = new(new SimClrOptions { ProjectionDimension = 8, ProjectionHiddenDimension = 16 });

        public string Name => $"own (batch {engine.Value.BatchSize})";

        public AugmentationRecipe Augmentation => AugmentationRecipe.SimClr;

        public IReadOnlyDictionary<string, string> Settings => _inner.Settings;

        public ISelfSupervisedModel Build(MethodContext context) => _inner.Build(context);
    }

    private sealed class FirstImagesSelector : IReplaySelector
    {
        public string Name => "first";

        public int[] Select(ReplaySelectionContext context, int count) => Enumerable.Range(0, count).ToArray();
    }
}
