using SkiaSharp;
using TorchSharp.PyBridge;
using UnsupervisedFinetuning.Backbones;
using UnsupervisedFinetuning.Data;
using UnsupervisedFinetuning.Engine;
using UnsupervisedFinetuning.Formats;
using UnsupervisedFinetuning.Methods;

namespace UnsupervisedFinetuning.Fuzzing;

/// <summary>
/// Every reader of untrusted input the library has, with small valid seeds written by the library itself
/// (and, when given, real <c>torch.save</c> files): IDX raw and gzip, CIFAR binary, PNG and JPEG, PyTorch
/// zip checkpoints, safetensors, TorchSharp weights and the engine's own checkpoint.
/// </summary>
internal static class FuzzTargets
{
    public static readonly string[] Names = ["idx", "idx-gz", "cifar", "png", "jpeg", "pytorch", "safetensors", "torchsharp", "engine-checkpoint"];

    /// <summary>Builds the targets named in <paramref name="names"/>, writing seed files under <paramref name="work"/>.</summary>
    /// <param name="work">A scratch directory.</param>
    /// <param name="names">Targets to build (see <see cref="Names"/>).</param>
    /// <param name="pytorchSeeds">Extra seed files written by PyTorch's <c>torch.save</c>.</param>
    public static List<FuzzTarget> Create(string work, IEnumerable<string> names, IEnumerable<string>? pytorchSeeds = null)
    {
        Directory.CreateDirectory(work);
        var targets = new List<FuzzTarget>();
        foreach (string name in names)
        {
            targets.Add(name switch
            {
                "idx" => Idx(work, gzip: false),
                "idx-gz" => Idx(work, gzip: true),
                "cifar" => Cifar(),
                "png" => Image(SKEncodedImageFormat.Png, "png"),
                "jpeg" => Image(SKEncodedImageFormat.Jpeg, "jpg"),
                "pytorch" => PyTorch(work, pytorchSeeds ?? []),
                "safetensors" => SafetensorsFile(work),
                "torchsharp" => TorchSharpWeights(work),
                "engine-checkpoint" => EngineCheckpointFile(work),
                _ => throw new ArgumentException($"Unknown fuzz target '{name}'; expected one of {string.Join(", ", Names)}.", nameof(names)),
            });
        }

        return targets;
    }

    private static readonly Type[] BadFile = [typeof(InvalidDataException)];

    private static FuzzTarget Idx(string work, bool gzip)
    {
        var random = new Random(1);
        var pixels = new byte[5 * 7 * 6];
        random.NextBytes(pixels);
        string path = Path.Combine(work, gzip ? "seed-idx.gz" : "seed-idx");
        IdxFormat.WriteImages(path, pixels, 5, 7, 6, gzip);
        byte[] images = File.ReadAllBytes(path);
        IdxFormat.WriteLabels(path, [1, 2, 3, 4, 5], gzip);
        byte[] labels = File.ReadAllBytes(path);
        return new FuzzTarget(gzip ? "idx-gz" : "idx", gzip ? "case-idx.gz" : "case-idx", [images, labels], Mutator.Mutate,
            file =>
            {
                // Either reader: the format is the same, the dimension count decides. Images go through the
                // loader users call, which reads straight into a tensor.
                try
                {
                    using var images = IdxFormat.LoadImages(file);
                }
                catch (InvalidDataException e) when (e.Message.Contains("dimension", StringComparison.OrdinalIgnoreCase))
                {
                    IdxFormat.ReadLabels(file);
                }
            },
            BadFile);
    }

    private static FuzzTarget Cifar()
    {
        var random = new Random(2);
        var records = new byte[CifarBinary.RecordLength(CifarLabels.Cifar10) * 3];
        random.NextBytes(records);
        for (int i = 0; i < 3; i++)
        {
            records[i * CifarBinary.RecordLength(CifarLabels.Cifar10)] = (byte)(i % 10);
        }

        return new FuzzTarget("cifar", "case.bin", [records], Mutator.Mutate,
            file =>
            {
                using var data = CifarBinary.Load(CifarLabels.Cifar10, file);
            },
            BadFile);
    }

    private static FuzzTarget Image(SKEncodedImageFormat format, string extension)
    {
        var seeds = new List<byte[]>();
        foreach (var (width, height, colorType) in new[] { (16, 12, SKColorType.Rgba8888), (9, 13, SKColorType.Gray8) })
        {
            using var bitmap = new SKBitmap(new SKImageInfo(width, height, colorType, SKAlphaType.Premul));
            var random = new Random(width);
            for (int y = 0; y < height; y++)
            {
                for (int x = 0; x < width; x++)
                {
                    bitmap.SetPixel(x, y, new SKColor((byte)random.Next(256), (byte)random.Next(256), (byte)random.Next(256), (byte)(128 + random.Next(128))));
                }
            }

            using var image = SKImage.FromBitmap(bitmap);
            using var encoded = image.Encode(format, 90);
            seeds.Add(encoded.ToArray());
        }

        var options = new ImageFolderOptions { Height = 8, Width = 8 };
        return new FuzzTarget(extension == "png" ? "png" : "jpeg", "case." + extension, seeds, Mutator.Mutate,
            file => ImageFolder.Decode(file, options),
            BadFile);
    }

    private static FuzzTarget PyTorch(string work, IEnumerable<string> pytorchSeeds)
    {
        var seeds = pytorchSeeds.Select(File.ReadAllBytes).ToList();
        using (var model = new SmallCnn(1, 8))
        {
            string path = Path.Combine(work, "seed-pybridge.pth");
            using (var stream = File.Create(path))
            {
                PyTorchPickler.PickleStateDict(stream, model.state_dict());
            }

            seeds.Add(File.ReadAllBytes(path));
        }

        var loadInto = new SmallCnn(1, 8);
        return new FuzzTarget("pytorch", "case.pth", seeds, Mutator.MutateZipAware,
            file => Checkpoint.Load(loadInto, file, strict: false),
            BadFile);
    }

    private static FuzzTarget SafetensorsFile(string work)
    {
        string path = Path.Combine(work, "seed.safetensors");
        using (var model = new SmallCnn(1, 8))
        {
            var state = model.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value);
            Safetensors.SaveStateDict(path, state);
        }

        var loadInto = new SmallCnn(1, 8);
        return new FuzzTarget("safetensors", "case.safetensors", [File.ReadAllBytes(path)], Mutator.Mutate,
            file => Checkpoint.Load(loadInto, file, strict: false),
            BadFile);
    }

    private static FuzzTarget TorchSharpWeights(string work)
    {
        string path = Path.Combine(work, "seed.dat");
        using (var model = new SmallCnn(1, 8))
        {
            Checkpoint.Save(model, path);
        }

        var loadInto = new SmallCnn(1, 8);
        return new FuzzTarget("torchsharp", "case.dat", [File.ReadAllBytes(path)], Mutator.Mutate,
            file => Checkpoint.LoadTorchSharp(loadInto, file),
            BadFile);
    }

    private static FuzzTarget EngineCheckpointFile(string work)
    {
        // A two-step MoCo v2 run on 16 images of 8×8, checkpointed at its end: resuming a mutated copy with the
        // same settings reads the header, the networks, the optimizer and the queue, and trains what is left.
        var random = new Random(3);
        var pixels = new byte[16 * 8 * 8];
        random.NextBytes(pixels);
        var target = InMemoryImageDataset.FromBytes(pixels, 16, new ImageShape(1, 8, 8));
        string directory = Path.Combine(work, "engine");
        FinetuneEngine Engine() => FinetuneEngine.Create(
            new FinetuneOptions { Steps = 2, BatchSize = 8, Device = "cpu", Seed = 5, CheckpointDirectory = directory },
            new MocoV2(new MocoV2Options { ProjectionDimension = 4, ProjectionHiddenDimension = 8, QueueSize = 16 }));
        using (var model = new SmallCnn(1, 8))
        {
            Engine().Run(new FinetuneRequest { Backbone = model, Target = target });
        }

        byte[] seed = File.ReadAllBytes(Path.Combine(directory, "finetune.checkpoint"));
        // The file ends with the SHA-256 of the rest: half the cases recompute it, so that mutations reach the
        // header, tensors and sections past the checksum (as half the zip cases re-zip past the CRCs).
        static byte[] MutateAndRestamp(byte[] input, Random random)
        {
            byte[] mutated = Mutator.Mutate(input, random);
            if (random.Next(2) == 0 && mutated.Length > 32)
            {
                System.Security.Cryptography.SHA256.HashData(mutated.AsSpan(0, mutated.Length - 32), mutated.AsSpan(mutated.Length - 32));
            }

            return mutated;
        }

        return new FuzzTarget("engine-checkpoint", "case.checkpoint", [seed], MutateAndRestamp,
            file =>
            {
                using var model = new SmallCnn(1, 8);
                var result = Engine().Run(new FinetuneRequest { Backbone = model, Target = target, ResumeFrom = file });
                result.Head.Dispose();
            },
            BadFile);
    }
}
