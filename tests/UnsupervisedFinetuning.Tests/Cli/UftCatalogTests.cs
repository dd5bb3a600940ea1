using Microsoft.Extensions.DependencyInjection;
using TorchSharp.Modules;
using UnsupervisedFinetuning.Augment;
using UnsupervisedFinetuning.Backbones;
using UnsupervisedFinetuning.Cli;
using UnsupervisedFinetuning.DependencyInjection;
using UnsupervisedFinetuning.Methods;
using UnsupervisedFinetuning.Objectives;
using static TorchSharp.torch;

namespace UnsupervisedFinetuning.Tests.Cli;

/// <summary>
/// A method of one's own, registered with one line (<c>AddToCatalog(Throwaway.Entry)</c>), is usable by name wherever
/// the built-in ones are: <c>uft finetune --method</c>, its options section in the settings file, <c>uft search</c>.
/// </summary>
[TestFixture]
public sealed class UftCatalogTests
{
    private static readonly string Images = Path.Combine(RepositoryPaths.SampleData, "images");
    private TempDirectory _dir = null!;

    [SetUp]
    public void SetUp() => _dir = new TempDirectory();

    [TearDown]
    public void TearDown() => _dir.Dispose();

    private static UftCatalogs WithThrowaway()
    {
        var services = new ServiceCollection();
        services.AddUnsupervisedFinetuning().AddToCatalog(Throwaway.Entry); // the one registration line
        using var provider = services.BuildServiceProvider();
        return UftCatalogs.From(provider);
    }

    [Test]
    public void Finetune_ARegisteredMethod_TrainsByNameWithItsSettingsSection()
    {
        string config = _dir.File("run.json");
        File.WriteAllText(config, """{ "method": "throwaway", "throwaway": { "temperature": 0.3, "projectionDimension": 8 } }""");
        string output = _dir.File("run");

        var outcome = UftTests.Run(null, 200, WithThrowaway(), "finetune", "--config", config, "--backbone", UftTests.Model, "--target", Path.Combine(Images, "digits"),
            "--steps", "2", "--batch-size", "32", "--monitor-every", "off", "--out", output);

        Assert.That(outcome.ExitCode, Is.EqualTo(ExitCodes.Success), outcome.Error);
        Assert.That(outcome.Output, Does.Contain("throwaway"));
        var saved = FinetuneSettings.Read(Path.Combine(output, FinetuneCommand.SettingsFile), "test", WithThrowaway());
        Assert.That(saved.MethodOptions<ThrowawayOptions>().Temperature, Is.EqualTo(0.3));
        Assert.That(saved.MethodOptions<ThrowawayOptions>().ProjectionDimension, Is.EqualTo(8));
        Assert.That(File.ReadAllText(Path.Combine(output, FinetuneCommand.SettingsFile)), Does.Contain("\"throwaway\": {"));
        using var start = PretrainedModel.Load(UftTests.Model);
        using var finetuned = PretrainedModel.Load(Path.Combine(output, FinetuneCommand.ModelFile));
        Assert.That(finetuned.Description.Provenance["method"], Is.EqualTo("throwaway"));
        Assert.That(File.ReadAllText(Path.Combine(output, FinetuneCommand.LogFile)), Does.Contain("Finetuning started: throwaway (Temperature = 0.3, ProjectionDimension = 8), 2 steps"), "the section's options reached the method");
        var before = start.Backbone.state_dict();
        var after = finetuned.Backbone.state_dict();
        Assert.That(before.Keys.Count(k => !before[k].equal(after[k]).all().item<bool>()), Is.GreaterThan(0), "training changed the weights");
    }

    [Test]
    public void Search_ARegisteredMethod_IsTriedByName_WithTheMixingStrategyChosen()
    {
        var outcome = UftTests.Run(null, 200, WithThrowaway(), "search", "--method", "throwaway", "--backbone", UftTests.Model, "--target", Path.Combine(Images, "digits"),
            "--ratios", "0", "--mixing", "cutmix", "--mixing-alphas", "none,1", "--budget-steps", "20", "--batch-size", "32");

        Assert.That(outcome.ExitCode, Is.EqualTo(ExitCodes.Success), outcome.Error);
        Assert.That(outcome.Output, Does.Contain("trial replay 0:").And.Contain("trial replay 0 + cutmix α 1:").And.Contain("--method throwaway"));
        Assert.That(outcome.Output, Does.Contain("--mixing none").Or.Contain("--mixing cutmix --mixing-alpha 1"), "the chosen candidate's finetune options");
    }

    [Test]
    public void WithoutTheRegistration_TheNameIsRefusedListingTheCatalog_AndAMisspeltFieldOfItsSectionIsNamed()
    {
        var unknown = UftTests.Run(null, 200, "finetune", "--backbone", UftTests.Model, "--target", Path.Combine(Images, "digits"), "--method", "throwaway", "--out", _dir.File("a"));
        Assert.That(unknown.ExitCode, Is.EqualTo(ExitCodes.Usage));
        Assert.That(unknown.Error, Does.Contain("--method is 'throwaway'; expected mocov2, simclr, byol or simsiam."));

        string config = _dir.File("bad.json");
        File.WriteAllText(config, """{ "method": "throwaway", "throwaway": { "temprature": 0.3 } }""");
        var misspelt = UftTests.Run(null, 200, WithThrowaway(), "finetune", "--config", config, "--out", _dir.File("b"));
        Assert.That(misspelt.ExitCode, Is.EqualTo(ExitCodes.Usage));
        Assert.That(misspelt.Error, Does.Contain("unknown field 'throwaway.temprature'").And.Contain("did you mean 'temperature'?"));

        File.WriteAllText(config, """{ "method": "throwaway", "throwaway": { "temperature": 0 } }""");
        var outOfRange = UftTests.Run(null, 200, WithThrowaway(), "finetune", "--config", config, "--backbone", UftTests.Model, "--target", Path.Combine(Images, "digits"), "--out", _dir.File("c"));
        Assert.That(outOfRange.ExitCode, Is.EqualTo(ExitCodes.Usage));
        Assert.That(outOfRange.Error, Does.Contain("throwaway.temperature is 0; expected a value > 0"));
    }

    [Test]
    public void Embed_AModelOfARegisteredArchitecture_LoadsThroughTheContainersCatalog()
    {
        string card = _dir.File("tiny.model.json");
        var architectures = ArchitectureCatalog.BuiltIn.With(Backbones.ArchitectureCatalogTests.TinyNet.Entry);
        TorchSharp.torch.random.manual_seed(3);
        using (var net = new Backbones.ArchitectureCatalogTests.TinyNet(1, 16))
        {
            PretrainedModel.Save(card, net, InputDescription.Centered(20, 1), head: null, provenance: null, architectures);
        }

        var services = new ServiceCollection();
        services.AddUnsupervisedFinetuning().AddToCatalog(Backbones.ArchitectureCatalogTests.TinyNet.Entry); // the one registration line
        using var provider = services.BuildServiceProvider();
        string features = _dir.File("features.npy");

        var embedded = UftTests.Run(null, 200, UftCatalogs.From(provider), "embed", "--backbone", card, "--images", Path.Combine(Images, "digits"), "--out", features);
        var refused = UftTests.Run(null, 200, "embed", "--backbone", card, "--images", Path.Combine(Images, "digits"), "--out", _dir.File("other.npy"));

        Assert.That(embedded.ExitCode, Is.EqualTo(ExitCodes.Success), embedded.Error);
        // A .npy header, then 300 images × 16 float32 features.
        Assert.That(new FileInfo(features).Length, Is.EqualTo(128 + (300 * 16 * 4)).Or.EqualTo(80 + (300 * 16 * 4)));
        Assert.That(refused.ExitCode, Is.Not.EqualTo(ExitCodes.Success));
        Assert.That(refused.Error, Does.Contain("TinyNet"));
        Assert.That(File.Exists(_dir.File("other.npy")), Is.False);
    }

    /// <summary>The throwaway method's options: what its settings section holds.</summary>
    public sealed class ThrowawayOptions
    {
        public double Temperature { get; set; } = 0.5;

        public int ProjectionDimension { get; set; } = 16;
    }

    /// <summary>A method that is not in the library: NT-Xent on a projection of its own width, SimCLR's views.</summary>
    public sealed class Throwaway : ISelfSupervisedMethod
    {
        private readonly ThrowawayOptions _options;

        public Throwaway(ThrowawayOptions options)
        {
            if (!(options.Temperature > 0))
            {
                throw new Microsoft.Extensions.Options.OptionsValidationException("ThrowawayOptions", typeof(ThrowawayOptions),
                    [$"ThrowawayOptions.Temperature is {options.Temperature}; expected a value > 0."]);
            }

            _options = options;
            Settings = new Dictionary<string, string> { ["Temperature"] = options.Temperature.ToString(System.Globalization.CultureInfo.InvariantCulture), ["ProjectionDimension"] = options.ProjectionDimension.ToString(System.Globalization.CultureInfo.InvariantCulture) };
        }

        public static MethodEntry Entry { get; } = MethodEntry.For<ThrowawayOptions>("throwaway", "A test's own method.", o => new Throwaway(o));

        public string Name => "throwaway";

        public AugmentationRecipe Augmentation => AugmentationRecipe.SimClr;

        public IReadOnlyDictionary<string, string> Settings { get; }

        public ISelfSupervisedModel Build(MethodContext context)
        {
            var head = context.HeadOrNew(() => new ProjectionHead(context.Backbone.FeatureDimension, 32, _options.ProjectionDimension, batchNorm: false));
            return new Model(context.Backbone, head, _options.Temperature);
        }

        private sealed class Model(Backbone backbone, ProjectionHead head, double temperature) : ISelfSupervisedModel
        {
            private readonly NtXentLoss _loss = new(temperature);

            public ProjectionHead Head => head;

            public ProjectionHead? Predictor => null;

            public IReadOnlyList<Parameter> TrainableParameters { get; } = [.. backbone.parameters(), .. head.parameters()];

            public IReadOnlyList<(string Name, nn.Module Module)> Networks { get; } = [("backbone", backbone), ("head", head)];

            public MethodLoss Loss(MethodInput input)
            {
                var keys = head.call(backbone.call(input.Second));   // [B,D]
                Tensor? total = null;
                foreach (var query in input.Queries)
                {
                    var term = _loss.UnMixLoss(head.call(backbone.call(query.Images)), keys, query.Plan) * query.Weight;
                    total = total is null ? term : total + term;
                }

                return new MethodLoss(total!, OnlineImagePasses: (long)input.BatchSize * (input.Queries.Count + 1), TargetImagePasses: 0);
            }

            public void AfterStep()
            {
            }

            public IReadOnlyDictionary<string, Tensor> GetState() => new Dictionary<string, Tensor>();

            public void LoadState(IReadOnlyDictionary<string, Tensor> state)
            {
            }

            public void Dispose()
            {
            }
        }
    }
}
