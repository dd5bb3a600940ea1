using BenchmarkDotNet.Attributes;
using static TorchSharp.torch;

namespace UnsupervisedFinetuning.Benchmarks;

/// <summary>
/// The machine's float32 matrix-multiply rate through TorchSharp: the ceiling against which training
/// steps are judged (achieved GFLOP/s = 2·N³ / time).
/// </summary>
[MemoryDiagnoser]
public class MatMulBenchmarks
{
    private Tensor _a = null!;
    private Tensor _b = null!;

    [Params(512, 1024)]
    public int N { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        TorchDevices.EnsureNativeBackend();
        random.manual_seed(0);
        _a = randn(N, N);
        _b = randn(N, N);
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _a.Dispose();
        _b.Dispose();
    }

    [Benchmark]
    public float MatMul()
    {
        using var c = matmul(_a, _b);
        return c[0, 0].item<float>();
    }
}
