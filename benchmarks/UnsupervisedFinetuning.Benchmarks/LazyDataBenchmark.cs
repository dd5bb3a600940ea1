using System.Diagnostics;
using System.Globalization;
using SkiaSharp;
using UnsupervisedFinetuning.Backbones;
using UnsupervisedFinetuning.Data;
using UnsupervisedFinetuning.Engine;
using UnsupervisedFinetuning.Methods;
using UnsupervisedFinetuning.Replay;

namespace UnsupervisedFinetuning.Benchmarks;

/// <summary>
/// File-backed datasets at scale (a documented benchmark program, not BenchmarkDotNet: it times whole phases
/// and reads one process's peak memory, Linux only). Usage:
/// <c>dotnet run -c Release --project benchmarks/UnsupervisedFinetuning.Benchmarks -- lazy-data [--files 100000] [--dir /tmp/uft-lazy] [--steps 30]</c>
/// <list type="number">
/// <item>writes (once; kept in --dir) a source folder of --files JPEGs of mixed sizes (48–160 px a side) in ten
/// sub-folders, a target folder of 300 JPEGs (64–320 px) and 500 photo-sized JPEGs (500×375);</item>
/// <item>times <see cref="ImageFolder.Index"/> over the whole source (warm file-system cache), without and with
/// the header check of <see cref="ImageFolderOptions.SkipUnreadable"/>;</item>
/// <item>decode throughput of <see cref="ImageFileDataset.GetBatch"/> (batches of 256) at 96² and 224²;</item>
/// <item>finetuning runs, each in a child process (<c>lazy-run</c>) so that each peak is its own: ResNet-18,
/// MoCo v2, 64² views of 72² working images, batch 64, sparse replay 0.25 from a source of one sub-folder
/// (1/10 of the files) and from the whole source — peak resident memory — and the one-sub-folder source lazy
/// against the same images decoded into memory, alternating — mean step time.</item>
/// </list>
/// </summary>
internal static class LazyDataBenchmark
{
    /// <summary>Steps left out of the mean: they carry one-off costs.</summary>
    private const int WarmupSteps = 5;

    /// <summary>Replay ratio 0.25 of the 300 target images.</summary>
    private const int ReplayCount = 75;

    public static int Run(string[] args)
    {
        int files = BenchmarkArguments.Int(args, "--files", 100_000);
        int steps = BenchmarkArguments.Int(args, "--steps", 30);
        string root = BenchmarkArguments.String(args, "--dir", Path.Combine(Path.GetTempPath(), "uft-lazy"));
        if (steps <= WarmupSteps)
        {
            throw new ArgumentException($"--steps is {steps}; the step time is averaged after the first {WarmupSteps} steps, so give at least {WarmupSteps + 1}.");
        }

        if (files / 10 < ReplayCount)
        {
            throw new ArgumentException($"--files is {files}; the smaller run replays {ReplayCount} images from a tenth of the source, so give at least {ReplayCount * 10}.");
        }

        string source = Path.Combine(root, "source");
        string target = Path.Combine(root, "target");
        string photos = Path.Combine(root, "photos");
        Generate(root, files);
        SaveRandomModel(root);

        // 2. Indexing.
        var clock = Stopwatch.StartNew();
        var index = ImageFolder.Index(source);
        double indexSeconds = clock.Elapsed.TotalSeconds;
        clock.Restart();
        var checkedIndex = ImageFolder.Index(source, new ImageFolderOptions { SkipUnreadable = true });
        double checkedSeconds = clock.Elapsed.TotalSeconds;
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"index {index.Count:N0} files: {indexSeconds:F2} s ({index.Count / indexSeconds:N0} files/s); with header check (SkipUnreadable): {checkedSeconds:F2} s, {checkedIndex.Count:N0} kept"));

        // 3. Decode throughput.
        TorchDevices.EnsureNativeBackend();
        foreach (var (folder, what) in new[] { (photos, "500x375 JPEGs"), (source, "48-160 px JPEGs") })
        {
            foreach (int size in new[] { 96, 224 })
            {
                foreach (int threads in new[] { 1, 2 })
                {
                    var data = ImageFolder.Index(folder, new ImageFolderOptions { Height = size, Width = size, DecodeThreads = threads });
                    double rate = DecodeRate(data);
                    Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"decode {what} to {size}x{size} RGB, {threads} thread(s): {rate:N0} images/s"));
                }
            }
        }

        // 4. Peak memory against source size, and step time lazy against in memory (alternating), each run its own process.
        string oneTenth = Path.Combine(source, "part00");
        var small = Child(target, oneTenth, steps, inMemory: false);
        var large = Child(target, source, steps, inMemory: false);
        Console.WriteLine($"finetuning, source {small.SourceCount:N0} files (lazy): peak RSS {small.PeakMegabytes:N0} MB, mean step {small.StepMs:N0} ms");
        Console.WriteLine($"finetuning, source {large.SourceCount:N0} files (lazy): peak RSS {large.PeakMegabytes:N0} MB, mean step {large.StepMs:N0} ms");
        var lazy = new List<double>();
        var memory = new List<double>();
        for (int round = 0; round < 2; round++)
        {
            memory.Add(Child(target, oneTenth, steps, inMemory: true).StepMs);
            lazy.Add(Child(target, oneTenth, steps, inMemory: false).StepMs);
        }

        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"mean step, source {small.SourceCount:N0} files: lazy {lazy.Average():F0} ms [{string.Join(", ", lazy.Select(v => v.ToString("F0", CultureInfo.InvariantCulture)))}], in memory {memory.Average():F0} ms [{string.Join(", ", memory.Select(v => v.ToString("F0", CultureInfo.InvariantCulture)))}]: lazy/in-memory = {lazy.Average() / memory.Average():F3}"));
        return 0;
    }

    /// <summary>The child: one finetuning run; prints its own peak resident memory and mean step time.</summary>
    public static int RunChild(string[] args)
    {
        string target = BenchmarkArguments.String(args, "--target", "");
        string source = BenchmarkArguments.String(args, "--source", "");
        int steps = BenchmarkArguments.Int(args, "--steps", 30);
        bool inMemory = args.Contains("--in-memory");
        var options = new ImageFolderOptions { Height = 72, Width = 72 };
        using var targetSet = ImageFolder.Index(target, options).LoadIntoMemory();
        var lazySource = ImageFolder.Index(source, options);
        using var memorySource = inMemory ? lazySource.LoadIntoMemory() : null;
        IImageDataset sourceSet = memorySource is null ? lazySource : memorySource;
        TorchSharp.torch.random.manual_seed(1);
        using var backbone = new ResNet(ResNetDepth.ResNet18);
        var engine = FinetuneEngine.Create(
            new FinetuneOptions { Steps = steps, BatchSize = 64, Device = "cpu", Augmentation = { ImageSize = 64 }, Seed = 1 },
            new MocoV2(),
            new SparseSourceReplay(new SparseReplayOptions { Ratio = 0.25 }));
        var stepSeconds = new List<double>();
        TimeSpan last = TimeSpan.Zero;
        engine.Run(new FinetuneRequest { Backbone = backbone, Target = targetSet, Source = sourceSet }, new SynchronousProgress<FinetuneProgress>(p =>
        {
            stepSeconds.Add((p.Elapsed - last).TotalSeconds);
            last = p.Elapsed;
        }));

        // The first steps carry one-off costs (allocator warm-up, the replay subset's decoding): the mean is over the rest.
        double stepMs = 1000 * stepSeconds.Skip(WarmupSteps).Average();
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"result {sourceSet.Count} {PeakMegabytes():F0} {stepMs:F1}"));
        return 0;
    }

    private sealed record ChildResult(int SourceCount, double PeakMegabytes, double StepMs);

    private static ChildResult Child(string target, string source, int steps, bool inMemory)
    {
        string[] parts = ChildProcess.ResultFields(["lazy-run", "--target", target, "--source", source, "--steps", steps.ToString(CultureInfo.InvariantCulture), .. inMemory ? (string[])["--in-memory"] : []]);
        return new ChildResult(int.Parse(parts[0], CultureInfo.InvariantCulture), double.Parse(parts[1], CultureInfo.InvariantCulture), double.Parse(parts[2], CultureInfo.InvariantCulture));
    }

    /// <summary>
    /// A randomly initialised ResNet-18 for 64² RGB inputs as a self-describing model, so that the same folders can
    /// be run through the uft tool: <c>uft finetune --backbone &lt;dir&gt;/resnet18-random.model.json --target &lt;dir&gt;/target
    /// --source &lt;dir&gt;/source --working-size 72 …</c> (the closing note's /usr/bin/time -v figures).
    /// </summary>
    private static void SaveRandomModel(string root)
    {
        string path = Path.Combine(root, "resnet18-random.model.json");
        if (!File.Exists(path))
        {
            TorchSharp.torch.random.manual_seed(1);
            using var backbone = new ResNet(ResNetDepth.ResNet18);
            PretrainedModel.Save(path, backbone, InputDescription.ImageNet(64), provenance: new Dictionary<string, string> { ["weights"] = "random (torch.manual_seed(1)); for benchmarks only" });
        }
    }

    private static double DecodeRate(ImageFileDataset data)
    {
        var random = new Random(7);
        int[] Batch() => Enumerable.Range(0, 256).Select(_ => random.Next(data.Count)).ToArray();
        using (data.GetBatch(Batch()))
        {
            // warm-up: JIT, SkiaSharp's first codec, the file cache of these files
        }

        int images = 0;
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed.TotalSeconds < 5)
        {
            using var batch = data.GetBatch(Batch());
            images += 256;
        }

        return images / clock.Elapsed.TotalSeconds;
    }

    internal static double PeakMegabytes()
    {
        string line = File.ReadLines("/proc/self/status").First(l => l.StartsWith("VmHWM:", StringComparison.Ordinal));
        return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) / 1024.0;
    }

    /// <summary>Writes the folders unless a previous run left them complete (a marker file is written last).</summary>
    internal static void Generate(string root, int files)
    {
        string marker = Path.Combine(root, $"complete-{files}");
        if (File.Exists(marker))
        {
            Console.WriteLine($"using the images in {root}");
            return;
        }

        if (Directory.Exists(root))
        {
            Directory.Delete(root, recursive: true);
        }

        var clock = Stopwatch.StartNew();
        int perPart = files / 10;
        Parallel.For(0, files, new ParallelOptions { MaxDegreeOfParallelism = Environment.ProcessorCount }, i =>
        {
            var random = new Random(i);
            WriteJpeg(Path.Combine(root, "source", $"part{i / perPart:D2}", $"{i:D6}.jpg"), random.Next(48, 161), random.Next(48, 161), random);
        });
        for (int i = 0; i < 300; i++)
        {
            var random = new Random(1_000_000 + i);
            WriteJpeg(Path.Combine(root, "target", $"{i:D3}.jpg"), random.Next(64, 321), random.Next(64, 321), random);
        }

        for (int i = 0; i < 500; i++)
        {
            WriteJpeg(Path.Combine(root, "photos", $"{i:D3}.jpg"), 500, 375, new Random(2_000_000 + i));
        }

        File.WriteAllText(marker, "");
        long bytes = Directory.EnumerateFiles(root, "*.jpg", SearchOption.AllDirectories).Sum(f => new FileInfo(f).Length);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"wrote {files + 800:N0} JPEGs ({bytes / 1e6:N0} MB) in {clock.Elapsed.TotalSeconds:F0} s to {root}"));
    }

    /// <summary>A smooth colour gradient with a few ellipses and mild noise: compresses and decodes like a photo, not like noise.</summary>
    private static void WriteJpeg(string path, int width, int height, Random random)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        using var bitmap = new SKBitmap(new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Opaque));
        using (var canvas = new SKCanvas(bitmap))
        {
            var from = new SKColor((byte)random.Next(256), (byte)random.Next(256), (byte)random.Next(256));
            var to = new SKColor((byte)random.Next(256), (byte)random.Next(256), (byte)random.Next(256));
            using var gradient = new SKPaint { Shader = SKShader.CreateLinearGradient(new SKPoint(0, 0), new SKPoint(width, height), [from, to], SKShaderTileMode.Clamp) };
            canvas.DrawRect(0, 0, width, height, gradient);
            for (int e = 0; e < 4; e++)
            {
                using var paint = new SKPaint { Color = new SKColor((byte)random.Next(256), (byte)random.Next(256), (byte)random.Next(256)), IsAntialias = true };
                canvas.DrawOval(random.Next(width), random.Next(height), random.Next(4, (width / 3) + 5), random.Next(4, (height / 3) + 5), paint);
            }
        }

        Span<uint> pixels = System.Runtime.InteropServices.MemoryMarshal.Cast<byte, uint>(bitmap.GetPixelSpan());
        for (int p = 0; p < pixels.Length; p += 7)
        {
            pixels[p] ^= (uint)random.Next(0, 16) * 0x00010101u; // mild noise in a seventh of the pixels
        }

        using var data = bitmap.Encode(SKEncodedImageFormat.Jpeg, 90);
        File.WriteAllBytes(path, data.ToArray());
    }
}
