using Microsoft.Extensions.Options;
using TorchSharp.Modules;
using UnsupervisedFinetuning.Augment;
using UnsupervisedFinetuning.Backbones;
using UnsupervisedFinetuning.Objectives;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace UnsupervisedFinetuning.Methods;

/// <summary>The form of the contrastive loss of mixed queries.</summary>
public enum MixedLossForm
{
    /// <summary>Un-Mix: λ·L(q̃, k) + (1 − λ)·L(q̃, k_π), each term the InfoNCE loss against the queue.</summary>
    UnMix,

    /// <summary>i-Mix: logits against [all in-batch keys, queue] with the soft target λ on k_i and 1 − λ on k_π(i).</summary>
    IMix,
}

/// <summary>
/// Options of <see cref="MocoV2"/>. Defaults are the paper's (Chen et al. 2020, "Improved Baselines with
/// Momentum Contrastive Learning") except the queue and the momentum, which suit finetuning sets of a few
/// hundred images (DESIGN §2): the paper's 65,536 keys and m = 0.999 assume ImageNet-sized data.
/// </summary>
public sealed class MocoV2Options
{
    /// <summary>InfoNCE temperature τ. Default 0.2 (the paper).</summary>
    public double Temperature { get; set; } = 0.2;

    /// <summary>
    /// Negative queue size K; at least the batch size. Default null: the largest multiple of the batch size
    /// not above min(4096, training-set size), since a longer queue holds older keys of the very images in
    /// the batch as "negatives" (the paper: 65,536).
    /// </summary>
    public int? QueueSize { get; set; }

    /// <summary>EMA coefficient m of the key encoder, in [0, 1]. Default 0.99 (the paper: 0.999 over ImageNet).</summary>
    public double Momentum { get; set; } = 0.99;

    /// <summary>Embedding width of the projection head. Default 128 (the paper).</summary>
    public int ProjectionDimension { get; set; } = 128;

    /// <summary>Hidden width of the projection head. Default null: the backbone's feature width (the paper: 2048 for ResNet-50).</summary>
    public int? ProjectionHiddenDimension { get; set; }

    /// <summary>How mixed queries are scored (see DESIGN §2). Default <see cref="MixedLossForm.UnMix"/>.</summary>
    public MixedLossForm MixedLoss { get; set; } = MixedLossForm.UnMix;

    internal MocoV2Options Clone() => (MocoV2Options)MemberwiseClone();
}

/// <summary>Validates <see cref="MocoV2Options"/>, naming every field that is out of range.</summary>
internal sealed class MocoV2OptionsValidator : IValidateOptions<MocoV2Options>
{
    public ValidateOptionsResult Validate(string? name, MocoV2Options options)
    {
        var check = new OptionsFailures(nameof(MocoV2Options));
        check.Require(OptionsValidation.IsFiniteAtLeast(options.Temperature, 1e-8), nameof(options.Temperature), options.Temperature, "a finite value ≥ 1e-8");
        check.Require(options.QueueSize is null or > 0, nameof(options.QueueSize), options.QueueSize, "null (automatic) or a positive size");
        check.Require(options.Momentum is >= 0 and <= 1, nameof(options.Momentum), options.Momentum, "a value in [0, 1]");
        check.Require(options.ProjectionDimension > 0, nameof(options.ProjectionDimension), options.ProjectionDimension, "a positive width");
        check.Require(options.ProjectionHiddenDimension is null or > 0, nameof(options.ProjectionHiddenDimension), options.ProjectionHiddenDimension, "null (the backbone's width) or a positive width");
        check.Require(Enum.IsDefined(options.MixedLoss), nameof(options.MixedLoss), options.MixedLoss, "UnMix or IMix");
        return check.Result();
    }
}

/// <summary>
/// MoCo v2 (He et al. 2020; Chen et al. 2020): the query is <c>q = g(f(x₁))</c>, the key
/// <c>k = g_k(f_k(x₂))</c> comes from a momentum copy of backbone and head without gradients, and InfoNCE
/// scores q against k and a queue of earlier keys. After each step the key encoder moves by EMA and the
/// batch's keys replace the oldest in the queue.
/// </summary>
public sealed class MocoV2 : ISelfSupervisedMethod
{
    private readonly MocoV2Options _options;

    /// <summary>Creates the method.</summary>
    /// <param name="options">Its options (copied); the defaults when null.</param>
    /// <exception cref="OptionsValidationException">An option is out of range (every failure is named).</exception>
    public MocoV2(MocoV2Options? options = null)
    {
        _options = new MocoV2OptionsValidator().ThrowIfInvalid(options?.Clone() ?? new MocoV2Options());
        Settings = StrategySettings.Of(_options);
    }

    /// <summary>The catalog entry of MocoV2: "mocov2" (alias "moco"), options <see cref="MocoV2Options"/>.</summary>
    public static MethodEntry Entry { get; } = MethodEntry.For<MocoV2Options>("mocov2", "MoCo v2: InfoNCE against a queue of momentum-encoded keys (Chen et al. 2020).", o => new MocoV2(o), "moco");

    /// <inheritdoc />
    public string Name => "MoCo v2";

    /// <inheritdoc />
    public AugmentationRecipe Augmentation => AugmentationRecipe.MocoV2;

    /// <inheritdoc />
    public IReadOnlyDictionary<string, string> Settings { get; }

    /// <inheritdoc />
    public ISelfSupervisedModel Build(MethodContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        int queueSize = _options.QueueSize ?? NegativeQueue.DefaultSize(context.BatchSize, context.TrainingSetSize);
        if (queueSize < context.BatchSize)
        {
            throw new ArgumentException($"MocoV2Options.QueueSize is {queueSize}; expected at least the batch size ({context.BatchSize}) so a whole batch of keys fits.", nameof(context));
        }

        int features = context.Backbone.FeatureDimension;
        var head = context.HeadOrNew(() => new ProjectionHead(features, _options.ProjectionHiddenDimension ?? features, _options.ProjectionDimension, batchNorm: false));
        return new Model(context.Backbone, head, _options, queueSize, context);
    }

    private sealed class Model : ISelfSupervisedModel
    {
        private readonly Backbone _backbone;
        private readonly MomentumTarget _target;
        private readonly NegativeQueue _queue;
        private readonly InfoNceLoss _loss;
        private readonly MixedLossForm _form;
        private Tensor? _keys; // this step's keys [B,D], enqueued after the optimizer step

        public Model(Backbone backbone, ProjectionHead head, MocoV2Options options, int queueSize, MethodContext context)
        {
            _backbone = backbone;
            Head = head;
            _loss = new InfoNceLoss(options.Temperature);
            _form = options.MixedLoss;
            _target = new MomentumTarget(backbone, head, options.Momentum, context.Device);
            _queue = new NegativeQueue(queueSize, head.OutputDimension, context.Device, seed: context.Seed);
            TrainableParameters = [.. backbone.parameters(), .. head.parameters()];
            Networks = [("backbone", backbone), ("head", head), .. _target.Networks];
        }

        public ProjectionHead Head { get; }

        public ProjectionHead? Predictor => null;

        public IReadOnlyList<Parameter> TrainableParameters { get; }

        public IReadOnlyList<(string Name, nn.Module Module)> Networks { get; }

        public MethodLoss Loss(MethodInput input)
        {
            var queries = input.Queries.Select(view => Head.call(_backbone.call(view.Images))).ToArray(); // q̃ [B,D] per query view
            var keys = _target.Encode(input.Second);                                                       // k [B,D], no gradient
            var loss = MixedObjective.WeightedSum(input.Queries, (view, j) => _form == MixedLossForm.IMix
                ? MixedObjective.IMixLoss(_loss, queries[j], keys, _queue.Keys, view.Plan)
                : _loss.UnMixLoss(queries[j], keys, view.Plan, _queue.Keys));
            _keys = keys;
            return new MethodLoss(loss, (long)input.BatchSize * queries.Length, input.BatchSize);
        }

        public void AfterStep()
        {
            _target.Update();
            if (_keys is not null)
            {
                using var noGrad = no_grad();
                _queue.Enqueue(F.normalize(_keys, dim: 1));
                _keys = null;
            }
        }

        public IReadOnlyDictionary<string, Tensor> GetState()
        {
            var queue = _queue.GetState();
            return new Dictionary<string, Tensor>
            {
                ["queue.keys"] = queue.Keys,
                ["queue.position"] = tensor(new[] { queue.Pointer, queue.Filled }),
            };
        }

        public void LoadState(IReadOnlyDictionary<string, Tensor> state)
        {
            ArgumentNullException.ThrowIfNull(state);
            if (!state.TryGetValue("queue.keys", out var keys) || !state.TryGetValue("queue.position", out var position))
            {
                throw new ArgumentException("MoCo v2 state needs 'queue.keys' and 'queue.position'; found " + (state.Count == 0 ? "none" : string.Join(", ", state.Keys.Select(key => IO.ExceptionText.Printable(key)))) + ".", nameof(state)); // names from a checkpoint
            }

            if (position.dtype != ScalarType.Int64 || position.numel() != 2)
            {
                throw new ArgumentException($"'queue.position' must be int64 [2]; got {position.dtype} [{string.Join(",", position.shape)}].", nameof(state));
            }

            var values = position.data<long>().ToArray();
            _queue.LoadState(new NegativeQueueState(keys, values[0], values[1]));
        }

        public void Dispose()
        {
            _target.Dispose();
            _queue.Dispose();
        }
    }
}
