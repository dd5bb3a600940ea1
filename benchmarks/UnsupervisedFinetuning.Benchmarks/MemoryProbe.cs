using System.Globalization;
using UnsupervisedFinetuning.Backbones;
using UnsupervisedFinetuning.Engine;

namespace UnsupervisedFinetuning.Benchmarks;

/// <summary>
/// Process memory and live tensors over a long engine run (not a BenchmarkDotNet benchmark: it watches
/// one process for 1,000 steps). Usage:
/// <c>dotnet run -c Release --project benchmarks/UnsupervisedFinetuning.Benchmarks -- memory [--steps 1000] [--trim-every 50] [--model resnet18|smallcnn]</c>
/// </summary>
internal static class MemoryProbe
{
    public static int Run(string[] args)
    {
        int steps = BenchmarkArguments.Int(args, "--steps", 1000);
        int trimEvery = BenchmarkArguments.Int(args, "--trim-every", new FinetuneOptions().TrimNativeMemoryEverySteps ?? 0); // 0: never
        string model = BenchmarkArguments.String(args, "--model", "resnet18");
        TorchDevices.EnsureNativeBackend();

        using var target = StepWorkload.Images(2048, seed: 1);
        using Backbone backbone = model == "smallcnn" ? new SmallCnn(3, 256) : StepWorkload.Backbone();
        var options = StepWorkload.Options(steps);
        options.TrimNativeMemoryEverySteps = trimEvery > 0 ? trimEvery : null;
        options.ProgressEverySteps = 50;
        var samples = new List<(long Step, double ResidentMb, long LiveTensors)>();
        var progress = new SynchronousProgress<FinetuneProgress>(p =>
        {
            samples.Add((p.Step, NativeMemory.ResidentBytes() / 1048576.0, TorchSharp.DisposeScopeManager.Statistics.ThreadTotalLiveCount));
            double managed = GC.GetTotalMemory(false) / 1048576.0;
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"step {p.Step,5}  resident {samples[^1].ResidentMb,8:F1} MB  (managed {managed,6:F1} MB, {GC.CollectionCount(0)} GCs)  live tensors {samples[^1].LiveTensors,6}  {p.ImagesPerSecond,6:F0} img/s"));
        });

        Console.WriteLine($"MoCo v2, {model}, batch {StepWorkload.BatchSize}, {steps} steps, malloc_trim every {(trimEvery == 0 ? "never" : trimEvery + " steps")}");
        var result = StepWorkload.Engine(options, replay: false, mixing: true, StepWorkload.Augmentation()).Run(new FinetuneRequest { Backbone = backbone, Target = target }, progress);
        result.Head.Dispose();

        // Judge the run after warm-up (the first 30% of steps): libtorch's and glibc's pools fill and the
        // managed heap reaches its first gen-0 budget there. Flat = every later sample within ±5% of the
        // first post-warm-up sample, and live tensors unchanged.
        var baseline = samples.First(s => s.Step >= Math.Max(1, steps * 3 / 10));
        var after = samples.Where(s => s.Step >= baseline.Step).ToList();
        var end = after[^1];
        double Percent(double mb) => (mb - baseline.ResidentMb) / baseline.ResidentMb * 100;
        double low = after.Min(s => s.ResidentMb), high = after.Max(s => s.ResidentMb);
        double growthPerStep = end.Step > baseline.Step ? (end.ResidentMb - baseline.ResidentMb) / (end.Step - baseline.Step) : 0;
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"resident memory: warm-up max {samples.Where(s => s.Step < baseline.Step).Select(s => s.ResidentMb).DefaultIfEmpty(baseline.ResidentMb).Max():F1} MB; step {baseline.Step} → {end.Step}: {baseline.ResidentMb:F1} → {end.ResidentMb:F1} MB ({Percent(end.ResidentMb):+0.0;-0.0}%, {growthPerStep * 1024:F0} KB/step), range {low:F1}–{high:F1} MB ({Percent(low):+0.0;-0.0}% … {Percent(high):+0.0;-0.0}%); live tensors {baseline.LiveTensors} → {end.LiveTensors}"));
        bool flat = after.All(s => Math.Abs(Percent(s.ResidentMb)) <= 5 && s.LiveTensors == baseline.LiveTensors);
        Console.WriteLine(flat ? "FLAT (every sample after warm-up within ±5%, live tensors unchanged)" : "NOT FLAT");
        return flat ? 0 : 1;
    }
}
