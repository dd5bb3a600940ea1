using UnsupervisedFinetuning.Augment;
using UnsupervisedFinetuning.Backbones;
using UnsupervisedFinetuning.Data;
using UnsupervisedFinetuning.Objectives;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace UnsupervisedFinetuning.Benchmarks;

/// <summary>
/// The same MoCo v2 step as the engine's, written by hand with no engine machinery: gather a random
/// batch, two augmented views, query through backbone + head, keys through the momentum copies without
/// gradients, InfoNCE against the queue, SGD step, EMA, enqueue. The engine's overhead is measured against this.
/// </summary>
internal sealed class BareMocoStep : IDisposable
{
    private readonly IImageDataset _data;
    private readonly TwoViewAugmentation _augmentation;
    private readonly Backbone _backbone;
    private readonly ProjectionHead _head;
    private readonly Backbone _keyBackbone;
    private readonly ProjectionHead _keyHead;
    private readonly MomentumEncoder _backboneEma;
    private readonly MomentumEncoder _headEma;
    private readonly NegativeQueue _queue;
    private readonly InfoNceLoss _loss = new(0.2);
    private readonly TorchSharp.Modules.SGD _optimizer;
    private readonly SeededRandom _random = new(1);

    public BareMocoStep(IImageDataset data, Backbone backbone, TwoViewAugmentation augmentation)
    {
        _data = data;
        _augmentation = augmentation;
        _backbone = backbone;
        _head = ProjectionHead.MocoV2(backbone.FeatureDimension, 128);
        _keyBackbone = backbone.CloneArchitecture();
        _keyHead = _head.CloneArchitecture();
        _backboneEma = new MomentumEncoder(_backbone, _keyBackbone, 0.99);
        _headEma = new MomentumEncoder(_head, _keyHead, 0.99);
        _queue = new NegativeQueue(StepWorkload.QueueSize, 128, seed: 1);
        _optimizer = optim.SGD(_backbone.parameters().Concat(_head.parameters()), 0.03, momentum: 0.9, weight_decay: 1e-4);
        _backbone.train();
        _head.train();
        _keyBackbone.train();
        _keyHead.train();
    }

    public float Step() => Step(null);

    /// <summary>One step; when <paramref name="phases"/> is given, each part's wall time is added to it (libtorch's CPU ops are synchronous, so a stopwatch between them is exact).</summary>
    public float Step(PhaseTimes? phases)
    {
        float value;
        using (NewDisposeScope())
        {
            phases?.Start();
            int[] indices = new int[StepWorkload.BatchSize];
            for (int i = 0; i < indices.Length; i++)
            {
                indices[i] = _random.NextInt(_data.Count);
            }

            var batch = _data.GetBatch(indices);
            phases?.Mark("gather batch");
            var (view1, view2) = _augmentation.Apply(batch, _random);
            phases?.Mark("augment two views");
            value = ModelStep(view1, view2, phases);
        }

        phases?.Mark("free step tensors");
        return value;
    }

    /// <summary>The model's share of a step on two ready views [B,3,S,S]: forward, loss, backward, update, EMA, enqueue.</summary>
    public float ModelStep(Tensor view1, Tensor view2, PhaseTimes? phases = null)
    {
        using var scope = NewDisposeScope();
        var q = _head.call(_backbone.call(view1));
        phases?.Mark("query forward");
        Tensor k;
        using (no_grad())
        {
            k = _keyHead.call(_keyBackbone.call(view2));
        }

        phases?.Mark("key forward (no grad)");
        var loss = _loss.Compute(q, k, _queue.Keys).Mean;
        float value = loss.item<float>();
        phases?.Mark("InfoNCE loss");
        _optimizer.zero_grad();
        loss.backward();
        phases?.Mark("backward");
        _optimizer.step();
        phases?.Mark("SGD update");
        _backboneEma.Update();
        _headEma.Update();
        phases?.Mark("EMA update");
        _queue.Enqueue(F.normalize(k, dim: 1));
        phases?.Mark("enqueue");
        return value;
    }

    public void Dispose()
    {
        _queue.Dispose();
        _head.Dispose();
        _keyBackbone.Dispose();
        _keyHead.Dispose();
        _optimizer.Dispose();
    }
}
