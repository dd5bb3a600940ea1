using Microsoft.Extensions.Options;
using UnsupervisedFinetuning.Backbones;
using UnsupervisedFinetuning.Methods;
using UnsupervisedFinetuning.Mixing;
using UnsupervisedFinetuning.Tests.Engine;
using UnsupervisedFinetuning.Tests.Objectives;
using static TorchSharp.torch;

namespace UnsupervisedFinetuning.Tests.Methods;

/// <summary>
/// Each method's loss against a naive, double-precision reference computed from the method's own networks
/// (so the test checks the wiring — which view goes through which network, what is detached, how mixed
/// queries are weighted — not only the loss formula), plus its gradient paths, state and options.
/// </summary>
[TestFixture]
public sealed class MethodTests
{
    private const int Batch = 8;

    private static MethodContext Context(Backbone backbone, long seed = 3) =>
        new() { Backbone = backbone, Device = CPU, BatchSize = Batch, TrainingSetSize = 64, Seed = seed };

    private static Tensor Views(long seed) => randn([Batch, 1, 16, 16], generator: new Generator((ulong)seed));

    private static readonly MixPlan Plan = new([1f, 0.8f, 0.6f, 0.5f, 0.9f, 0.7f, 0.55f, 1f], [0, 2, 1, 4, 3, 6, 5, 7], isMixed: true);

    private static double[][] Rows(Tensor t) =>
        Enumerable.Range(0, (int)t.shape[0]).Select(i => t[i].detach().to(ScalarType.Float64).data<double>().ToArray()).ToArray();

    private static nn.Module Network(ISelfSupervisedModel model, string name) => model.Networks.Single(n => n.Name == name).Module;

    private static Tensor Apply(ISelfSupervisedModel model, string backbone, string head, Tensor x)
    {
        var features = ((Backbone)Network(model, backbone)).call(x);
        return ((ProjectionHead)Network(model, head)).call(features);
    }

    private static ISelfSupervisedModel Build(ISelfSupervisedMethod method, Backbone backbone)
    {
        var model = method.Build(Context(backbone));
        foreach (var (_, network) in model.Networks)
        {
            network.train();
        }

        return model;
    }

    [TestCase(MixedLossForm.UnMix)]
    [TestCase(MixedLossForm.IMix)]
    public void MocoV2_Loss_MatchesNaiveInfoNceOfQueriesAgainstMomentumKeysAndTheQueue(MixedLossForm form)
    {
        using var backbone = EngineTestData.Model();
        using var model = Build(EngineTestData.Method(MethodKind.MocoV2, form), backbone);
        using var scope = NewDisposeScope();
        var (mixed, second) = (Views(1), Views(2));

        double loss = model.Loss(new MethodInput(Views(3), second, [new QueryView(mixed, Plan, 1.0)])).Value.item<float>();

        var q = Rows(Apply(model, "backbone", "head", mixed));
        double[][] k;
        using (no_grad())
        {
            k = Rows(Apply(model, "target_backbone", "target_head", second));
        }

        var queue = Rows(model.GetState()["queue.keys"]);
        var identity = Enumerable.Range(0, Batch).ToArray();
        double expected;
        if (form == MixedLossForm.UnMix)
        {
            var own = NaiveLosses.InfoNce(q, k, queue, identity, 0.2);
            var partner = NaiveLosses.InfoNce(q, k, queue, [.. Plan.Partner], 0.2);
            expected = Enumerable.Range(0, Batch).Average(i => (Plan.Lambda[i] * own[i]) + ((1 - Plan.Lambda[i]) * partner[i]));
        }
        else
        {
            // Cross-entropy over [all B keys, queue] with target λ_i on k_i and 1 − λ_i on k_π(i).
            expected = Enumerable.Range(0, Batch).Average(i =>
            {
                var qi = NaiveLosses.Normalize(q[i]);
                var logits = k.Concat(queue).Select(c => NaiveLosses.Dot(qi, NaiveLosses.Normalize(c)) / 0.2).ToArray();
                double logZ = NaiveLosses.LogSumExp(logits);
                return -((Plan.Lambda[i] * (logits[i] - logZ)) + ((1 - Plan.Lambda[i]) * (logits[Plan.Partner[i]] - logZ)));
            });
        }

        Assert.That(loss, Is.EqualTo(expected).Within(1e-5));
    }

    [Test]
    public void SimClr_Loss_IsTheWeightedNtXentOfEveryQueryViewAgainstTheOnlineSecondViews()
    {
        using var backbone = EngineTestData.Model();
        using var model = Build(EngineTestData.Method(MethodKind.SimClr), backbone);
        using var scope = NewDisposeScope();
        var (first, mixed, second) = (Views(1), Views(2), Views(3));

        // Un-Mix's Add mode: the mixed and the plain query views, half the loss each.
        double loss = model.Loss(new MethodInput(first, second, [new QueryView(mixed, Plan, 0.5), new QueryView(first, MixPlan.Identity(Batch), 0.5)])).Value.item<float>();

        var zMixed = Rows(Apply(model, "backbone", "head", mixed));
        var zFirst = Rows(Apply(model, "backbone", "head", first));
        var z2 = Rows(Apply(model, "backbone", "head", second));
        var identity = Enumerable.Range(0, Batch).ToArray();
        var own = NaiveLosses.NtXent(zMixed, z2, identity, 0.5);
        var partner = NaiveLosses.NtXent(zMixed, z2, [.. Plan.Partner], 0.5);
        double mixedLoss = Enumerable.Range(0, Batch).Average(i => (Plan.Lambda[i] * own[i]) + ((1 - Plan.Lambda[i]) * partner[i]));
        double plainLoss = NaiveLosses.NtXent(zFirst, z2, identity, 0.5).Average();
        Assert.That(loss, Is.EqualTo((0.5 * mixedLoss) + (0.5 * plainLoss)).Within(1e-5));
    }

    [Test]
    public void Byol_Loss_IsSymmetricRegressionOfOnlinePredictionsOntoMomentumTargets()
    {
        using var backbone = EngineTestData.Model();
        using var model = Build(EngineTestData.Method(MethodKind.Byol), backbone);
        using var scope = NewDisposeScope();
        var (first, second) = (Views(1), Views(2));

        double loss = model.Loss(new MethodInput(first, second, [new QueryView(first, MixPlan.Identity(Batch), 1.0)])).Value.item<float>();

        var predictor = model.Predictor!;
        var p1 = Rows(predictor.call(Apply(model, "backbone", "head", first)));
        var p2 = Rows(predictor.call(Apply(model, "backbone", "head", second)));
        double[][] t1, t2;
        using (no_grad())
        {
            t1 = Rows(Apply(model, "target_backbone", "target_head", first));
            t2 = Rows(Apply(model, "target_backbone", "target_head", second));
        }

        var identity = Enumerable.Range(0, Batch).ToArray();
        double expected = NaiveLosses.Byol(p1, t2, identity).Average() + NaiveLosses.Byol(p2, t1, identity).Average();
        Assert.That(loss, Is.EqualTo(expected).Within(1e-5));
    }

    [Test]
    public void SimSiam_Loss_IsHalfTheSumOfNegativeCosinesBothWays()
    {
        using var backbone = EngineTestData.Model();
        using var model = Build(EngineTestData.Method(MethodKind.SimSiam), backbone);
        using var scope = NewDisposeScope();
        var (first, second) = (Views(1), Views(2));

        double loss = model.Loss(new MethodInput(first, second, [new QueryView(first, MixPlan.Identity(Batch), 1.0)])).Value.item<float>();

        var predictor = model.Predictor!;
        var z1 = Apply(model, "backbone", "head", first);
        var z2 = Apply(model, "backbone", "head", second);
        var (p1, p2) = (Rows(predictor.call(z1)), Rows(predictor.call(z2)));
        var (r1, r2) = (Rows(z1), Rows(z2));
        double D(double[] p, double[] z) => -NaiveLosses.Dot(NaiveLosses.Normalize(p), NaiveLosses.Normalize(z));
        double expected = Enumerable.Range(0, Batch).Average(i => (0.5 * D(p1[i], r2[i])) + (0.5 * D(p2[i], r1[i])));
        Assert.That(loss, Is.EqualTo(expected).Within(1e-5));
        Assert.That(loss, Is.InRange(-1.0, 1.0));
    }

    [Test]
    public void SimSiam_Gradient_StopsAtTheTargets()
    {
        using var backbone = EngineTestData.Model();
        using var model = Build(EngineTestData.Method(MethodKind.SimSiam), backbone);
        var (first, second) = (Views(1), Views(2));
        var predictor = model.Predictor!;
        Tensor[] Gradient(Func<Tensor> loss)
        {
            using var scope = NewDisposeScope();
            foreach (var p in model.TrainableParameters)
            {
                p.grad?.zero_();
            }

            loss().backward();
            return model.TrainableParameters.Select(p => p.grad!.clone().MoveToOuterDisposeScope()).ToArray();
        }

        Tensor Formula(bool stopGradient)
        {
            var z1 = Apply(model, "backbone", "head", first);
            var z2 = Apply(model, "backbone", "head", second);
            Tensor D(Tensor p, Tensor z) => -(nn.functional.normalize(p, dim: 1) * nn.functional.normalize(stopGradient ? z.detach() : z, dim: 1)).sum(1).mean();
            return (D(predictor.call(z1), z2) / 2) + (D(predictor.call(z2), z1) / 2);
        }

        var actual = Gradient(() => model.Loss(new MethodInput(first, second, [new QueryView(first, MixPlan.Identity(Batch), 1.0)])).Value);
        var detached = Gradient(() => Formula(stopGradient: true));
        var through = Gradient(() => Formula(stopGradient: false));

        double Distance(Tensor[] a, Tensor[] b) => a.Zip(b, (x, y) => (x - y).abs().max().item<float>()).Max();
        Assert.That(Distance(actual, detached), Is.LessThan(1e-5), "the gradient of −cos(p, stopgrad(z)) both ways");
        Assert.That(Distance(actual, through), Is.GreaterThan(1e-3), "and not the gradient without the stop-gradient");
    }

    // The target branch of MoCo (keys) and of BYOL (targets) is a momentum copy that learns only by EMA: the
    // loss must send no gradient into it, whatever the method does with the keys.
    [TestCase(MethodKind.MocoV2)]
    [TestCase(MethodKind.Byol)]
    public void MomentumTarget_GetsNoGradientAndMovesOnlyByEma(MethodKind kind)
    {
        using var backbone = EngineTestData.Model();
        using var model = Build(EngineTestData.Method(kind), backbone);
        using var scope = NewDisposeScope();
        var (first, second) = (Views(1), Views(2));
        var target = model.Networks.Where(n => n.Name.StartsWith("target_", StringComparison.Ordinal)).SelectMany(n => n.Module.parameters()).ToArray();
        var before = target.Select(p => p.detach().clone()).ToArray();

        model.Loss(new MethodInput(first, second, [new QueryView(first, MixPlan.Identity(Batch), 1.0)])).Value.backward();

        Assert.That(target, Is.Not.Empty);
        Assert.That(target.All(p => p.grad is null), Is.True, "no gradient reaches the target");
        Assert.That(backbone.parameters().All(p => p.grad is not null), Is.True, "the online branch does get gradients");
        using (no_grad())
        {
            foreach (var p in model.TrainableParameters)
            {
                p.add_(1.0);
            }
        }

        model.AfterStep();
        // θ_t ← m·θ_t + (1 − m)·θ_online; the online weights moved by +1, so every target weight moved by (1 − m)·(θ_online − θ_t).
        Assert.That(target.Zip(before).Any(pair => !pair.First.equal(pair.Second).all().item<bool>()), Is.True, "the EMA moved the target");
    }

    [Test]
    public void NewHeads_AreDrawnFromTheRunsSeedAlone()
    {
        using var backbone = EngineTestData.Model();
        var method = EngineTestData.Method(MethodKind.Byol);
        Dictionary<string, Tensor> Head(long seed, long globalSeed)
        {
            random.manual_seed(globalSeed);
            using var model = method.Build(Context(backbone, seed));
            using var head = model.Head;
            using var predictor = model.Predictor!;
            return EngineTestData.Snapshot(head).Concat(EngineTestData.Snapshot(predictor).Select(kv => KeyValuePair.Create("p." + kv.Key, kv.Value))).ToDictionary();
        }

        Assert.That(EngineTestData.BitEqual(Head(3, 1), Head(3, 2)), Is.True, "the global generator does not matter");
        Assert.That(EngineTestData.BitEqual(Head(3, 1), Head(4, 1)), Is.False, "the run's seed does");
    }

    [Test]
    public void GivenHead_ThatDoesNotFitTheBackbone_IsNamed()
    {
        using var backbone = EngineTestData.Model(features: 32);
        using var head = new ProjectionHead(64, 32, 16, batchNorm: false);
        var context = new MethodContext { Backbone = backbone, Device = CPU, BatchSize = Batch, TrainingSetSize = 64, Head = head };

        var e = Assert.Throws<ArgumentException>(() => EngineTestData.Method(MethodKind.MocoV2).Build(context));

        Assert.That(e!.Message, Does.Contain("takes 64 features but the backbone gives 32"));
    }

    [Test]
    public void MocoV2_State_RoundTripsTheQueueAndNamesWhatIsMissing()
    {
        using var backbone = EngineTestData.Model();
        using var model = Build(EngineTestData.Method(MethodKind.MocoV2), backbone);
        using var other = Build(EngineTestData.Method(MethodKind.MocoV2), backbone);
        using (NewDisposeScope())
        {
            model.Loss(new MethodInput(Views(1), Views(2), [new QueryView(Views(1), MixPlan.Identity(Batch), 1.0)]));
            model.AfterStep(); // 8 keys enqueued
        }

        var state = model.GetState();
        other.LoadState(state);
        var restored = other.GetState();

        Assert.That(restored["queue.keys"].equal(state["queue.keys"]).all().item<bool>(), Is.True);
        Assert.That(restored["queue.position"].data<long>().ToArray(), Is.EqualTo(new long[] { 8, 8 }), "pointer and filled rows");
        var e = Assert.Throws<ArgumentException>(() => other.LoadState(new Dictionary<string, Tensor> { ["queue.keys"] = state["queue.keys"] }));
        Assert.That(e!.Message, Does.Contain("'queue.position'").And.Contain("found queue.keys"));
        using var stray = zeros(1);
        var named = Assert.Throws<ArgumentException>(() => other.LoadState(new Dictionary<string, Tensor> { ["\u001b[31mqueue\n"] = stray }));
        Assert.That(named!.Message, Does.Contain("found ?[31mqueue?."), "a name read from a checkpoint, made printable");
        foreach (var t in state.Values.Concat(restored.Values))
        {
            t.Dispose();
        }
    }

    [Test]
    public void MocoV2_QueueShorterThanABatch_IsNamedWhenBuilt()
    {
        using var backbone = EngineTestData.Model();
        var method = new MocoV2(new MocoV2Options { QueueSize = 4 });

        var e = Assert.Throws<ArgumentException>(() => method.Build(Context(backbone)));

        Assert.That(e!.Message, Does.Contain("MocoV2Options.QueueSize is 4; expected at least the batch size (8)"));
    }

    [Test]
    public void InvalidOptions_NameEveryFieldAndValue()
    {
        var moco = Assert.Throws<OptionsValidationException>(() => _ = new MocoV2(new MocoV2Options { Temperature = 0, Momentum = 1.5, QueueSize = -1, MixedLoss = (MixedLossForm)7 }));
        var simclr = Assert.Throws<OptionsValidationException>(() => _ = new SimClr(new SimClrOptions { Temperature = double.NaN, ProjectionDimension = 0 }));
        var byol = Assert.Throws<OptionsValidationException>(() => _ = new Byol(new ByolOptions { Momentum = -0.1, PredictorHiddenDimension = 0 }));
        var simsiam = Assert.Throws<OptionsValidationException>(() => _ = new SimSiam(new SimSiamOptions { ProjectionHiddenDimension = 0 }));

        Assert.That(moco!.Message, Does.Contain("MocoV2Options.Temperature is 0; expected a finite value ≥ 1e-8")
            .And.Contain("MocoV2Options.Momentum is 1.5; expected a value in [0, 1]")
            .And.Contain("MocoV2Options.QueueSize is -1")
            .And.Contain("MocoV2Options.MixedLoss is 7; expected UnMix or IMix"));
        Assert.That(simclr!.Message, Does.Contain("SimClrOptions.Temperature is NaN").And.Contain("SimClrOptions.ProjectionDimension is 0"));
        Assert.That(byol!.Message, Does.Contain("ByolOptions.Momentum is -0.1").And.Contain("ByolOptions.PredictorHiddenDimension is 0"));
        Assert.That(simsiam!.Message, Does.Contain("SimSiamOptions.ProjectionHiddenDimension is 0; expected null (the backbone's width) or a positive width"));
    }

    [Test]
    public void Settings_AreTheOptionsAsInvariantStrings_AndCopiedAtConstruction()
    {
        var options = new MocoV2Options { Temperature = 0.15 };
        var method = new MocoV2(options);
        options.Temperature = 0.5;

        Assert.That(method.Settings["Temperature"], Is.EqualTo("0.15"), "a later change to the options object does not reach the method");
        Assert.That(method.Settings["QueueSize"], Is.EqualTo("auto"));
        Assert.That(method.Settings["MixedLoss"], Is.EqualTo("UnMix"));
    }
}
