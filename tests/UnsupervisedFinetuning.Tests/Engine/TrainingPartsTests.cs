using UnsupervisedFinetuning.Engine;
using static TorchSharp.torch;

namespace UnsupervisedFinetuning.Tests.Engine;

public sealed class TrainingPartsTests
{
    // The target branch of MoCo (keys) and of BYOL (targets) is a momentum copy that learns only by EMA: the
    // loss must send no gradient into it, whatever the objective does with the keys.
    [TestCase(ObjectiveKind.MocoV2)]
    [TestCase(ObjectiveKind.Byol)]
    public void Key_FromTheMomentumTarget_CarriesNoGradient(ObjectiveKind kind)
    {
        var options = EngineTestData.Options(kind);
        var objective = StrategyFactory.Objective(options);
        using var model = EngineTestData.Model();
        using var target = EngineTestData.Images(16);
        using var parts = TrainingParts.Create(new FinetuneRequest { Backbone = model, Target = target }, objective, options, CPU, queueSize: 32);
        using var scope = NewDisposeScope();
        var view = target.GetBatch(Enumerable.Range(0, 16).ToArray()).to(ScalarType.Float32).div(255);

        var queries = parts.Query(view);
        var keys = parts.Key(view);
        objective.Compute(queries, keys, parts.Queue?.Keys).Mean.backward();

        Assert.That(keys.requires_grad, Is.False, "keys are computed without autograd");
        Assert.That(parts.TargetBackbone!.parameters().Concat(parts.TargetHead!.parameters()).All(p => p.grad is null), Is.True, "no gradient reaches the target");
        Assert.That(parts.Backbone.parameters().All(p => p.grad is not null), Is.True, "the online branch does get gradients");
    }

    [Test]
    public void Key_WithoutMomentumTarget_IsTheOnlineNetwork()
    {
        // SimCLR: both views go through the online network, and both carry gradients.
        var options = EngineTestData.Options(ObjectiveKind.SimClr);
        using var model = EngineTestData.Model();
        using var target = EngineTestData.Images(16);
        using var parts = TrainingParts.Create(new FinetuneRequest { Backbone = model, Target = target }, StrategyFactory.Objective(options), options, CPU, queueSize: 0);
        using var scope = NewDisposeScope();
        var view = target.GetBatch(Enumerable.Range(0, 16).ToArray()).to(ScalarType.Float32).div(255);

        Assert.That(parts.TargetBackbone, Is.Null);
        Assert.That(parts.Key(view).requires_grad, Is.True);
    }
}
