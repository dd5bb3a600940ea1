using TorchSharp;
using UnsupervisedFinetuning.Backbones;
using static TorchSharp.torch;

namespace UnsupervisedFinetuning.Methods;

/// <summary>What a method is built around for one run (see <see cref="ISelfSupervisedMethod.Build"/>).</summary>
public sealed class MethodContext
{
    /// <summary>The online backbone, already on <see cref="Device"/>: the caller's, trained in place; never dispose it.</summary>
    public required Backbone Backbone { get; init; }

    /// <summary>The device every network and tensor of the run lives on.</summary>
    public required Device Device { get; init; }

    /// <summary>Images per batch, B.</summary>
    public required int BatchSize { get; init; }

    /// <summary>Images the run trains on: the target set plus the replayed source images (sizes a negative queue).</summary>
    public required int TrainingSetSize { get; init; }

    /// <summary>The run's seed: new weights and random state are drawn from it, never from TorchSharp's global generator.</summary>
    public long Seed { get; init; }

    /// <summary>A pretrained projection head to continue from; the method creates one when null.</summary>
    public ProjectionHead? Head { get; init; }

    /// <summary>A pretrained predictor to continue from (BYOL, SimSiam); the method creates one when null.</summary>
    public ProjectionHead? Predictor { get; init; }

    /// <summary>A CPU generator for <paramref name="purpose"/>, seeded from <see cref="Seed"/>; the caller disposes it.</summary>
    public Generator CreateGenerator(string purpose) => new(new SeededRandom(Seed).Fork(purpose).NextUInt64());

    /// <summary>
    /// <see cref="Head"/> when given (it must take the backbone's features), otherwise <paramref name="create"/>'s
    /// head with weights drawn from the run's seed; on <see cref="Device"/> either way.
    /// </summary>
    /// <exception cref="ArgumentException">The given head does not take <see cref="Backbone.FeatureDimension"/> features.</exception>
    public ProjectionHead HeadOrNew(Func<ProjectionHead> create)
    {
        ArgumentNullException.ThrowIfNull(create);
        if (Head is { } given && given.InputDimension != Backbone.FeatureDimension)
        {
            throw new ArgumentException($"The projection head takes {given.InputDimension} features but the backbone gives {Backbone.FeatureDimension}.", nameof(Head));
        }

        return Prepare(Head, create, "head");
    }

    /// <summary>
    /// <see cref="Predictor"/> when given (it must map <paramref name="dimension"/> to <paramref name="dimension"/>),
    /// otherwise <paramref name="create"/>'s predictor with weights drawn from the run's seed; on <see cref="Device"/>.
    /// </summary>
    /// <exception cref="ArgumentException">The given predictor does not map the head's embedding width to itself.</exception>
    public ProjectionHead PredictorOrNew(int dimension, Func<ProjectionHead> create)
    {
        ArgumentNullException.ThrowIfNull(create);
        if (Predictor is { } given && (given.InputDimension != dimension || given.OutputDimension != dimension))
        {
            throw new ArgumentException($"The predictor must map {dimension} to {dimension} dimensions; it maps {given.InputDimension} to {given.OutputDimension}.", nameof(Predictor));
        }

        return Prepare(Predictor, create, "predictor");
    }

    private ProjectionHead Prepare(ProjectionHead? given, Func<ProjectionHead> create, string purpose)
    {
        var head = given;
        if (head is null)
        {
            head = create();
            using var generator = CreateGenerator(purpose);
            head.ResetParameters(generator);
        }

        head.to(Device);
        return head;
    }
}
