using BenchmarkDotNet.Attributes;
using SkiaSharp;
using UnsupervisedFinetuning.Data;

namespace UnsupervisedFinetuning.Benchmarks;

/// <summary>Decoding datasets: the shipped Fashion-MNIST test set (IDX, gzip, 10,000 images) and a folder of 512 PNG files (32×32 RGB).</summary>
[MemoryDiagnoser]
public class DataLoadingBenchmarks
{
    private string _idxImages = string.Empty;
    private string _idxLabels = string.Empty;
    private string _folder = string.Empty;

    [GlobalSetup]
    public void Setup()
    {
        TorchDevices.EnsureNativeBackend();
        string data = Path.Combine(RepositoryRoot(), "samples", "data", "fashion-mnist");
        _idxImages = Path.Combine(data, "t10k-images-idx3-ubyte.gz");
        _idxLabels = Path.Combine(data, "t10k-labels-idx1-ubyte.gz");
        _folder = Path.Combine(Path.GetTempPath(), "uft-bench-png-" + Guid.NewGuid().ToString("N"));
        var random = new SeededRandom(1);
        for (int c = 0; c < 4; c++)
        {
            Directory.CreateDirectory(Path.Combine(_folder, $"class{c}"));
            for (int i = 0; i < 128; i++)
            {
                using var bitmap = new SKBitmap(32, 32);
                for (int y = 0; y < 32; y++)
                {
                    for (int x = 0; x < 32; x++)
                    {
                        bitmap.SetPixel(x, y, new SKColor((byte)random.NextInt(256), (byte)random.NextInt(256), (byte)random.NextInt(256)));
                    }
                }

                using var png = bitmap.Encode(SKEncodedImageFormat.Png, 100);
                File.WriteAllBytes(Path.Combine(_folder, $"class{c}", $"{i}.png"), png.ToArray());
            }
        }
    }

    [GlobalCleanup]
    public void Cleanup() => Directory.Delete(_folder, recursive: true);

    [Benchmark]
    public int IdxGzip10k()
    {
        using var dataset = IdxFormat.LoadLabeled(_idxImages, _idxLabels);
        return dataset.Count;
    }

    [Benchmark]
    public int ImageFolder512Png()
    {
        using var dataset = ImageFolder.LoadLabeled(_folder, new ImageFolderOptions { Height = 32, Width = 32 });
        return dataset.Count;
    }

    internal static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "UnsupervisedFinetuning.sln")))
            {
                return dir.FullName;
            }
        }

        return Directory.GetCurrentDirectory();
    }
}
