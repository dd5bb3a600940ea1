using System.Globalization;

namespace UnsupervisedFinetuning.Benchmarks;

/// <summary>
/// Where the time of one MoCo v2 step goes (ResNet-18, 32×32, batch 128, queue 4096), phase by phase,
/// measured on the hand-written step the engine is compared with. Usage:
/// <c>... -- profile [--steps 20] [--warmup 3] [--threads 2] [--augment mocov2|none]</c>
/// </summary>
internal static class StepProfile
{
    public static int Run(string[] args)
    {
        int steps = BenchmarkArguments.Int(args, "--steps", 20);
        int warmup = BenchmarkArguments.Int(args, "--warmup", 3);
        int threads = BenchmarkArguments.Int(args, "--threads", 2);
        bool augment = BenchmarkArguments.String(args, "--augment", "mocov2") != "none";
        TorchDevices.EnsureNativeBackend();
        TorchSharp.torch.set_num_threads(threads);

        using var data = StepWorkload.Images(2048, seed: 1);
        using var backbone = StepWorkload.Backbone();
        using var loop = new BareMocoStep(data, backbone, augment ? StepWorkload.Augmentation() : StepWorkload.Identity());
        var phases = new PhaseTimes();
        for (int i = 0; i < warmup; i++)
        {
            loop.Step(phases);
        }

        phases.Clear();
        for (int i = 0; i < steps; i++)
        {
            loop.Step(phases);
        }

        var rows = phases.PerStep(steps).ToList();
        double total = rows.Sum(r => r.Milliseconds);
        Console.WriteLine($"MoCo v2 step, ResNet-18, batch {StepWorkload.BatchSize} × {StepWorkload.ImageSize}², {threads} threads, augmentation {(augment ? "MoCo v2" : "none")}, mean of {steps} steps after {warmup}");
        Console.WriteLine("| phase | ms | share |");
        Console.WriteLine("|---|---|---|");
        foreach (var (phase, ms) in rows)
        {
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| {phase} | {ms:F1} | {ms / total * 100:F1}% |"));
        }

        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| **step** | **{total:F1}** | 100% |"));
        return 0;
    }
}
