using System.Diagnostics;
using System.Globalization;
using UnsupervisedFinetuning.Data;
using UnsupervisedFinetuning.Engine;
using static TorchSharp.torch;

namespace UnsupervisedFinetuning.Benchmarks;

/// <summary>
/// Mixed bfloat16 against float32 for the MoCo v2 engine step (ResNet-18, standard stem, queue 4,096, head
/// 512 → 512 → 128, identity augmentation, as the PyTorch peer runs it) at several image sizes. Usage:
/// <c>... -- precision [--shapes 128x32,64x96,32x224] [--steps 5] [--warmup 2] [--rounds 3] [--threads 2]</c>.
/// Every (shape, precision, round) is its own child process, so its peak resident memory (VmHWM) is its own;
/// the two precisions alternate round by round (which goes first alternates too), and the speed-up compares
/// medians over rounds: a shared virtual machine drifts by 20% between minutes.
/// </summary>
internal static class PrecisionBenchmark
{
    public static int Run(string[] args)
    {
        string shapes = BenchmarkArguments.String(args, "--shapes", "128x32,64x96,32x224");
        int steps = BenchmarkArguments.Int(args, "--steps", 5);
        int warmup = BenchmarkArguments.Int(args, "--warmup", 2);
        int rounds = BenchmarkArguments.Int(args, "--rounds", 3);
        int threads = BenchmarkArguments.Int(args, "--threads", 2);
        TorchDevices.EnsureNativeBackend();
        Console.WriteLine($"CPU bfloat16: {ComputePrecisions.Explain(CPU)}; Auto → {ComputePrecisions.Resolve(ComputePrecision.Auto, CPU)}; {threads} threads, {steps} timed steps after {warmup} warm-up, {rounds} rounds");
        Console.WriteLine("shape (batch x size) | float32 ms/step | bfloat16 ms/step | speed-up | float32 peak MB | bfloat16 peak MB");
        foreach (string shape in shapes.Split(','))
        {
            var (batch, size) = BenchmarkArguments.Shape(shape);
            var float32 = new List<(double Ms, double PeakMb)>();
            var bfloat16 = new List<(double Ms, double PeakMb)>();
            for (int round = 0; round < rounds; round++)
            {
                foreach (var precision in round % 2 == 0 ? (ComputePrecision[])[ComputePrecision.Float32, ComputePrecision.BFloat16] : [ComputePrecision.BFloat16, ComputePrecision.Float32])
                {
                    var result = Child(batch, size, precision, steps, warmup, threads);
                    (precision == ComputePrecision.Float32 ? float32 : bfloat16).Add(result);
                    Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  {shape} round {round + 1} {precision}: {result.Ms:F0} ms/step, peak {result.PeakMb:F0} MB"));
                }
            }

            double f = BenchmarkStatistics.Median(float32.Select(r => r.Ms)), b = BenchmarkStatistics.Median(bfloat16.Select(r => r.Ms));
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"row {shape,-10} | {f,15:F0} | {b,16:F0} | {f / b,7:F2}× | {float32.Max(r => r.PeakMb),15:F0} | {bfloat16.Max(r => r.PeakMb),16:F0}"));
        }

        return 0;
    }

    /// <summary>The child: one engine run in one precision; prints "result ms-per-step peak-MB".</summary>
    public static int RunChild(string[] args)
    {
        int batch = BenchmarkArguments.Int(args, "--batch", 64);
        int size = BenchmarkArguments.Int(args, "--size", 96);
        int steps = BenchmarkArguments.Int(args, "--steps", 5);
        int warmup = BenchmarkArguments.Int(args, "--warmup", 2);
        var precision = Enum.Parse<ComputePrecision>(BenchmarkArguments.String(args, "--precision", "Float32"));
        TorchDevices.EnsureNativeBackend();
        set_num_threads(BenchmarkArguments.Int(args, "--threads", 2));
        using var data = new InMemoryImageDataset(randint(0, 256, [Math.Max(4 * batch, 256), 3, size, size], generator: new Generator(1)).to(ScalarType.Byte));
        using var backbone = StepWorkload.Backbone();
        var options = StepWorkload.Options(warmup + steps);
        options.BatchSize = batch;
        options.ProgressEverySteps = 1;
        options.WarmupFraction = 0;
        options.Precision = precision;
        options.Monitoring.Enabled = false;
        options.TrimNativeMemoryEverySteps = null; // VmHWM is the peak either way; no trimming keeps the steps alike
        var stamps = new Dictionary<long, long>();
        var progress = new SynchronousProgress<FinetuneProgress>(p => stamps[p.Step] = Stopwatch.GetTimestamp());
        var result = StepWorkload.Engine(options, replay: false, mixing: false, StepWorkload.Identity()).Run(new FinetuneRequest { Backbone = backbone, Target = data }, progress);
        result.Head.Dispose();
        double ms = (stamps[warmup + steps] - stamps[warmup]) * 1000.0 / Stopwatch.Frequency / steps;
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"result {ms:F1} {LazyDataBenchmark.PeakMegabytes():F0}"));
        return 0;
    }

    private static (double Ms, double PeakMb) Child(int batch, int size, ComputePrecision precision, int steps, int warmup, int threads)
    {
        string[] parts = ChildProcess.ResultFields(["precision-run", "--batch", Text(batch), "--size", Text(size), "--precision", precision.ToString(), "--steps", Text(steps), "--warmup", Text(warmup), "--threads", Text(threads)]);
        return (double.Parse(parts[0], CultureInfo.InvariantCulture), double.Parse(parts[1], CultureInfo.InvariantCulture));
    }

    private static string Text(int value) => value.ToString(CultureInfo.InvariantCulture);
}
