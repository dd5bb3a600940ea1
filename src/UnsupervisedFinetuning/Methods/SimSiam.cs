using Microsoft.Extensions.Options;
using TorchSharp.Modules;
using UnsupervisedFinetuning.Augment;
using UnsupervisedFinetuning.Backbones;
using UnsupervisedFinetuning.Objectives;
using static TorchSharp.torch;

namespace UnsupervisedFinetuning.Methods;

/// <summary>Options of <see cref="SimSiam"/>; defaults are the paper's (Chen &amp; He 2021, "Exploring Simple Siamese Representation Learning").</summary>
public sealed class SimSiamOptions
{
    /// <summary>Output width of the projector (and of the predictor). Default 2048 (the paper).</summary>
    public int ProjectionDimension { get; set; } = 2048;

    /// <summary>Hidden width of the projector's two hidden layers. Default null: the backbone's feature width (the paper: 2048 for ResNet-50).</summary>
    public int? ProjectionHiddenDimension { get; set; }

    /// <summary>Hidden (bottleneck) width of the predictor. Default 512 (the paper).</summary>
    public int PredictorHiddenDimension { get; set; } = 512;

    internal SimSiamOptions Clone() => (SimSiamOptions)MemberwiseClone();
}

/// <summary>Validates <see cref="SimSiamOptions"/>, naming every field that is out of range.</summary>
internal sealed class SimSiamOptionsValidator : IValidateOptions<SimSiamOptions>
{
    public ValidateOptionsResult Validate(string? name, SimSiamOptions options)
    {
        var check = new OptionsFailures(nameof(SimSiamOptions));
        check.Require(options.ProjectionDimension > 0, nameof(options.ProjectionDimension), options.ProjectionDimension, "a positive width");
        check.Require(options.ProjectionHiddenDimension is null or > 0, nameof(options.ProjectionHiddenDimension), options.ProjectionHiddenDimension, "null (the backbone's width) or a positive width");
        check.Require(options.PredictorHiddenDimension > 0, nameof(options.PredictorHiddenDimension), options.PredictorHiddenDimension, "a positive width");
        return check.Result();
    }
}

/// <summary>
/// SimSiam (Chen &amp; He 2021): one online network — backbone, a 3-layer projector ending in BatchNorm,
/// and a bottleneck predictor — and no momentum copy, no negatives. With <c>z = proj(f(x))</c>,
/// <c>p = pred(z)</c> and <c>D(p, z) = −cos(p, stopgrad(z))</c>, the loss is
/// <c>½·D(p₁, z₂) + ½·D(p₂, z₁)</c>; the stop-gradient alone prevents collapse. The loss lies in [−1, 1].
/// With mixing, each query view's D(p₁, z₂) term takes the Un-Mix form; the stop-gradient target z₁ of the
/// second term always comes from the plain first views.
/// </summary>
public sealed class SimSiam : ISelfSupervisedMethod
{
    private readonly SimSiamOptions _options;

    /// <summary>Creates the method.</summary>
    /// <param name="options">Its options (copied); the defaults when null.</param>
    /// <exception cref="OptionsValidationException">An option is out of range (every failure is named).</exception>
    public SimSiam(SimSiamOptions? options = null)
    {
        _options = new SimSiamOptionsValidator().ThrowIfInvalid(options?.Clone() ?? new SimSiamOptions());
        Settings = StrategySettings.Of(_options);
    }

    /// <summary>The catalog entry of SimSiam: "simsiam", options <see cref="SimSiamOptions"/>.</summary>
    public static MethodEntry Entry { get; } = MethodEntry.For<SimSiamOptions>("simsiam", "SimSiam: a predictor and a stop-gradient, no momentum encoder and no negatives (Chen and He 2021).", o => new SimSiam(o));

    /// <inheritdoc />
    public string Name => "SimSiam";

    /// <inheritdoc />
    public AugmentationRecipe Augmentation => AugmentationRecipe.SimClr; // the paper uses SimCLR's / MoCo v2's recipe

    /// <inheritdoc />
    public IReadOnlyDictionary<string, string> Settings { get; }

    /// <inheritdoc />
    public ISelfSupervisedModel Build(MethodContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        int features = context.Backbone.FeatureDimension;
        int width = _options.ProjectionDimension;
        var projector = context.HeadOrNew(() => new ProjectionHead(features, _options.ProjectionHiddenDimension ?? features, width, batchNorm: true, hiddenLayers: 2, outputBatchNorm: true));
        var predictor = context.PredictorOrNew(projector.OutputDimension, () => new ProjectionHead(projector.OutputDimension, _options.PredictorHiddenDimension, projector.OutputDimension, batchNorm: true));
        return new Model(context.Backbone, projector, predictor);
    }

    private sealed class Model(Backbone backbone, ProjectionHead projector, ProjectionHead predictor) : ISelfSupervisedModel
    {
        // 2 − 2·cos(p, z) on normalised vectors; D = −cos = loss/2 − 1. The targets are detached here.
        private readonly ByolLoss _cosine = new();

        public ProjectionHead Head => projector;

        public ProjectionHead? Predictor => predictor;

        public IReadOnlyList<Parameter> TrainableParameters { get; } = [.. backbone.parameters(), .. projector.parameters(), .. predictor.parameters()];

        public IReadOnlyList<(string Name, nn.Module Module)> Networks { get; } = [("backbone", backbone), ("head", projector), ("predictor", predictor)];

        public MethodLoss Loss(MethodInput input)
        {
            var first = input.Queries.Select(view => projector.call(backbone.call(view.Images))).ToArray(); // z₁ [B,D] per query view
            var z2 = projector.call(backbone.call(input.Second));                                           // z₂ [B,D]
            var p2 = predictor.call(z2);                                                                     // p₂ [B,D]
            var forward = MixedObjective.WeightedSum(input.Queries, (view, j) => _cosine.UnMixLoss(predictor.call(first[j]), z2.detach(), view.Plan));

            // z₁ of the plain first views: reuse an unmixed query view's, or encode them without gradients.
            int plain = input.Queries.ToList().FindIndex(view => !view.Plan.IsMixed && ReferenceEquals(view.Images, input.First));
            Tensor z1;
            if (plain >= 0)
            {
                z1 = first[plain].detach();
            }
            else
            {
                using var noGrad = no_grad();
                z1 = projector.call(backbone.call(input.First));
            }

            var backward = _cosine.Compute(p2, z1).Mean;
            var loss = ((forward + backward) / 4) - 1; // ½·(forward/2 − 1) + ½·(backward/2 − 1)
            int batch = input.BatchSize;
            return new MethodLoss(loss, (long)batch * (first.Length + 1), plain >= 0 ? 0 : batch);
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
