using Microsoft.Extensions.Options;
using TorchSharp.Modules;
using UnsupervisedFinetuning.Augment;
using UnsupervisedFinetuning.Backbones;
using UnsupervisedFinetuning.Objectives;
using static TorchSharp.torch;

namespace UnsupervisedFinetuning.Methods;

/// <summary>Options of <see cref="SimClr"/>; defaults are the paper's (Chen et al. 2020, "A Simple Framework for Contrastive Learning").</summary>
public sealed class SimClrOptions
{
    /// <summary>NT-Xent temperature τ. Default 0.5 (the paper's choice for batches of a few hundred).</summary>
    public double Temperature { get; set; } = 0.5;

    /// <summary>Embedding width of the projection head. Default 128 (the paper).</summary>
    public int ProjectionDimension { get; set; } = 128;

    /// <summary>Hidden width of the projection head. Default null: the backbone's feature width (the paper: 2048 for ResNet-50).</summary>
    public int? ProjectionHiddenDimension { get; set; }

    internal SimClrOptions Clone() => (SimClrOptions)MemberwiseClone();
}

/// <summary>Validates <see cref="SimClrOptions"/>, naming every field that is out of range.</summary>
internal sealed class SimClrOptionsValidator : IValidateOptions<SimClrOptions>
{
    public ValidateOptionsResult Validate(string? name, SimClrOptions options)
    {
        var check = new OptionsFailures(nameof(SimClrOptions));
        check.Require(OptionsValidation.IsFiniteAtLeast(options.Temperature, 1e-8), nameof(options.Temperature), options.Temperature, "a finite value ≥ 1e-8");
        check.Require(options.ProjectionDimension > 0, nameof(options.ProjectionDimension), options.ProjectionDimension, "a positive width");
        check.Require(options.ProjectionHiddenDimension is null or > 0, nameof(options.ProjectionHiddenDimension), options.ProjectionHiddenDimension, "null (the backbone's width) or a positive width");
        return check.Result();
    }
}

/// <summary>
/// SimCLR (Chen et al. 2020): both views go through the same online backbone and head, both with
/// gradients, and NT-Xent treats each view's twin as its positive and the other 2B − 2 views of the batch
/// as negatives. No momentum network, no queue.
/// </summary>
public sealed class SimClr : ISelfSupervisedMethod
{
    private readonly SimClrOptions _options;

    /// <summary>Creates the method.</summary>
    /// <param name="options">Its options (copied); the defaults when null.</param>
    /// <exception cref="OptionsValidationException">An option is out of range (every failure is named).</exception>
    public SimClr(SimClrOptions? options = null)
    {
        _options = new SimClrOptionsValidator().ThrowIfInvalid(options?.Clone() ?? new SimClrOptions());
        Settings = StrategySettings.Of(_options);
    }

    /// <summary>The catalog entry of SimClr: "simclr", options <see cref="SimClrOptions"/>.</summary>
    public static MethodEntry Entry { get; } = MethodEntry.For<SimClrOptions>("simclr", "SimCLR: NT-Xent between the two views of every image in the batch (Chen et al. 2020).", o => new SimClr(o));

    /// <inheritdoc />
    public string Name => "SimCLR";

    /// <inheritdoc />
    public AugmentationRecipe Augmentation => AugmentationRecipe.SimClr;

    /// <inheritdoc />
    public IReadOnlyDictionary<string, string> Settings { get; }

    /// <inheritdoc />
    public ISelfSupervisedModel Build(MethodContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        int features = context.Backbone.FeatureDimension;
        var head = context.HeadOrNew(() => new ProjectionHead(features, _options.ProjectionHiddenDimension ?? features, _options.ProjectionDimension, batchNorm: false));
        return new Model(context.Backbone, head, new NtXentLoss(_options.Temperature));
    }

    private sealed class Model(Backbone backbone, ProjectionHead head, NtXentLoss loss) : ISelfSupervisedModel
    {
        public ProjectionHead Head => head;

        public ProjectionHead? Predictor => null;

        public IReadOnlyList<Parameter> TrainableParameters { get; } = [.. backbone.parameters(), .. head.parameters()];

        public IReadOnlyList<(string Name, nn.Module Module)> Networks { get; } = [("backbone", backbone), ("head", head)];

        public MethodLoss Loss(MethodInput input)
        {
            var queries = input.Queries.Select(view => head.call(backbone.call(view.Images))).ToArray(); // z₁ [B,D] per query view
            var keys = head.call(backbone.call(input.Second));                                           // z₂ [B,D], with gradients
            var value = MixedObjective.WeightedSum(input.Queries, (view, j) => loss.UnMixLoss(queries[j], keys, view.Plan));
            return new MethodLoss(value, (long)input.BatchSize * (queries.Length + 1), 0);
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
