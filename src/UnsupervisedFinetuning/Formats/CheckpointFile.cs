using System.IO.Compression;
using System.Text;
using System.Text.Json;
using static UnsupervisedFinetuning.IO.ExceptionText;

namespace UnsupervisedFinetuning.Formats;

/// <summary>What a weights file is, judged by its content rather than its name.</summary>
internal enum CheckpointFormat
{
    Empty,
    PyTorchZip,
    PyTorchLegacy,
    Safetensors,
    TorchSharp,
    EngineCheckpoint,
    Unknown,
}

/// <summary>
/// Looks at a weights file before any reader allocates for it: tells the formats apart by their first
/// bytes, checks declared sizes against the file's real size and documented limits, and checks a PyTorch
/// pickle against the allow-list of what a checkpoint may construct.
/// </summary>
internal static class CheckpointFile
{
    /// <summary>The safetensors format's own limit on its JSON header.</summary>
    public const long MaxSafetensorsHeaderBytes = 100L * 1024 * 1024;

    /// <summary>The largest <c>data.pkl</c> read (a state dict's pickle holds names and shapes, not weights: kilobytes to a few megabytes).</summary>
    public const long MaxPickleBytes = 64L * 1024 * 1024;

    /// <summary>All tensors of a PyTorch checkpoint together may take this many times the storage bytes its archive holds.</summary>
    public const long MaxTensorBytesPerStorageByte = 2;

    // Deflate cannot expand more than 1032:1.
    private const long MaxDeflateRatio = 1032;

    private const string EngineMagic = "UnsupervisedFinetuning.Checkpoint";

    /// <summary>What a checkpoint's pickle may name: ordered dicts, tensors and their storages, and argparse.Namespace (training scripts save their arguments).</summary>
    private static readonly HashSet<string> AllowedGlobals = new(StringComparer.Ordinal)
    {
        "collections.OrderedDict",
        "torch._utils._rebuild_tensor_v2",
        "torch._utils._rebuild_parameter",
        "torch.DoubleStorage", "torch.FloatStorage", "torch.HalfStorage", "torch.BFloat16Storage",
        "torch.LongStorage", "torch.IntStorage", "torch.ShortStorage", "torch.CharStorage", "torch.ByteStorage",
        "torch.BoolStorage", "torch.ComplexDoubleStorage", "torch.ComplexFloatStorage",
        "argparse.Namespace",
    };

    private static readonly string[] CodeRunningModules = ["os", "posix", "nt", "subprocess", "sys", "builtins", "__builtin__", "shutil", "socket", "importlib", "runpy", "pty", "pickle", "marshal", "code", "ctypes", "webbrowser", "commands"];

    public static CheckpointFormat Detect(Stream stream)
    {
        long length = stream.Length;
        var head = new byte[Math.Min(64, length)];
        stream.Position = 0;
        stream.ReadExactly(head);
        stream.Position = 0;
        if (length == 0)
        {
            return CheckpointFormat.Empty;
        }

        if (head.Length >= 4 && head[0] == 0x50 && head[1] == 0x4b && head[2] == 0x03 && head[3] == 0x04)
        {
            return CheckpointFormat.PyTorchZip;
        }

        if (head.Length >= 2 && head[0] == 0x80 && head[1] is >= 2 and <= 5)
        {
            return CheckpointFormat.PyTorchLegacy; // a bare pickle: torch.save before PyTorch 1.6
        }

        if (head.Length >= 9 && head[8] == (byte)'{')
        {
            ulong headerLength = BitConverter.ToUInt64(head, 0);
            if (headerLength >= 2 && headerLength <= (ulong)(length - 8))
            {
                return CheckpointFormat.Safetensors;
            }
        }

        if (head.Length > EngineMagic.Length && head[0] == EngineMagic.Length && Encoding.ASCII.GetString(head, 1, EngineMagic.Length) == EngineMagic)
        {
            return CheckpointFormat.EngineCheckpoint;
        }

        return LooksLikeTorchSharp(head) ? CheckpointFormat.TorchSharp : CheckpointFormat.Unknown;
    }

    /// <summary>Why a file of <paramref name="format"/> cannot be read as a PyTorch or safetensors checkpoint, and what to do.</summary>
    public static string Explain(CheckpointFormat format, string path, Stream stream) => format switch
    {
        CheckpointFormat.Empty => $"{path}: the file is empty (0 bytes); expected a PyTorch (.pt, .pth, .pth.tar) or safetensors checkpoint.",
        CheckpointFormat.PyTorchLegacy => $"{path}: written by torch.save in the legacy format of PyTorch before 1.6, which TorchSharp.PyBridge cannot read; load it in PyTorch and save it again (torch.save writes the zip format since 1.6).",
        CheckpointFormat.EngineCheckpoint => $"{path}: a FinetuneEngine checkpoint; continue its run with FinetuneRequest.ResumeFrom, or save the finetuned backbone with Checkpoint.Save.",
        _ => $"{path}: not a PyTorch checkpoint (written by torch.save), a safetensors file or TorchSharp weights (written by Checkpoint.Save): it starts with bytes {FirstBytes(stream)}.",
    };

    /// <summary>
    /// Checks a safetensors header: its length, that it parses, that no key appears twice, and that every tensor's
    /// bytes are where the file has them and belong to it alone.
    /// </summary>
    /// <exception cref="InvalidDataException">The header is too long, malformed, names a key twice, or declares tensors the file does not hold or that overlap.</exception>
    public static void CheckSafetensors(Stream stream, string path)
    {
        long length = stream.Length;
        Span<byte> prefix = stackalloc byte[8];
        stream.Position = 0;
        stream.ReadExactly(prefix);
        ulong headerLength = BitConverter.ToUInt64(prefix);
        if (headerLength > (ulong)Math.Min(MaxSafetensorsHeaderBytes, length - 8))
        {
            throw new InvalidDataException($"{path}: the safetensors header declares {headerLength} bytes but the file holds {length - 8} after the length and the format allows {MaxSafetensorsHeaderBytes}.");
        }

        var header = new byte[headerLength];
        stream.ReadExactly(header);
        stream.Position = 0;
        if (!System.Text.Unicode.Utf8.IsValid(header))
        {
            throw new InvalidDataException($"{path}: the safetensors header is not valid UTF-8 JSON.");
        }

        long data = length - 8 - (long)headerLength;
        JsonDocument json;
        try
        {
            json = JsonDocument.Parse(header);
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{path}: the safetensors header is not valid JSON ({Brief(e)}).", e);
        }

        using (json)
        {
            if (json.RootElement.ValueKind != JsonValueKind.Object)
            {
                throw new InvalidDataException($"{path}: the safetensors header is not a JSON object.");
            }

            // JsonDocument keeps every member of an object, and a reader that builds a dictionary from them takes one
            // of two equal keys silently: each key must appear once.
            var names = new HashSet<string>(StringComparer.Ordinal);
            var spans = new List<(string Name, long Begin, long End)>();
            foreach (var entry in json.RootElement.EnumerateObject())
            {
                if (!names.Add(entry.Name))
                {
                    throw new InvalidDataException($"{path}: the safetensors header names '{Printable(entry.Name)}' twice; each key must appear once.");
                }

                if (entry.Name != "__metadata__")
                {
                    var (begin, end) = CheckTensorEntry(entry, data, path);
                    spans.Add((entry.Name, begin, end));
                }
            }

            CheckDisjoint(spans, path);
        }
    }

    // Each tensor owns its bytes, as in the reference implementation (huggingface/safetensors refuses overlapping
    // offsets): two tensors over the same bytes are a forged or corrupt header, not shared weights. Empty tensors own nothing.
    private static void CheckDisjoint(List<(string Name, long Begin, long End)> spans, string path)
    {
        var owned = spans.Where(s => s.End > s.Begin).OrderBy(s => s.Begin).ThenBy(s => s.End).ToList();
        for (int i = 1; i < owned.Count; i++)
        {
            var (previous, next) = (owned[i - 1], owned[i]);
            if (next.Begin < previous.End)
            {
                throw new InvalidDataException($"{path}: safetensors entries '{Printable(previous.Name)}' [{previous.Begin}, {previous.End}) and '{Printable(next.Name)}' [{next.Begin}, {next.End}) overlap; each tensor must own its bytes.");
            }
        }
    }

    /// <summary>
    /// Checks a PyTorch zip checkpoint before it is unpickled: the pickle's globals against the allow-list, and
    /// every tensor's declared shape against the storage entry that backs it, so that no reader allocates
    /// more than the archive holds.
    /// </summary>
    /// <exception cref="InvalidDataException">The archive has no pickle, the pickle is too large or malformed, names a
    /// global outside the allow-list, or declares tensors larger than their storage.</exception>
    public static void CheckPickle(Stream stream, string path)
    {
        stream.Position = 0;
        using (var archive = new ZipArchive(stream, ZipArchiveMode.Read, leaveOpen: true))
        {
            var entry = archive.Entries.FirstOrDefault(e => e.Name.EndsWith("data.pkl", StringComparison.Ordinal))
                ?? throw new InvalidDataException($"{path}: a zip archive without the data.pkl of a torch.save checkpoint.");
            var pickle = ReadBounded(entry, path);
            PickleContents contents;
            try
            {
                contents = PickleScanner.Scan(pickle);
            }
            catch (InvalidDataException e)
            {
                throw new InvalidDataException($"{path}: refused: {e.Message}.", e);
            }

            foreach (var (module, name) in contents.Globals)
            {
                if (!AllowedGlobals.Contains($"{module}.{name}"))
                {
                    bool runsCode = CodeRunningModules.Contains(module.Split('.')[0]);
                    throw new InvalidDataException(
                        $"{path}: refused: the checkpoint's pickle names {Printable(module)}.{Printable(name)}, which is not on the list of what a checkpoint may construct " +
                        "(ordered dicts, tensors and their storages, argparse.Namespace). " +
                        (runsCode ? "It runs code when the file is loaded: the file is unsafe — do not open it with torch.load either." : "Treat the file as untrusted; save the state dict alone (torch.save(model.state_dict(), path)) to load it here."));
                }
            }

            CheckTensors(archive, contents.Tensors, path);
        }

        stream.Position = 0;
    }

    /// <summary>
    /// Every tensor must fit the storage entry it is read from, and all of them together may take at most
    /// <see cref="MaxTensorBytesPerStorageByte"/> times the storage the archive holds (tensors that share a
    /// storage are each read in full). A compressed entry may not declare more than deflate can expand to.
    /// </summary>
    private static void CheckTensors(ZipArchive archive, IReadOnlyList<PickledTensor> tensors, string path)
    {
        long storageBytes = 0;
        foreach (var entry in archive.Entries)
        {
            if (entry.CompressedLength != entry.Length && entry.Length > MaxDeflateRatio * Math.Max(1, entry.CompressedLength))
            {
                throw new InvalidDataException($"{path}: refused: archive entry {Printable(entry.FullName)} declares {entry.Length} bytes from {entry.CompressedLength} compressed, more than deflate can expand to.");
            }

            if (IsStorage(entry))
            {
                storageBytes += entry.Length;
            }
        }

        // Storage entries by the key after their last "data/" (PyBridge takes the first entry whose name ends in
        // "data/<key>"; a key with a '/' in it falls back to that search).
        var storages = new Dictionary<string, ZipArchiveEntry>(StringComparer.Ordinal);
        foreach (var entry in archive.Entries.Where(IsStorage))
        {
            int at = entry.FullName.LastIndexOf("data/", StringComparison.Ordinal);
            storages.TryAdd(entry.FullName[(at + 5)..], entry);
        }

        long tensorBytes = 0;
        foreach (var tensor in tensors)
        {
            string Shape() => $"[{string.Join(", ", tensor.Shape)}]";
            long elementSize = StorageElementSize(tensor.StorageType)
                ?? throw new InvalidDataException($"{path}: refused: a tensor is stored as {Printable(tensor.StorageType)}, which this reader does not know.");
            var entry = storages.GetValueOrDefault(tensor.StorageKey)
                ?? archive.Entries.FirstOrDefault(e => IsStorage(e) && e.FullName.EndsWith("data/" + tensor.StorageKey, StringComparison.Ordinal))
                ?? throw new InvalidDataException($"{path}: refused: a tensor of shape {Shape()} refers to storage data/{Printable(tensor.StorageKey)}, which the archive does not hold.");

            // Int128 holds any product of a few sizes exactly; a shape of many huge sizes saturates.
            Int128 bytes = elementSize;
            foreach (long size in tensor.Shape)
            {
                bytes = size < 0 || bytes < 0 ? -1 : Int128.Min(bytes * size, long.MaxValue);
            }

            if (bytes < 0 || bytes > entry.Length)
            {
                throw new InvalidDataException($"{path}: refused: a tensor declares shape {Shape()} of {tensor.StorageType} ({(bytes < 0 ? "a negative size" : bytes == long.MaxValue ? "more bytes than a long counts" : $"{bytes} bytes")}) but its storage data/{Printable(tensor.StorageKey)} holds {entry.Length} bytes (corrupt or forged).");
            }

            tensorBytes += (long)bytes;
            if (tensorBytes > MaxTensorBytesPerStorageByte * storageBytes)
            {
                throw new InvalidDataException($"{path}: refused: its tensors would take more than {MaxTensorBytesPerStorageByte} × the {storageBytes} bytes of storage the archive holds (a storage read again and again).");
            }
        }
    }

    // torch.save keeps each storage in <archive>/data/<key>.
    private static bool IsStorage(ZipArchiveEntry entry) => entry.FullName.StartsWith("data/", StringComparison.Ordinal) || entry.FullName.Contains("/data/", StringComparison.Ordinal);

    private static long? StorageElementSize(string storageType) => storageType switch
    {
        "DoubleStorage" or "LongStorage" or "ComplexFloatStorage" => 8,
        "FloatStorage" or "IntStorage" => 4,
        "HalfStorage" or "BFloat16Storage" or "ShortStorage" => 2,
        "CharStorage" or "ByteStorage" or "BoolStorage" => 1,
        "ComplexDoubleStorage" => 16,
        _ => null,
    };

    private static byte[] ReadBounded(ZipArchiveEntry entry, string path)
    {
        if (entry.Length > MaxPickleBytes)
        {
            throw new InvalidDataException($"{path}: the checkpoint's pickle declares {entry.Length} bytes; at most {MaxPickleBytes} are read.");
        }

        using var source = entry.Open();
        using var buffer = new MemoryStream((int)entry.Length);
        var chunk = new byte[81920];
        int read;
        while ((read = source.Read(chunk)) > 0)
        {
            if (buffer.Length + read > entry.Length)
            {
                throw new InvalidDataException($"{path}: the checkpoint's pickle expands beyond the {entry.Length} bytes the archive declares.");
            }

            buffer.Write(chunk, 0, read);
        }

        return buffer.ToArray();
    }

    // Checks one tensor's entry; returns its byte range in the data section.
    private static (long Begin, long End) CheckTensorEntry(JsonProperty entry, long data, string path)
    {
        var value = entry.Value;
        if (value.ValueKind != JsonValueKind.Object
            || !value.TryGetProperty("dtype", out var dtype) || dtype.ValueKind != JsonValueKind.String
            || !value.TryGetProperty("shape", out var shape) || shape.ValueKind != JsonValueKind.Array
            || !value.TryGetProperty("data_offsets", out var offsets) || offsets.ValueKind != JsonValueKind.Array || offsets.GetArrayLength() != 2)
        {
            throw new InvalidDataException($"{path}: safetensors entry '{Printable(entry.Name)}' lacks dtype, shape or data_offsets [begin, end].");
        }

        int elementSize = dtype.GetString() switch
        {
            "F64" or "I64" => 8,
            "F32" or "I32" => 4,
            "F16" or "BF16" or "I16" => 2,
            "I8" or "U8" or "BOOL" => 1,
            var other => throw new InvalidDataException($"{path}: safetensors entry '{Printable(entry.Name)}' has dtype '{Printable(other ?? "")}'; supported: F64, F32, F16, BF16, I64, I32, I16, I8, U8, BOOL."),
        };
        long begin = offsets[0].TryGetInt64(out long b) ? b : -1;
        long end = offsets[1].TryGetInt64(out long e) ? e : -1;
        if (begin < 0 || end < begin || end > data)
        {
            throw new InvalidDataException($"{path}: safetensors entry '{Printable(entry.Name)}' spans bytes [{Printable(offsets[0].GetRawText())}, {Printable(offsets[1].GetRawText())}) of a data section of {data} bytes.");
        }

        // The element count must match the bytes on disk, computed without overflow, before anything is allocated.
        long bytes = elementSize;
        foreach (var dimension in shape.EnumerateArray())
        {
            if (!dimension.TryGetInt64(out long size) || size < 0 || (size > 0 && bytes > (end - begin) / size))
            {
                bytes = -1;
                break;
            }

            bytes *= size;
        }

        if (bytes != end - begin)
        {
            throw new InvalidDataException($"{path}: safetensors entry '{Printable(entry.Name)}' of shape {Printable(shape.ToString())} and dtype {Printable(dtype.ToString())} does not fill its {end - begin} bytes.");
        }

        return (begin, end);
    }

    private static bool LooksLikeTorchSharp(byte[] head)
    {
        // Module.save: a LEB128 entry count, then the first name as a length-prefixed UTF-8 string.
        int position = 0;
        long count = 0;
        for (int shift = 0; position < head.Length && shift < 35; shift += 7)
        {
            byte b = head[position++];
            count |= (long)(b & 0x7f) << shift;
            if ((b & 0x80) == 0)
            {
                break;
            }
        }

        if (count is < 1 or > 1_000_000 || position >= head.Length)
        {
            return false;
        }

        int nameLength = head[position++];
        return nameLength is > 0 and < 128 && position + Math.Min(nameLength, head.Length - position) <= head.Length
            && head.Skip(position).Take(nameLength).All(c => char.IsAsciiLetterOrDigit((char)c) || c is (byte)'_' or (byte)'.');
    }

    private static string FirstBytes(Stream stream)
    {
        var head = new byte[Math.Min(8, stream.Length)];
        stream.Position = 0;
        stream.ReadExactly(head);
        stream.Position = 0;
        return string.Join(' ', head.Select(b => b.ToString("x2", System.Globalization.CultureInfo.InvariantCulture)));
    }
}
