using TorchSharp.Modules;
using UnsupervisedFinetuning.Backbones;
using static TorchSharp.torch;

namespace UnsupervisedFinetuning.Methods;

/// <summary>
/// The networks and state a method trains in one run, built by <see cref="ISelfSupervisedMethod.Build"/>:
/// the online backbone (the caller's) with a projection head and, depending on the method, a predictor, a
/// momentum target and a queue of negatives. The engine calls, per step, <see cref="Loss"/>, then (when the
/// loss is finite) the optimizer step over <see cref="TrainableParameters"/>, then <see cref="AfterStep"/> —
/// all inside the step's dispose scope.
/// </summary>
/// <remarks>
/// Disposing the model frees what it created except <see cref="Head"/> and <see cref="Predictor"/>, which
/// go to the caller with the run's result, and the backbone, which was the caller's all along.
/// </remarks>
public interface ISelfSupervisedModel : IDisposable
{
    /// <summary>The projection head trained with the backbone.</summary>
    ProjectionHead Head { get; }

    /// <summary>The predictor on the online branch (BYOL, SimSiam); null for methods without one.</summary>
    ProjectionHead? Predictor { get; }

    /// <summary>The parameters the optimizer updates: backbone, head and predictor, in that order.</summary>
    IReadOnlyList<Parameter> TrainableParameters { get; }

    /// <summary>
    /// Every network whose weights a checkpoint holds, by a stable name ("backbone", "head", "predictor",
    /// "target_backbone", "target_head"), in a fixed order. The engine puts them all in training mode.
    /// </summary>
    IReadOnlyList<(string Name, nn.Module Module)> Networks { get; }

    /// <summary>
    /// The loss of one batch: every query view in <see cref="MethodInput.Queries"/> is scored against the
    /// keys (or targets) of <see cref="MethodInput.Second"/>, weighted by its <see cref="QueryView.Weight"/>;
    /// a mixed query view is scored in the Un-Mix form <c>λ·L(q̃_i, k_i) + (1 − λ)·L(q̃_i, k_π(i))</c>
    /// (see <see cref="MixedObjective.UnMixLoss"/>) unless the method offers another.
    /// With <see cref="Engine.FinetuneOptions.Precision"/> below float32 the engine calls this inside a
    /// mixed-precision region: the library's backbones and <see cref="ProjectionHead"/> compute in
    /// bfloat16 there and still return float32 tensors, so layers and losses of your own run in float32.
    /// </summary>
    MethodLoss Loss(MethodInput input);

    /// <summary>After the optimizer step of a step whose loss was applied: momentum update, keys into the queue.</summary>
    void AfterStep();

    /// <summary>
    /// State beyond the networks' weights that a resumed run needs (e.g. the negative queue), as named
    /// CPU tensors that the caller disposes; empty for methods without such state.
    /// </summary>
    IReadOnlyDictionary<string, Tensor> GetState();

    /// <summary>Restores state captured by <see cref="GetState"/>.</summary>
    /// <exception cref="ArgumentException">A tensor is missing or has the wrong shape or type (named in the message).</exception>
    void LoadState(IReadOnlyDictionary<string, Tensor> state);
}
