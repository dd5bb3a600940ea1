using TorchSharp;
using TorchSharp.Modules;
using UnsupervisedFinetuning.Augment;
using UnsupervisedFinetuning.Backbones;
using UnsupervisedFinetuning.Engine;
using UnsupervisedFinetuning.Methods;
using UnsupervisedFinetuning.Mixing;
using UnsupervisedFinetuning.Objectives;
using UnsupervisedFinetuning.Replay;
using UnsupervisedFinetuning.Tests.Engine;
using static TorchSharp.torch;

namespace UnsupervisedFinetuning.Tests.Docs;

/// <summary>
/// The three examples of docs/extending.md, verbatim, run through the engine: the documentation's code
/// compiles and does what the text says. Keep them in step with the page.
/// </summary>
[TestFixture]
public sealed class ExtendingExamplesTests
{
    [Test]
    public void OwnMethodSelectorAndMixing_TrainThroughTheEngine()
    {
        using var target = EngineTestData.Images(48, seed: 1);
        using var source = EngineTestData.Images(120, seed: 2, brightness: 90);
        using var backbone = EngineTestData.Model();
        var before = EngineTestData.Snapshot(backbone);

        var result = FinetuneEngine.Create(EngineTestData.Options(steps: 4), new MyMethod(), new SparseSourceReplay(new SparseReplayOptions { Ratio = 0.25 }, new NearestToTargetCentre()), new Flip())
            .Run(new FinetuneRequest { Backbone = backbone, Target = target, Source = source });

        Assert.That(result.History.All(e => double.IsFinite(e.MeanLoss)), Is.True);
        Assert.That(EngineTestData.BitEqual(before, EngineTestData.Snapshot(backbone)), Is.False, "the backbone trained");
        Assert.That(result.OnlineImagePasses, Is.EqualTo(4 * 16 * 2), "query and key views through the online network");
        Assert.That(result.ReplayedSourceIndices, Has.Count.EqualTo(12));
        result.Head.Dispose();
    }

    // --- docs/extending.md: "A method" ---
    public sealed class MyMethod : ISelfSupervisedMethod
    {
        public string Name => "my method";
        public AugmentationRecipe Augmentation => AugmentationRecipe.SimClr;     // its views (used above 64 px unless a preset is chosen)
        public IReadOnlyDictionary<string, string> Settings { get; } =
            new Dictionary<string, string> { ["Temperature"] = "0.5" };            // every setting that changes training

        public ISelfSupervisedModel Build(MethodContext context)
        {
            // The caller's head when one was given (to continue from), else a new one drawn from the run's seed.
            var head = context.HeadOrNew(() => new ProjectionHead(context.Backbone.FeatureDimension, 512, 128, batchNorm: false));
            return new Model(context.Backbone, head);
        }

        private sealed class Model(Backbone backbone, ProjectionHead head) : ISelfSupervisedModel
        {
            private readonly NtXentLoss _loss = new(0.5);
            public ProjectionHead Head => head;
            public ProjectionHead? Predictor => null;
            public IReadOnlyList<Parameter> TrainableParameters { get; } = [.. backbone.parameters(), .. head.parameters()];
            public IReadOnlyList<(string Name, nn.Module Module)> Networks { get; } = [("backbone", backbone), ("head", head)];

            public MethodLoss Loss(MethodInput input)
            {
                var keys = head.call(backbone.call(input.Second));                            // [B,D]
                Tensor? total = null;
                foreach (var query in input.Queries)
                {
                    var q = head.call(backbone.call(query.Images));                           // [B,D]
                    var term = _loss.UnMixLoss(q, keys, query.Plan) * query.Weight;            // λ·L(q̃,k) + (1−λ)·L(q̃,k_π)
                    total = total is null ? term : total + term;
                }

                return new MethodLoss(total!, OnlineImagePasses: (long)input.BatchSize * (input.Queries.Count + 1), TargetImagePasses: 0);
            }

            public void AfterStep() { }
            public IReadOnlyDictionary<string, Tensor> GetState() => new Dictionary<string, Tensor>();
            public void LoadState(IReadOnlyDictionary<string, Tensor> state) { }
            public void Dispose() { }
        }
    }

    // --- docs/extending.md: "A replay selection rule" ---
    public sealed class NearestToTargetCentre : IReplaySelector
    {
        public string Name => "target-centre";

        public int[] Select(ReplaySelectionContext context, int count)
        {
            using var scope = torch.NewDisposeScope();
            var source = nn.functional.normalize(context.Features(context.Source!), dim: 1);          // [N_s, D]
            var centre = nn.functional.normalize(context.Features(context.Target).mean([0]), dim: 0);  // [D]
            var similarity = source.matmul(centre);                                                    // [N_s]
            return similarity.argsort(descending: true).narrow(0, 0, count).data<long>().Select(i => (int)i).ToArray();
        }
    }

    // --- docs/extending.md: "A mixing strategy" ---
    public sealed class Flip : IMixingStrategy       // a toy: "mix" each image with its mirror image's partner
    {
        public string Name => "flip";
        public IReadOnlyDictionary<string, string> Settings { get; } = new Dictionary<string, string>();

        public MixResult Mix(Tensor queries, IReadOnlyList<bool> isSource, SeededRandom random)
        {
            int b = (int)queries.shape[0];
            var lambda = Enumerable.Repeat(0.5f, b).ToArray();
            var partner = Enumerable.Range(0, b).Reverse().ToArray();
            var plan = new MixPlan(lambda, partner, isMixed: true);
            var mixed = (queries + queries.index_select(0, plan.PartnerTensor(queries.device))) / 2;
            return new MixResult(mixed, plan);
        }
    }
}
