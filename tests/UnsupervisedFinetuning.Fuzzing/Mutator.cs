using System.Buffers.Binary;
using System.IO.Compression;

namespace UnsupervisedFinetuning.Fuzzing;

/// <summary>
/// Seeded byte-level mutations of a valid file: bit flips, interesting bytes and integers (little- and
/// big-endian, the kind a lying header holds), truncation, deletion, duplication and appended garbage. Half
/// the positions fall in the first 256 bytes, where headers live. Each case applies one to four of them.
/// </summary>
internal static class Mutator
{
    // Edge values, and pickle opcodes that swap one call, container or memo operation for another.
    private static readonly byte[] InterestingBytes =
    [
        0x00, 0x01, 0x7f, 0x80, 0xff, 0x0a, (byte)'.', (byte)'(', (byte)'R', 0x81, 0x92, (byte)'o', (byte)'t',
        (byte)'u', (byte)'s', (byte)'d', (byte)'q', (byte)'h', (byte)'r', (byte)'j', 0x94, (byte)'0', (byte)'2',
    ];

    private static readonly long[] InterestingIntegers =
    [
        0, 1, -1, 2, 255, 256, 65535, 65536, int.MaxValue, int.MinValue, (long)int.MaxValue + 1, uint.MaxValue,
        1L << 40, long.MaxValue, long.MinValue, 20_000, 100_000, 1 << 24,
    ];

    /// <summary>A mutated copy of <paramref name="seed"/>.</summary>
    public static byte[] Mutate(byte[] seed, Random random)
    {
        var data = new List<byte>(seed);
        int operations = 1 + random.Next(4);
        for (int i = 0; i < operations; i++)
        {
            MutateOnce(data, random);
        }

        return [.. data];
    }

    /// <summary>
    /// For zip containers (PyTorch checkpoints): half the time mutates one entry's bytes (mostly
    /// <c>data.pkl</c>) and re-zips, so the mutation gets past the container's CRCs into the pickle and the
    /// tensor storages; otherwise mutates the raw bytes.
    /// </summary>
    public static byte[] MutateZipAware(byte[] seed, Random random)
    {
        if (random.Next(2) == 0)
        {
            return Mutate(seed, random);
        }

        var entries = new List<(string Name, byte[] Content)>();
        using (var archive = new ZipArchive(new MemoryStream(seed), ZipArchiveMode.Read))
        {
            foreach (var entry in archive.Entries)
            {
                using var content = entry.Open();
                using var copy = new MemoryStream();
                content.CopyTo(copy);
                entries.Add((entry.FullName, copy.ToArray()));
            }
        }

        int pickle = entries.FindIndex(e => e.Name.EndsWith("data.pkl", StringComparison.Ordinal));
        int chosen = pickle >= 0 && random.Next(4) != 0 ? pickle : random.Next(entries.Count);
        entries[chosen] = (entries[chosen].Name, Mutate(entries[chosen].Content, random));

        using var output = new MemoryStream();
        using (var archive = new ZipArchive(output, ZipArchiveMode.Create, leaveOpen: true))
        {
            foreach (var (name, content) in entries)
            {
                using var stream = archive.CreateEntry(name, CompressionLevel.NoCompression).Open();
                stream.Write(content);
            }
        }

        return output.ToArray();
    }

    private static void MutateOnce(List<byte> data, Random random)
    {
        if (data.Count == 0)
        {
            data.AddRange(RandomBytes(random, 1 + random.Next(16)));
            return;
        }

        int at = Position(data.Count, random);
        switch (random.Next(8))
        {
            case 0:
                data[at] ^= (byte)(1 << random.Next(8));
                break;
            case 1:
                data[at] = InterestingBytes[random.Next(InterestingBytes.Length)];
                break;
            case 2 or 3:
                WriteInteger(data, at, InterestingIntegers[random.Next(InterestingIntegers.Length)], random);
                break;
            case 4:
                data.RemoveRange(at, data.Count - at); // truncate
                break;
            case 5:
                data.RemoveRange(at, Math.Min(data.Count - at, 1 + random.Next(64)));
                break;
            case 6:
                int from = random.Next(data.Count);
                var chunk = data.GetRange(from, Math.Min(data.Count - from, 1 + random.Next(64)));
                data.InsertRange(at, chunk);
                break;
            default:
                data.AddRange(RandomBytes(random, 1 + random.Next(64)));
                break;
        }
    }

    private static int Position(int length, Random random) =>
        random.Next(2) == 0 ? random.Next(Math.Min(length, 256)) : random.Next(length);

    private static void WriteInteger(List<byte> data, int at, long value, Random random)
    {
        int width = random.Next(3) switch { 0 => 2, 1 => 4, _ => 8 };
        Span<byte> bytes = stackalloc byte[8];
        if (random.Next(2) == 0)
        {
            BinaryPrimitives.WriteInt64LittleEndian(bytes, value);
            bytes = bytes[..width];
        }
        else
        {
            BinaryPrimitives.WriteInt64BigEndian(bytes, value);
            bytes = bytes[(8 - width)..];
        }

        for (int i = 0; i < bytes.Length && at + i < data.Count; i++)
        {
            data[at + i] = bytes[i];
        }
    }

    private static byte[] RandomBytes(Random random, int count)
    {
        var bytes = new byte[count];
        random.NextBytes(bytes);
        return bytes;
    }
}
