using BenchmarkDotNet.Attributes;
using UnsupervisedFinetuning.Backbones;
using UnsupervisedFinetuning.Objectives;
using static TorchSharp.torch;

namespace UnsupervisedFinetuning.Benchmarks;

/// <summary>
/// One MoCo v2 training step written by hand on the library's parts (ResNet-18 with torchvision's
/// standard stem, 128-d MLP head, momentum encoder, InfoNCE against a 4096-key queue, SGD with momentum):
/// the reference that augmentation cost (≤ 15% of a step) and the engine's overhead are measured against.
/// Inputs are already-augmented float views, so this is the model's share of a step only.
/// </summary>
[MemoryDiagnoser]
public class MocoStepBenchmarks
{
    private ResNet _backbone = null!;
    private ProjectionHead _head = null!;
    private ResNet _keyBackbone = null!;
    private ProjectionHead _keyHead = null!;
    private MomentumEncoder _keyEncoder = null!;
    private MomentumEncoder _keyHeadEncoder = null!;
    private NegativeQueue _queue = null!;
    private InfoNceLoss _loss = null!;
    private TorchSharp.Modules.SGD _optimizer = null!;
    private Tensor _view1 = null!;
    private Tensor _view2 = null!;

    [Params("128x32", "256x32", "64x96")]
    public string Shape { get; set; } = "128x32";

    [GlobalSetup]
    public void Setup()
    {
        TorchDevices.EnsureNativeBackend();
        random.manual_seed(0);
        string[] parts = Shape.Split('x');
        int batch = int.Parse(parts[0], System.Globalization.CultureInfo.InvariantCulture);
        int size = int.Parse(parts[1], System.Globalization.CultureInfo.InvariantCulture);
        _backbone = new ResNet(ResNetDepth.ResNet18);
        _head = ProjectionHead.MocoV2(_backbone.FeatureDimension, 128);
        _keyBackbone = (ResNet)_backbone.CloneArchitecture();
        _keyHead = ProjectionHead.MocoV2(_backbone.FeatureDimension, 128);
        _keyEncoder = new MomentumEncoder(_backbone, _keyBackbone, 0.99);
        _keyHeadEncoder = new MomentumEncoder(_head, _keyHead, 0.99);
        _queue = new NegativeQueue(4096, 128, seed: 1);
        _loss = new InfoNceLoss(0.2);
        _optimizer = optim.SGD(_backbone.parameters().Concat(_head.parameters()), 0.03, momentum: 0.9, weight_decay: 1e-4);
        _view1 = randn(batch, 3, size, size);
        _view2 = randn(batch, 3, size, size);
        _backbone.train();
        _keyBackbone.train();
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _view1.Dispose();
        _view2.Dispose();
        _queue.Dispose();
        _backbone.Dispose();
        _head.Dispose();
        _keyBackbone.Dispose();
        _keyHead.Dispose();
    }

    [Benchmark]
    public float Step()
    {
        using var scope = NewDisposeScope();
        var q = _head.call(_backbone.call(_view1));
        Tensor k;
        using (no_grad())
        {
            k = nn.functional.normalize(_keyHead.call(_keyBackbone.call(_view2)), dim: 1);
        }

        var loss = _loss.Compute(q, k, _queue.Keys).Mean;
        _optimizer.zero_grad();
        loss.backward();
        _optimizer.step();
        _keyEncoder.Update();
        _keyHeadEncoder.Update();
        _queue.Enqueue(k);
        return loss.item<float>();
    }
}
