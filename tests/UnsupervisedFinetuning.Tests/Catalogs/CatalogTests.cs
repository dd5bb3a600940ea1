using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using UnsupervisedFinetuning.Augment;
using UnsupervisedFinetuning.DependencyInjection;
using UnsupervisedFinetuning.Engine;
using UnsupervisedFinetuning.Methods;
using UnsupervisedFinetuning.Mixing;
using UnsupervisedFinetuning.Replay;
using UnsupervisedFinetuning.Tuning;

namespace UnsupervisedFinetuning.Tests.Catalogs;

[TestFixture]
public sealed class CatalogTests
{
    private sealed class TinyOptions
    {
        public double Temperature { get; set; } = 0.5;
    }

    private static MethodEntry Tiny { get; } = MethodEntry.For<TinyOptions>("tiny", "SimCLR under another name.", o => new SimClr(new SimClrOptions { Temperature = o.Temperature }));

    [Test]
    public void BuiltInCatalogs_ListTheShippedChoicesInTheirDocumentedOrder()
    {
        Assert.That(MethodCatalog.BuiltIn.Names, Is.EqualTo(new[] { "mocov2", "simclr", "byol", "simsiam" }));
        Assert.That(MixingCatalog.BuiltIn.Names, Is.EqualTo(new[] { "none", "mixup", "cutmix" }));
        Assert.That(ReplaySelectionCatalog.BuiltIn.Names, Is.EqualTo(new[] { "uniform", "coverage", "target-nearest", "class-balanced" }));
        Assert.That(MethodCatalog.BuiltIn.Describe(), Is.EqualTo("mocov2, simclr, byol or simsiam"));
        // Each built-in rule names the options' enum value whose selector has the same name.
        foreach (var rule in ReplaySelectionCatalog.BuiltIn)
        {
            var replay = rule.CreateReplay(new SparseReplayOptions());
            Assert.That(replay.Selector.Name, Is.EqualTo(rule.Name));
            Assert.That(rule.Rule, Is.Not.Null);
        }
    }

    [Test]
    public void Entries_CreateTheSameObjectsAsTheirConstructors()
    {
        var moco = MethodCatalog.BuiltIn.Get("moco").Create(new MocoV2Options { Temperature = 0.3 });
        Assert.That(moco, Is.InstanceOf<MocoV2>());
        Assert.That(moco.Settings, Is.EqualTo(new MocoV2(new MocoV2Options { Temperature = 0.3 }).Settings));
        Assert.That(MethodCatalog.BuiltIn.Get("BYOL").Create().Augmentation, Is.SameAs(AugmentationRecipe.Byol));
        Assert.That(MixingCatalog.BuiltIn.Get("cutmix").Create(new MixingOptions { Alpha = 0.4 }).Settings, Is.EqualTo(new CutMix(new MixingOptions { Alpha = 0.4 }).Settings));
        Assert.That(MixingCatalog.BuiltIn.Get("none").Create(), Is.SameAs(NoMixing.Instance));
    }

    [Test]
    public void With_AddsAtTheEndOrReplacesInPlace_AndLeavesTheOriginalUnchanged()
    {
        var withTiny = MethodCatalog.BuiltIn.With(Tiny);
        Assert.That(withTiny.Names, Is.EqualTo(new[] { "mocov2", "simclr", "byol", "simsiam", "tiny" }));
        Assert.That(MethodCatalog.BuiltIn.Find("tiny"), Is.Null);
        var replaced = withTiny.With(MethodEntry.For<SimClrOptions>("simclr", "Replaced.", o => new SimClr(o)));
        Assert.That(replaced.Names, Is.EqualTo(withTiny.Names));
        Assert.That(replaced.Get("simclr").Description, Is.EqualTo("Replaced."));
    }

    [Test]
    public void BadNamesAndWrongOptions_AreRefusedNamingThem()
    {
        var clash = Assert.Throws<ArgumentException>(() => MethodCatalog.BuiltIn.With(MethodEntry.For<TinyOptions>("other", "Clashes with an alias.", o => new SimClr(), "moco")));
        Assert.That(clash!.Message, Does.Contain("'moco'").And.Contain("'mocov2'").And.Contain("'other'"));
        var badName = Assert.Throws<ArgumentException>(() => new Catalog<MethodEntry>([MethodEntry.For<TinyOptions>("My Method", "Spaces.", o => new SimClr())]));
        Assert.That(badName!.Message, Does.Contain("'My Method'").And.Contain("lower-case"));
        var missing = Assert.Throws<KeyNotFoundException>(() => MethodCatalog.BuiltIn.Get("dino"));
        Assert.That(missing!.Message, Does.Contain("'dino'").And.Contain("mocov2, simclr, byol or simsiam"));
        var wrongType = Assert.Throws<ArgumentException>(() => MethodCatalog.BuiltIn.Get("simclr").Create(new MocoV2Options()));
        Assert.That(wrongType!.Message, Does.Contain("SimClrOptions").And.Contain("MocoV2Options"));
        Assert.Throws<OptionsValidationException>(() => MethodCatalog.BuiltIn.Get("simclr").Create(new SimClrOptions { Temperature = 0 }));
    }

    [Test]
    public void DependencyInjection_MakesAnAddedMethodUsableByName()
    {
        var services = new ServiceCollection();
        services.AddUnsupervisedFinetuning(o => o.Steps = 1).AddToCatalog(Tiny).AddMethod<TinyOptions>("tiny", o => o.Temperature = 0.25).AddMixing<MixingOptions>("cutmix", o => o.Alpha = 0.5);
        using var provider = services.BuildServiceProvider();
        Assert.That(provider.GetRequiredService<Catalog<MethodEntry>>().Names, Does.Contain("tiny"));
        var engine = provider.GetRequiredService<FinetuneEngine>();
        Assert.That(engine.Method, Is.InstanceOf<SimClr>());
        Assert.That(engine.Method.Settings["Temperature"], Is.EqualTo("0.25"));
        Assert.That(provider.GetRequiredService<IMixingStrategy>().Settings["Alpha"], Is.EqualTo("0.5"));
    }

    [Test]
    public void DependencyInjection_ChoosesAReplaySelectionRuleByName_BuiltInOrAdded()
    {
        var services = new ServiceCollection();
        services.AddUnsupervisedFinetuning().AddSparseReplayWith("target-nearest", o => o.Ratio = 0.5);
        using (var provider = services.BuildServiceProvider())
        {
            var replay = (SparseSourceReplay)provider.GetRequiredService<IReplaySampler>();
            Assert.That((replay.Selector.Name, replay.Settings["Ratio"]), Is.EqualTo(("target-nearest", "0.5")));
        }

        var own = new ReplaySelectionEntry("first-ones", "the first images of the source", false, _ => new FirstOnes());
        services = new ServiceCollection();
        services.AddUnsupervisedFinetuning().AddToCatalog(own).AddSparseReplayWith("first-ones", o => o.Count = 3);
        using (var provider = services.BuildServiceProvider())
        {
            var replay = (SparseSourceReplay)provider.GetRequiredService<IReplaySampler>();
            Assert.That(replay.Selector, Is.InstanceOf<FirstOnes>());
            Assert.That(replay.Settings["Selection"], Is.EqualTo("first-ones"));
        }
    }

    private sealed class FirstOnes : IReplaySelector
    {
        public string Name => "first-ones";

        public int[] Select(ReplaySelectionContext context, int count) => [.. Enumerable.Range(0, count)];
    }

    [Test]
    public void SearchGrid_MixesWithTheStrategyItIsGiven()
    {
        var grid = FinetuneCandidate.Grid(CutMix.Entry, [0, 0.5], [null, 2.0]);
        Assert.That(grid.Select(c => c.Name), Is.EqualTo(new[] { "replay 0", "replay 0.5", "replay 0 + cutmix α 2", "replay 0.5 + cutmix α 2" }));
        Assert.That(grid[3].Mixing, Is.InstanceOf<CutMix>());
        Assert.That(grid[3].Mixing.Settings["Alpha"], Is.EqualTo("2"));
        Assert.Throws<ArgumentException>(() => FinetuneCandidate.Grid(NoMixing.Entry, [0], [1.0]));
    }
}
