using Microsoft.Extensions.Options;
using TorchSharp.Modules;
using UnsupervisedFinetuning.Augment;
using UnsupervisedFinetuning.Backbones;
using UnsupervisedFinetuning.Objectives;
using static TorchSharp.torch;

namespace UnsupervisedFinetuning.Methods;

/// <summary>Options of <see cref="Byol"/>; defaults are the paper's (Grill et al. 2020, "Bootstrap Your Own Latent").</summary>
public sealed class ByolOptions
{
    /// <summary>EMA coefficient τ of the target network, in [0, 1]. Default 0.996 (the paper's base value; it is held constant here, not annealed to 1).</summary>
    public double Momentum { get; set; } = 0.996;

    /// <summary>Embedding width of the projector and the predictor. Default 256 (the paper).</summary>
    public int ProjectionDimension { get; set; } = 256;

    /// <summary>Hidden width of the projector. Default 4096 (the paper).</summary>
    public int ProjectionHiddenDimension { get; set; } = 4096;

    /// <summary>Hidden width of the predictor. Default 4096 (the paper).</summary>
    public int PredictorHiddenDimension { get; set; } = 4096;

    internal ByolOptions Clone() => (ByolOptions)MemberwiseClone();
}

/// <summary>Validates <see cref="ByolOptions"/>, naming every field that is out of range.</summary>
internal sealed class ByolOptionsValidator : IValidateOptions<ByolOptions>
{
    public ValidateOptionsResult Validate(string? name, ByolOptions options)
    {
        var check = new OptionsFailures(nameof(ByolOptions));
        check.Require(options.Momentum is >= 0 and <= 1, nameof(options.Momentum), options.Momentum, "a value in [0, 1]");
        check.Require(options.ProjectionDimension > 0, nameof(options.ProjectionDimension), options.ProjectionDimension, "a positive width");
        check.Require(options.ProjectionHiddenDimension > 0, nameof(options.ProjectionHiddenDimension), options.ProjectionHiddenDimension, "a positive width");
        check.Require(options.PredictorHiddenDimension > 0, nameof(options.PredictorHiddenDimension), options.PredictorHiddenDimension, "a positive width");
        return check.Result();
    }
}

/// <summary>
/// BYOL (Grill et al. 2020), non-contrastive: the online network (backbone, projector, predictor) predicts
/// the target network's projection of the other view, <c>L = 2 − 2·cos(p, z′)</c>; the target is a momentum
/// copy without gradients. The loss is symmetrised: the second view's prediction of the first view's
/// target is added.
/// </summary>
public sealed class Byol : ISelfSupervisedMethod
{
    private readonly ByolOptions _options;

    /// <summary>Creates the method.</summary>
    /// <param name="options">Its options (copied); the defaults when null.</param>
    /// <exception cref="OptionsValidationException">An option is out of range (every failure is named).</exception>
    public Byol(ByolOptions? options = null)
    {
        _options = new ByolOptionsValidator().ThrowIfInvalid(options?.Clone() ?? new ByolOptions());
        Settings = StrategySettings.Of(_options);
    }

    /// <summary>The catalog entry of Byol: "byol", options <see cref="ByolOptions"/>.</summary>
    public static MethodEntry Entry { get; } = MethodEntry.For<ByolOptions>("byol", "BYOL: an online network predicts a momentum target network's projection, no negatives (Grill et al. 2020).", o => new Byol(o));

    /// <inheritdoc />
    public string Name => "BYOL";

    /// <inheritdoc />
    public AugmentationRecipe Augmentation => AugmentationRecipe.Byol;

    /// <inheritdoc />
    public IReadOnlyDictionary<string, string> Settings { get; }

    /// <inheritdoc />
    public ISelfSupervisedModel Build(MethodContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var head = context.HeadOrNew(() => ProjectionHead.Byol(context.Backbone.FeatureDimension, _options.ProjectionHiddenDimension, _options.ProjectionDimension));
        var predictor = context.PredictorOrNew(head.OutputDimension, () => ProjectionHead.Byol(head.OutputDimension, _options.PredictorHiddenDimension, head.OutputDimension));
        return new Model(context.Backbone, head, predictor, new MomentumTarget(context.Backbone, head, _options.Momentum, context.Device));
    }

    private sealed class Model(Backbone backbone, ProjectionHead head, ProjectionHead predictor, MomentumTarget target) : ISelfSupervisedModel
    {
        private readonly ByolLoss _loss = new();

        public ProjectionHead Head => head;

        public ProjectionHead? Predictor => predictor;

        public IReadOnlyList<Parameter> TrainableParameters { get; } = [.. backbone.parameters(), .. head.parameters(), .. predictor.parameters()];

        public IReadOnlyList<(string Name, nn.Module Module)> Networks { get; } = [("backbone", backbone), ("head", head), ("predictor", predictor), .. target.Networks];

        public MethodLoss Loss(MethodInput input)
        {
            var predictions = input.Queries.Select(view => Predict(view.Images)).ToArray(); // p [B,D] per query view
            var targets = target.Encode(input.Second);                                       // z′ [B,D], no gradient
            var loss = MixedObjective.WeightedSum(input.Queries, (view, j) => _loss.UnMixLoss(predictions[j], targets, view.Plan));

            // Symmetric term: the second view predicts the first view's target.
            loss = loss + _loss.Compute(Predict(input.Second), target.Encode(input.First)).Mean;
            int batch = input.BatchSize;
            return new MethodLoss(loss, (long)batch * (predictions.Length + 1), 2L * batch);
        }

        public void AfterStep() => target.Update();

        public IReadOnlyDictionary<string, Tensor> GetState() => new Dictionary<string, Tensor>();

        public void LoadState(IReadOnlyDictionary<string, Tensor> state)
        {
        }

        public void Dispose() => target.Dispose();

        private Tensor Predict(Tensor view) => predictor.call(head.call(backbone.call(view)));
    }
}
