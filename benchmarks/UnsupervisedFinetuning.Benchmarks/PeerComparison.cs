using System.Diagnostics;
using System.Globalization;
using UnsupervisedFinetuning.Engine;
using static TorchSharp.torch;

namespace UnsupervisedFinetuning.Benchmarks;

/// <summary>
/// The C# side of the PyTorch comparison (benchmarks/peer/compare.sh): times the model step the peer
/// script runs — random batch of uint8 images → float, ResNet-18 (standard stem) + MLP head, momentum
/// copy, InfoNCE against a 4,096-key queue, SGD, EMA, enqueue; no augmentation — once by the bare loop and
/// once through the FinetuneEngine (identity augmentation). Usage:
/// <c>... -- peer [--threads 2] [--steps 15] [--warmup 3] [--rounds 6] [--engine-first]</c>. Prints the rounds, then one JSON line (medians over rounds).
/// </summary>
internal static class PeerComparison
{
    public static int Run(string[] args)
    {
        int threads = BenchmarkArguments.Int(args, "--threads", 2);
        int steps = BenchmarkArguments.Int(args, "--steps", 15);
        int warmup = BenchmarkArguments.Int(args, "--warmup", 3);
        TorchDevices.EnsureNativeBackend();
        set_num_threads(threads);
        int rounds = BenchmarkArguments.Int(args, "--rounds", 6);
        bool engineFirst = args.Contains("--engine-first");
        using var data = StepWorkload.Images(2048, seed: 1);

        // Bare and engine alternate for several short rounds and are compared by their medians: on a shared
        // virtual machine one round can be 20% off the next, and whichever ran first in a fresh process would
        // also pay for the heap's growth (first-touch page faults), which is a property of neither.
        var bareRounds = new List<double>();
        var engineRounds = new List<double>();
        for (int round = 0; round < rounds; round++)
        {
            // Alternate which goes first, so neither always inherits the other's warm heap.
            if ((round % 2 == 1) ^ engineFirst)
            {
                engineRounds.Add(EngineMilliseconds(data, warmup, steps));
                bareRounds.Add(BareMilliseconds(data, warmup, steps));
            }
            else
            {
                bareRounds.Add(BareMilliseconds(data, warmup, steps));
                engineRounds.Add(EngineMilliseconds(data, warmup, steps));
            }

            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"round {round + 1}: bare {bareRounds[^1]:F1} ms/step, engine {engineRounds[^1]:F1} ms/step"));
        }

        double bare = BenchmarkStatistics.Median(bareRounds);
        double engineMs = BenchmarkStatistics.Median(engineRounds);

        // Work per step: the query pass forward + backward (≈ 3× forward) and the key pass forward, per image.
        long macs;
        using (var backbone = StepWorkload.Backbone())
        {
            macs = FlopCounter.ForwardMacsPerImage(backbone, 3, StepWorkload.ImageSize, StepWorkload.ImageSize);
        }

        double gflopPerStep = 2.0 * macs * 4 * StepWorkload.BatchSize / 1e9;
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{{\"implementation\": \"TorchSharp {__version__}\", \"threads\": {threads}, \"steps\": {steps}, \"rounds\": {rounds}, \"bare_ms_per_step\": {bare:F1}, \"engine_ms_per_step\": {engineMs:F1}, \"bare_best_ms\": {bareRounds.Min():F1}, \"engine_best_ms\": {engineRounds.Min():F1}, \"forward_mmac_per_image\": {macs / 1e6:F1}, \"gflop_per_step\": {gflopPerStep:F1}, \"engine_gflops\": {gflopPerStep / (engineMs / 1000):F1}}}"));
        return 0;
    }

    private static double BareMilliseconds(Data.IImageDataset data, int warmup, int steps)
    {
        using var backbone = StepWorkload.Backbone();
        using var loop = new BareMocoStep(data, backbone, StepWorkload.Identity());
        for (int i = 0; i < warmup; i++)
        {
            loop.Step();
        }

        var clock = Stopwatch.StartNew();
        for (int i = 0; i < steps; i++)
        {
            loop.Step();
        }

        return clock.Elapsed.TotalMilliseconds / steps;
    }

    private static double EngineMilliseconds(Data.IImageDataset data, int warmup, int steps)
    {
        using var backbone = StepWorkload.Backbone();
        var options = StepWorkload.Options(warmup + steps);
        options.ProgressEverySteps = 1;
        options.WarmupFraction = 0;
        var stamps = new Dictionary<long, long>();
        var progress = new SynchronousProgress<FinetuneProgress>(p => stamps[p.Step] = Stopwatch.GetTimestamp());
        var result = StepWorkload.Engine(options, replay: false, mixing: false, StepWorkload.Identity()).Run(new FinetuneRequest { Backbone = backbone, Target = data }, progress);
        result.Head.Dispose();
        return (stamps[warmup + steps] - stamps[warmup]) * 1000.0 / Stopwatch.Frequency / steps;
    }
}
