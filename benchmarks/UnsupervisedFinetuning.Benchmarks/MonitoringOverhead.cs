using System.Diagnostics;
using System.Globalization;
using UnsupervisedFinetuning.Augment;
using UnsupervisedFinetuning.Backbones;
using UnsupervisedFinetuning.Data;
using UnsupervisedFinetuning.Engine;
using UnsupervisedFinetuning.Methods;
using UnsupervisedFinetuning.Replay;
using static TorchSharp.torch;
using UnsupervisedFinetuning.Evaluation;

namespace UnsupervisedFinetuning.Benchmarks;

/// <summary>
/// What online monitoring costs at its default (automatic) interval: whole finetuning runs with monitoring off and
/// on, alternating in one process, same seed and data (a documented benchmark program: it times whole runs, which
/// BenchmarkDotNet's per-invocation model does not fit). Usage:
/// <c>dotnet run -c Release --project benchmarks/UnsupervisedFinetuning.Benchmarks -- monitoring [--model smallcnn|resnet18] [--steps N] [--rounds 2]</c>
/// <list type="bullet">
/// <item>smallcnn (default): the Quickstart's shape — SmallCnn(256), 1 × 28², batch 128, 500 steps, 300 target images,
/// sparse replay 0.25 from 2,000 source images (the source probe is drawn from them);</item>
/// <item>resnet18: ResNet-18, 3 × 64², batch 64, 600 steps, 1,000 target images, replay from 4,000 source images.</item>
/// </list>
/// Reports the interval chosen, the points measured, wall time off and on, the overhead, and the time spent inside
/// the points (<see cref="MonitorPoint.Seconds"/>) as a share of the monitored run.
/// </summary>
internal static class MonitoringOverhead
{
    public static int Run(string[] args)
    {
        string model = BenchmarkArguments.String(args, "--model", "smallcnn");
        bool small = model == "smallcnn";
        int steps = BenchmarkArguments.Int(args, "--steps", small ? 500 : 600);
        int rounds = BenchmarkArguments.Int(args, "--rounds", 2);
        var (channels, size, batch, targetCount, sourceCount) = small ? (1, 28, 128, 300, 2000) : (3, 64, 64, 1000, 4000);
        TorchDevices.EnsureNativeBackend();
        using var target = RandomImages(targetCount, channels, size, seed: 1);
        using var source = RandomImages(sourceCount, channels, size, seed: 2);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{model}: {channels}x{size}x{size}, batch {batch}, {steps} steps, {targetCount} target + replay 0.25 from {sourceCount} source images, MoCo v2, {get_num_threads()} threads"));

        var off = new List<double>();
        var on = new List<double>();
        FinetuneResult? monitored = null;
        for (int round = 0; round < rounds; round++)
        {
            foreach (bool enabled in round % 2 == 0 ? new[] { false, true } : [true, false])
            {
                random.manual_seed(7);
                using Backbone backbone = small ? new SmallCnn(channels, 256) : new ResNet(ResNetDepth.ResNet18);
                var options = new FinetuneOptions { Steps = steps, BatchSize = batch, Device = "cpu", Seed = 3 };
                options.Monitoring.Enabled = enabled;
                var views = AugmentationPresets.Create(options.Augmentation, AugmentationPreset.MocoV2, channels, size);
                var engine = FinetuneEngine.Create(options, new MocoV2(), new SparseSourceReplay(new SparseReplayOptions { Ratio = 0.25 }), augmentation: views);
                var clock = Stopwatch.StartNew();
                var result = engine.Run(new FinetuneRequest { Backbone = backbone, Target = target, Source = source });
                double seconds = clock.Elapsed.TotalSeconds;
                (enabled ? on : off).Add(seconds);
                monitored = enabled ? result : monitored;
                string detail = enabled ? string.Create(CultureInfo.InvariantCulture, $", {result.Monitoring.Count} points, {result.Monitoring.Sum(p => p.Seconds):F2} s inside them") : "";
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"round {round + 1}, monitoring {(enabled ? "on " : "off")}: {seconds:F1} s{detail}"));
            }
        }

        var points = monitored!.Monitoring;
        int interval = points.Count > 2 ? (int)points[1].Step : steps;
        double inside = points.Sum(p => p.Seconds);
        double meanOff = off.Average();
        double meanOn = on.Average();
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"interval {interval} steps ({points.Count} points: {string.Join(", ", points.Select(p => p.Step))}); off {meanOff:F1} s, on {meanOn:F1} s: overhead {100 * (meanOn - meanOff) / meanOff:+0.0;-0.0}% wall; {inside:F2} s inside the points = {100 * inside / meanOn:F1}% of the monitored run"));
        return 0;
    }

    private static InMemoryImageDataset RandomImages(int count, int channels, int size, long seed)
    {
        var generator = new SeededRandom(seed);
        byte[] pixels = new byte[count * channels * size * size];
        for (int i = 0; i < pixels.Length; i++)
        {
            pixels[i] = (byte)generator.NextInt(256);
        }

        return InMemoryImageDataset.FromBytes(pixels, count, new ImageShape(channels, size, size));
    }
}
