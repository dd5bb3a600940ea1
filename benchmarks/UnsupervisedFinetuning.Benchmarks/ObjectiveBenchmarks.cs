using BenchmarkDotNet.Attributes;
using UnsupervisedFinetuning.Objectives;
using static TorchSharp.torch;

namespace UnsupervisedFinetuning.Benchmarks;

/// <summary>The objectives alone: forward and backward of the loss on 128 × 128-d embeddings (InfoNCE against a 4,096-key queue).</summary>
[MemoryDiagnoser]
public class ObjectiveBenchmarks
{
    private Tensor _queries = null!;
    private Tensor _keys = null!;
    private Tensor _queue = null!;
    private IContrastiveObjective _objective = null!;

    [Params("InfoNCE", "NT-Xent", "BYOL")]
    public string Objective { get; set; } = "InfoNCE";

    [GlobalSetup]
    public void Setup()
    {
        TorchDevices.EnsureNativeBackend();
        var generator = new Generator(1);
        _queries = randn([128, 128], generator: generator).requires_grad_(true);
        _keys = randn([128, 128], generator: generator);
        _queue = randn([4096, 128], generator: generator);
        _objective = Objective switch
        {
            "InfoNCE" => new InfoNceLoss(0.2),
            "NT-Xent" => new NtXentLoss(0.5),
            _ => new ByolLoss(),
        };
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _queries.Dispose();
        _keys.Dispose();
        _queue.Dispose();
    }

    [Benchmark]
    public float ForwardBackward()
    {
        using var scope = NewDisposeScope();
        var loss = _objective.Compute(_queries, _keys, _queue).Mean;
        loss.backward();
        _queries.grad!.zero_();
        return loss.item<float>();
    }
}
