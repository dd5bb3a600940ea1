using System.Globalization;
using UnsupervisedFinetuning.Data;

namespace UnsupervisedFinetuning.Benchmarks;

/// <summary>
/// Peak resident memory of reading a large IDX file, against the size of its data (not a BenchmarkDotNet
/// benchmark: it watches one process's peak, Linux only). Usage:
/// <c>dotnet run -c Release --project benchmarks/UnsupervisedFinetuning.Benchmarks -- idx-memory [--mb 600] [--gzip] [--reader load|read]</c>
/// </summary>
internal static class IdxMemoryProbe
{
    public static int Run(string[] args)
    {
        long megabytes = BenchmarkArguments.Int(args, "--mb", 600);
        bool gzip = args.Contains("--gzip");
        bool load = BenchmarkArguments.String(args, "--reader", "load") == "load";
        const int Side = 32;
        int count = (int)(megabytes * 1_000_000 / (Side * Side));
        long dataBytes = (long)count * Side * Side;
        string path = Path.Combine(Path.GetTempPath(), $"uft-idx-probe-{Environment.ProcessId}{(gzip ? ".gz" : "")}");
        try
        {
            WriteFile(path, count, Side, gzip);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{count:N0} images of {Side}x{Side}: {dataBytes / 1e6:0} MB of pixels, file {new FileInfo(path).Length / 1e6:0} MB{(gzip ? " (gzip)" : "")}"));

            // libtorch's own footprint (≈ 110 MB once loaded) is not the reader's: load it before measuring.
            TorchDevices.EnsureNativeBackend();
            using (TorchSharp.torch.zeros(1))
            {
            }

            // One measurement per process: memory a first read frees stays with the process and would hide a second's.
            double peak = load
                ? PeakMegabytesAdded(() =>
                {
                    using var dataset = IdxFormat.LoadImages(path);
                    return dataset.Count;
                })
                : PeakMegabytesAdded(() => IdxFormat.ReadImages(path).Pixels.Length);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{(load ? "LoadImages (dataset: pixels as a uint8 tensor)" : "ReadImages (pixels)")}: peak added {peak:0} MB = {peak * 1e6 / dataBytes:0.00} x the data"));
            return 0;
        }
        finally
        {
            File.Delete(path);
        }
    }

    // Streams the file (header, then 1 MB chunks) so that writing it leaves no large buffer in this process to
    // distort the measurement.
    private static void WriteFile(string path, int count, int side, bool gzip)
    {
        using var file = File.Create(path);
        using Stream output = gzip ? new System.IO.Compression.GZipStream(file, System.IO.Compression.CompressionLevel.Fastest) : file;
        Span<byte> header = stackalloc byte[16];
        System.Buffers.Binary.BinaryPrimitives.WriteInt32BigEndian(header, 0x00000803);
        System.Buffers.Binary.BinaryPrimitives.WriteInt32BigEndian(header[4..], count);
        System.Buffers.Binary.BinaryPrimitives.WriteInt32BigEndian(header[8..], side);
        System.Buffers.Binary.BinaryPrimitives.WriteInt32BigEndian(header[12..], side);
        output.Write(header);
        var chunk = new byte[1 << 20];
        new Random(1).NextBytes(chunk);
        for (long left = (long)count * side * side; left > 0; left -= chunk.Length)
        {
            output.Write(chunk, 0, (int)Math.Min(left, chunk.Length));
        }
    }

    // Peak resident memory the action adds over the process's settled size (VmHWM after resetting it).
    private static double PeakMegabytesAdded(Func<int> action)
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        NativeMemory.Trim();
        long before = Status("VmRSS:");
        File.WriteAllText("/proc/self/clear_refs", "5");
        int kept = action();
        long peak = Status("VmHWM:");
        GC.KeepAlive(kept);
        return (peak - before) / 1e6;
    }

    private static long Status(string field)
    {
        string line = File.ReadLines("/proc/self/status").First(l => l.StartsWith(field, StringComparison.Ordinal));
        return long.Parse(line[field.Length..].Trim().Split(' ')[0], CultureInfo.InvariantCulture) * 1024;
    }
}
