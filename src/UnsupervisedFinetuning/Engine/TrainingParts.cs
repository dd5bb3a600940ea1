using TorchSharp;
using UnsupervisedFinetuning.Backbones;
using UnsupervisedFinetuning.Objectives;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace UnsupervisedFinetuning.Engine;

/// <summary>
/// The networks and stateful parts of one run, assembled from the objective's <see cref="ObjectiveParts"/>:
/// the online backbone + projection head (+ BYOL predictor), and, when required, their momentum targets
/// and the negative queue.
/// </summary>
internal sealed class TrainingParts : IDisposable
{
    private readonly List<IDisposable> _owned = [];

    private TrainingParts(Backbone backbone, ProjectionHead head, ProjectionHead? predictor, Backbone? targetBackbone, ProjectionHead? targetHead, NegativeQueue? queue, double emaMomentum)
    {
        Backbone = backbone;
        Head = head;
        Predictor = predictor;
        TargetBackbone = targetBackbone;
        TargetHead = targetHead;
        Queue = queue;
        if (targetBackbone is not null && targetHead is not null)
        {
            BackboneEma = new MomentumEncoder(backbone, targetBackbone, emaMomentum);
            HeadEma = new MomentumEncoder(head, targetHead, emaMomentum);
        }
    }

    public Backbone Backbone { get; }

    public ProjectionHead Head { get; }

    public ProjectionHead? Predictor { get; }

    public Backbone? TargetBackbone { get; }

    public ProjectionHead? TargetHead { get; }

    public NegativeQueue? Queue { get; }

    public MomentumEncoder? BackboneEma { get; }

    public MomentumEncoder? HeadEma { get; }

    public IReadOnlyList<TorchSharp.Modules.Parameter> TrainableParameters =>
        [.. Backbone.parameters(), .. Head.parameters(), .. Predictor?.parameters() ?? []];

    public static TrainingParts Create(FinetuneRequest request, IContrastiveObjective objective, FinetuneOptions options, Device device, int queueSize)
    {
        var parts = objective.Parts;
        var backbone = request.Backbone;
        backbone.to(device);
        int defaultProjection = parts.HasFlag(ObjectiveParts.Predictor) ? 256 : 128;
        int projection = options.ProjectionDimension > 0 ? options.ProjectionDimension : defaultProjection;
        bool byolStyle = parts.HasFlag(ObjectiveParts.Predictor);
        int hidden = options.ProjectionHiddenDimension > 0 ? options.ProjectionHiddenDimension : byolStyle ? 4096 : backbone.FeatureDimension;

        var owned = new List<IDisposable>();
        // Head and predictor go to the caller with the result (FinetuneResult), so they are not owned here.
        ProjectionHead head = request.Head ?? new ProjectionHead(backbone.FeatureDimension, hidden, projection, batchNorm: byolStyle);
        if (head.InputDimension != backbone.FeatureDimension)
        {
            throw new ArgumentException($"The projection head takes {head.InputDimension} features but the backbone gives {backbone.FeatureDimension}.", nameof(request));
        }

        head.to(device);
        ProjectionHead? predictor = null;
        if (parts.HasFlag(ObjectiveParts.Predictor))
        {
            int predictorHidden = options.PredictorHiddenDimension > 0 ? options.PredictorHiddenDimension : 4096;
            predictor = request.Predictor ?? ProjectionHead.Byol(head.OutputDimension, predictorHidden, head.OutputDimension);
            if (predictor.InputDimension != head.OutputDimension || predictor.OutputDimension != head.OutputDimension)
            {
                throw new ArgumentException($"The predictor must map {head.OutputDimension} to {head.OutputDimension} dimensions; it maps {predictor.InputDimension} to {predictor.OutputDimension}.", nameof(request));
            }

            predictor.to(device);
        }

        Backbone? targetBackbone = null;
        ProjectionHead? targetHead = null;
        if (parts.HasFlag(ObjectiveParts.MomentumTarget))
        {
            targetBackbone = Own(owned, backbone.CloneArchitecture());
            targetHead = Own(owned, head.CloneArchitecture());
            targetBackbone.to(device);
            targetHead.to(device);
        }

        NegativeQueue? queue = parts.HasFlag(ObjectiveParts.NegativeQueue)
            ? Own(owned, new NegativeQueue(queueSize, head.OutputDimension, device, seed: options.Seed))
            : null;
        var result = new TrainingParts(backbone, head, predictor, targetBackbone, targetHead, queue, options.EmaMomentum);
        result._owned.AddRange(owned);
        return result;
    }

    /// <summary>All networks in training mode (the momentum target too: its BatchNorm uses key-batch statistics, as in MoCo).</summary>
    public void Train()
    {
        Backbone.train();
        Head.train();
        Predictor?.train();
        TargetBackbone?.train();
        TargetHead?.train();
    }

    /// <summary>Online embeddings [B,D] of a view: head(backbone(x)), then the predictor when there is one.</summary>
    public Tensor Query(Tensor view)
    {
        var z = Head.call(Backbone.call(view));
        return Predictor is null ? z : Predictor.call(z);
    }

    /// <summary>Key embeddings [B,D] of a view: from the momentum target without gradients, or from the online network.</summary>
    public Tensor Key(Tensor view)
    {
        if (TargetBackbone is null || TargetHead is null)
        {
            return Head.call(Backbone.call(view));
        }

        using var noGrad = no_grad();
        return TargetHead.call(TargetBackbone.call(view));
    }

    /// <summary>After the optimizer step: EMA of the target, and the batch's keys into the queue.</summary>
    public void AfterStep(Tensor keys)
    {
        BackboneEma?.Update();
        HeadEma?.Update();
        if (Queue is not null)
        {
            using var noGrad = no_grad();
            Queue.Enqueue(F.normalize(keys.detach(), dim: 1));
        }
    }

    /// <summary>The modules whose weights a checkpoint holds, by stable name.</summary>
    public IEnumerable<(string Name, nn.Module Module)> Modules()
    {
        yield return ("backbone", Backbone);
        yield return ("head", Head);
        if (Predictor is not null)
        {
            yield return ("predictor", Predictor);
        }

        if (TargetBackbone is not null && TargetHead is not null)
        {
            yield return ("target_backbone", TargetBackbone);
            yield return ("target_head", TargetHead);
        }
    }

    public void Dispose()
    {
        foreach (var item in _owned)
        {
            item.Dispose();
        }
    }

    private static T Own<T>(List<IDisposable> owned, T item)
        where T : IDisposable
    {
        owned.Add(item);
        return item;
    }
}
