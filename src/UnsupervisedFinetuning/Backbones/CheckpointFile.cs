using System.IO.Compression;
using System.Text;
using System.Text.Json;

namespace UnsupervisedFinetuning.Backbones;

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
        CheckpointFormat.TorchSharp => $"{path}: a TorchSharp weights file (as Checkpoint.Save writes); load it with Checkpoint.LoadTorchSharp into a model of the same architecture.",
        CheckpointFormat.EngineCheckpoint => $"{path}: a FinetuneEngine checkpoint; continue its run with FinetuneRequest.ResumeFrom, or save the finetuned backbone with Checkpoint.Save.",
        _ => $"{path}: not a PyTorch checkpoint (written by torch.save), a safetensors file or TorchSharp weights (written by Checkpoint.Save): it starts with bytes {FirstBytes(stream)}.",
    };

    /// <summary>Checks a safetensors header: its length, that it parses, and that every tensor's bytes are where the file has them.</summary>
    /// <exception cref="InvalidDataException">The header is too long, malformed, or declares tensors the file does not hold.</exception>
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
        long data = length - 8 - (long)headerLength;
        JsonDocument json;
        try
        {
            json = JsonDocument.Parse(header);
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{path}: the safetensors header is not valid JSON ({e.Message}).", e);
        }

        using (json)
        {
            if (json.RootElement.ValueKind != JsonValueKind.Object)
            {
                throw new InvalidDataException($"{path}: the safetensors header is not a JSON object.");
            }

            foreach (var entry in json.RootElement.EnumerateObject().Where(e => e.Name != "__metadata__"))
            {
                CheckTensorEntry(entry, data, path);
            }
        }
    }

    /// <summary>Checks the pickle of a PyTorch zip checkpoint against the allow-list before it is unpickled.</summary>
    /// <exception cref="InvalidDataException">The archive has no pickle, the pickle is too large or malformed, or it names a global outside the allow-list.</exception>
    public static void CheckPickle(Stream stream, string path)
    {
        stream.Position = 0;
        using (var archive = new ZipArchive(stream, ZipArchiveMode.Read, leaveOpen: true))
        {
            var entry = archive.Entries.FirstOrDefault(e => e.Name.EndsWith("data.pkl", StringComparison.Ordinal))
                ?? throw new InvalidDataException($"{path}: a zip archive without the data.pkl of a torch.save checkpoint.");
            var pickle = ReadBounded(entry, path);
            List<(string Module, string Name)> globals;
            try
            {
                globals = PickleScanner.Globals(pickle);
            }
            catch (InvalidDataException e)
            {
                throw new InvalidDataException($"{path}: refused: {e.Message}.", e);
            }

            foreach (var (module, name) in globals)
            {
                if (!AllowedGlobals.Contains($"{module}.{name}"))
                {
                    bool runsCode = CodeRunningModules.Contains(module.Split('.')[0]);
                    throw new InvalidDataException(
                        $"{path}: refused: the checkpoint's pickle names {module}.{name}, which is not on the list of what a checkpoint may construct " +
                        "(ordered dicts, tensors and their storages, argparse.Namespace). " +
                        (runsCode ? "It runs code when the file is loaded: the file is unsafe — do not open it with torch.load either." : "Treat the file as untrusted; save the state dict alone (torch.save(model.state_dict(), path)) to load it here."));
                }
            }
        }

        stream.Position = 0;
    }

    /// <summary>The first line of an exception's message, at most 200 characters: native errors carry whole stack traces.</summary>
    public static string Brief(Exception e)
    {
        string message = e.Message;
        int newline = message.IndexOfAny(['\r', '\n']);
        if (newline >= 0)
        {
            message = message[..newline];
        }

        return $"{e.GetType().Name}: {(message.Length > 200 ? message[..200] + "…" : message)}";
    }

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

    private static void CheckTensorEntry(JsonProperty entry, long data, string path)
    {
        var value = entry.Value;
        if (value.ValueKind != JsonValueKind.Object
            || !value.TryGetProperty("dtype", out var dtype) || dtype.ValueKind != JsonValueKind.String
            || !value.TryGetProperty("shape", out var shape) || shape.ValueKind != JsonValueKind.Array
            || !value.TryGetProperty("data_offsets", out var offsets) || offsets.ValueKind != JsonValueKind.Array || offsets.GetArrayLength() != 2)
        {
            throw new InvalidDataException($"{path}: safetensors entry '{entry.Name}' lacks dtype, shape or data_offsets [begin, end].");
        }

        int elementSize = dtype.GetString() switch
        {
            "F64" or "I64" => 8,
            "F32" or "I32" => 4,
            "F16" or "BF16" or "I16" => 2,
            "I8" or "U8" or "BOOL" => 1,
            var other => throw new InvalidDataException($"{path}: safetensors entry '{entry.Name}' has dtype '{other}'; supported: F64, F32, F16, BF16, I64, I32, I16, I8, U8, BOOL."),
        };
        long begin = offsets[0].TryGetInt64(out long b) ? b : -1;
        long end = offsets[1].TryGetInt64(out long e) ? e : -1;
        if (begin < 0 || end < begin || end > data)
        {
            throw new InvalidDataException($"{path}: safetensors entry '{entry.Name}' spans bytes [{offsets[0]}, {offsets[1]}) of a data section of {data} bytes.");
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
            throw new InvalidDataException($"{path}: safetensors entry '{entry.Name}' of shape {shape} and dtype {dtype} does not fill its {end - begin} bytes.");
        }
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
