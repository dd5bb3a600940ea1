using System.Diagnostics;
using System.Globalization;
using UnsupervisedFinetuning.Augment;
using UnsupervisedFinetuning.Backbones;
using UnsupervisedFinetuning.Data;
using UnsupervisedFinetuning.Evaluation;
using UnsupervisedFinetuning.Replay;

namespace UnsupervisedFinetuning.Benchmarks;

/// <summary>
/// Replay selection on a large lazy source (a documented benchmark program: whole phases timed, one process's
/// peak memory read from /proc, Linux only). Usage:
/// <c>dotnet run -c Release --project benchmarks/UnsupervisedFinetuning.Benchmarks -- replay-selection [--files 100000] [--dir /tmp/uft-lazy] [--size 64] [--large-count 2500]</c>
/// <para>
/// Uses (or writes once) the lazy-data benchmark's folders: --files JPEGs of 48–160 px in ten sub-folders as the
/// source (indexed, never loaded whole; the sub-folders are the classes class-balanced selection reads) and 300
/// JPEGs as the target. Uniform, class-balanced, and the two feature rules together (they read the same features) run in their own child processes, so each peak resident memory is its own; each does
/// what the engine does before training: a <see cref="ReplaySelectionContext"/> over a randomly initialised
/// ResNet-18 (512-d features) at --size², then <see cref="SparseSourceReplay.SelectSubset"/> at ratio 0.25
/// (|S| = 75). The features are read first (the peak is the child's, at the end of its rules) and timed apart from the rule itself; coverage is also timed at
/// |S| = --large-count on the same features, to show the O(|S|·N·D) cost of exact greedy k-center. The last child
/// runs the two feature rules with <see cref="SparseReplayOptions.SelectionPool"/> = 20,000 (the pool's feature pass
/// is then inside the selection time).
/// </para>
/// </summary>
internal static class ReplaySelectionBenchmark
{
    // Coverage and target-nearest read the same source features, so they share one child (and its 100,000 forward passes).
    private static readonly (string Rules, int? Pool)[] Children = [("uniform", null), ("class-balanced", null), ("coverage,target-nearest", null), ("coverage,target-nearest", 20_000)];

    public static int Run(string[] args)
    {
        int files = BenchmarkArguments.Int(args, "--files", 100_000);
        int size = BenchmarkArguments.Int(args, "--size", 64);
        int largeCount = BenchmarkArguments.Int(args, "--large-count", 2500);
        string root = BenchmarkArguments.String(args, "--dir", Path.Combine(Path.GetTempPath(), "uft-lazy"));
        LazyDataBenchmark.Generate(root, files);
        Console.WriteLine($"replay selection, source {files:N0} lazy JPEGs (10 sub-folders), target 300 JPEGs, ResNet-18 (random weights, 512-d) at {size}², ratio 0.25");
        Console.WriteLine("rule            | pool    | |S|   | index s | source features s | target features s | selection s | peak RSS MB");
        foreach (var (rules, pool) in Children)
        {
            string output = ChildProcess.Run(["replay-selection-run", "--rules", rules, "--dir", root, "--size", size.ToString(CultureInfo.InvariantCulture), "--large-count", largeCount.ToString(CultureInfo.InvariantCulture),
                .. pool is int p ? (string[])["--pool", p.ToString(CultureInfo.InvariantCulture)] : []]);
            foreach (string line in output.Split('\n').Where(l => l.StartsWith("row ", StringComparison.Ordinal)))
            {
                Console.WriteLine(line[4..]);
            }
        }

        return 0;
    }

    /// <summary>The child: one rule, from a fresh process.</summary>
    public static int RunChild(string[] args)
    {
        string[] rules = BenchmarkArguments.String(args, "--rules", "uniform").Split(',');
        string root = BenchmarkArguments.String(args, "--dir", Path.Combine(Path.GetTempPath(), "uft-lazy"));
        int size = BenchmarkArguments.Int(args, "--size", 64);
        int largeCount = BenchmarkArguments.Int(args, "--large-count", 2500);
        int? pool = args.Contains("--pool") ? BenchmarkArguments.Int(args, "--pool", 0) : null;
        TorchDevices.EnsureNativeBackend();
        var images = new ImageFolderOptions { Height = size, Width = size };

        var clock = Stopwatch.StartNew();
        IImageDataset source = rules.Contains("class-balanced") ? ImageFolder.IndexLabeled(Path.Combine(root, "source"), images) : ImageFolder.Index(Path.Combine(root, "source"), images);
        double indexSeconds = clock.Elapsed.TotalSeconds;
        using var target = ImageFolder.Index(Path.Combine(root, "target"), images).LoadIntoMemory();

        TorchSharp.torch.random.manual_seed(1);
        using var backbone = new ResNet(ResNetDepth.ResNet18);
        var views = AugmentationPresets.Create(new AugmentationOptions(), AugmentationPreset.MocoV2, 3, size);
        using var context = new ReplaySelectionContext(target, source, new SeededRandom(1).Fork("replay"),
            data => FeatureExtractor.Extract(backbone, data, x => views.Evaluate(x, size, size)));
        bool readsFeatures = rules.Any(r => r is "coverage" or "target-nearest");

        // The features the rules read, first, so that each rule's own time is apart from the forward passes. With a
        // pool, the rules read the pool's features (the same draw SparseSourceReplay makes: a seeded sample, sorted).
        double sourceFeatures = 0, targetFeatures = 0;
        if (readsFeatures && pool is null)
        {
            clock.Restart();
            _ = context.Features(source);
            sourceFeatures = clock.Elapsed.TotalSeconds;
            clock.Restart();
            _ = context.Features(target);
            targetFeatures = clock.Elapsed.TotalSeconds;
        }

        foreach (string rule in rules)
        {
            var selection = rule switch
            {
                "coverage" => ReplaySelection.Coverage,
                "target-nearest" => ReplaySelection.TargetNearest,
                "class-balanced" => ReplaySelection.ClassBalanced,
                _ => ReplaySelection.Uniform,
            };
            var replay = new SparseSourceReplay(new SparseReplayOptions { Ratio = 0.25, Selection = selection, SelectionPool = pool });
            clock.Restart();
            int[] subset = replay.SelectSubset(context);
            Row(rule, pool, subset.Length, indexSeconds, sourceFeatures, targetFeatures, clock.Elapsed.TotalSeconds);
            if (selection == ReplaySelection.Coverage && pool is null)
            {
                clock.Restart();
                int[] large = CoverageReplaySelector.Instance.Select(context, largeCount);
                Row(rule, pool, large.Length, indexSeconds, sourceFeatures, targetFeatures, clock.Elapsed.TotalSeconds);
            }
        }

        return 0;
    }

    private static void Row(string rule, int? pool, int count, double index, double sourceFeatures, double targetFeatures, double select) =>
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"row {rule,-15} | {(pool is int p ? p.ToString("N0", CultureInfo.InvariantCulture) : "all"),7} | {count,5} | {index,7:F1} | {sourceFeatures,17:F1} | {targetFeatures,17:F2} | {select,11:F3} | {LazyDataBenchmark.PeakMegabytes(),11:F0}"));
}
