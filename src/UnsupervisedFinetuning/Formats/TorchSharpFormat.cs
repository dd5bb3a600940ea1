using static TorchSharp.torch;
using UnsupervisedFinetuning.IO;

namespace UnsupervisedFinetuning.Formats;

/// <summary>
/// Reads TorchSharp's own binary format — a tensor is its LEB128 dtype, rank and sizes followed by its raw
/// bytes (<c>Tensor.Save</c>); a module is a LEB128 count of (name, tensor) pairs (<c>Module.save</c>) — with
/// every declared size checked against the bytes the stream still holds before anything is allocated.
/// TorchSharp's own readers allocate first: a forged rank becomes a <c>long[rank]</c>, a forged shape reaches
/// the native allocator. The byte layout is TorchSharp's, so files stay interchangeable with it.
/// </summary>
internal static class TorchSharpFormat
{
    /// <summary>No tensor the library stores has more dimensions.</summary>
    private const long MaxRank = 16;

    /// <summary>What a stored tensor declares.</summary>
    internal readonly record struct TensorHeader(ScalarType Type, long[] Shape, long Bytes);

    /// <summary>Reads a tensor header and checks that its data fits in what the stream still holds.</summary>
    /// <exception cref="InvalidDataException">Unknown dtype, rank or size out of range, or more bytes than the file holds.</exception>
    /// <exception cref="EndOfStreamException">The stream ends inside the header.</exception>
    public static TensorHeader ReadHeader(BinaryReader reader, string path)
    {
        var stream = reader.BaseStream;
        long at = stream.Position;
        long type = Leb128(reader, path);
        if (type is < 0 or > sbyte.MaxValue || !Enum.IsDefined(typeof(ScalarType), (sbyte)type))
        {
            throw new InvalidDataException($"{path}: the tensor at byte {at} declares dtype {type}, which is not a TorchSharp scalar type (corrupt).");
        }

        var dtype = (ScalarType)(sbyte)type;
        long rank = Leb128(reader, path);
        if (rank is < 0 or > MaxRank)
        {
            throw new InvalidDataException($"{path}: the tensor at byte {at} declares {rank} dimensions; at most {MaxRank} are read (corrupt).");
        }

        var shape = new long[rank];
        Int128 bytes = ElementSize(dtype);
        for (int i = 0; i < rank; i++)
        {
            shape[i] = Leb128(reader, path);
            bytes = shape[i] < 0 || bytes < 0 ? -1 : Int128.Min(bytes * shape[i], long.MaxValue);
        }

        long remaining = stream.Length - stream.Position;
        if (bytes < 0 || bytes > remaining)
        {
            throw new InvalidDataException($"{path}: the tensor at byte {at} of shape [{string.Join(", ", shape)}] and dtype {dtype} needs {(bytes < 0 ? "a negative size" : $"{bytes} bytes")} but the file holds {remaining} more (truncated or corrupt).");
        }

        return new TensorHeader(dtype, shape, (long)bytes);
    }

    /// <summary>Reads a whole tensor into a new CPU tensor the caller owns.</summary>
    public static Tensor ReadTensor(BinaryReader reader, string path)
    {
        var header = ReadHeader(reader, path);
        var tensor = empty(header.Shape, header.Type);
        try
        {
            tensor.ReadBytesFromStream(reader.BaseStream);
            return tensor;
        }
        catch
        {
            tensor.Dispose();
            throw;
        }
    }

    /// <summary>Reads a tensor header that must match <paramref name="expected"/> in dtype and shape, then skips its bytes.</summary>
    public static void SkipTensor(BinaryReader reader, string path, Tensor expected, string what)
    {
        var header = ReadHeader(reader, path);
        CheckMatches(header, expected.dtype, expected.shape, path, what);
        reader.BaseStream.Seek(header.Bytes, SeekOrigin.Current);
    }

    /// <summary>
    /// Loads weights written by <c>Module.save</c> into <paramref name="module"/>, all or nothing: the section is
    /// walked and every name, dtype and shape checked first (the module's state dict must match exactly), then
    /// read again and copied. The stream is left after the section.
    /// </summary>
    /// <exception cref="InvalidDataException">The weights do not match the module, or the section is corrupt; the module is unchanged.</exception>
    public static void LoadModule(BinaryReader reader, nn.Module module, string path, string what)
    {
        var state = module.state_dict();
        long start = reader.BaseStream.Position;
        var order = CheckSection(reader, path, state.ToDictionary(kv => kv.Key, kv => (kv.Value.dtype, kv.Value.shape), StringComparer.Ordinal), what);
        foreach (string name in order)
        {
            if (!state[name].is_contiguous())
            {
                throw new InvalidDataException($"{path}: the model's '{name}' is not contiguous, so it cannot be read in place; call contiguous() on it first.");
            }
        }

        long end = reader.BaseStream.Position;
        reader.BaseStream.Position = start;
        Leb128(reader, path);
        using var noGrad = no_grad();
        foreach (string name in order)
        {
            var target = state[name];
            reader.ReadString();
            ReadHeader(reader, path);
            if (target.device_type == TorchSharp.DeviceType.CPU)
            {
                target.ReadBytesFromStream(reader.BaseStream);
            }
            else
            {
                using var staging = zeros_like(target, device: CPU);
                staging.ReadBytesFromStream(reader.BaseStream);
                target.copy_(staging);
            }
        }

        reader.BaseStream.Position = end;
    }

    /// <summary>
    /// Walks a section written by <c>Module.save</c> without reading its data: it must hold exactly the tensors of
    /// <paramref name="expected"/> (by name, dtype and shape, none missing, extra or repeated), each of a size the
    /// stream still holds. Nothing is allocated for the data, and at most one name at a time is held, so a forged
    /// count or shape costs nothing. Returns the names in the file's order; the stream is left after the section.
    /// </summary>
    /// <exception cref="InvalidDataException">The section holds other tensors, or is corrupt or truncated.</exception>
    /// <exception cref="EndOfStreamException">The stream ends inside a name or a header.</exception>
    public static List<string> CheckSection(BinaryReader reader, string path, IReadOnlyDictionary<string, (ScalarType Type, long[] Shape)> expected, string what)
    {
        long count = Leb128(reader, path);
        if (count != expected.Count)
        {
            throw new InvalidDataException($"{path}: {what} holds {count} tensors but the model has {expected.Count}; it was saved from another architecture.");
        }

        var order = new List<string>(expected.Count);
        var seen = new HashSet<string>(StringComparer.Ordinal);
        for (long i = 0; i < count; i++)
        {
            string name = reader.ReadString();
            if (!expected.TryGetValue(name, out var target) || !seen.Add(name))
            {
                throw new InvalidDataException($"{path}: {what} holds '{ExceptionText.Printable(name)}', which the model {(seen.Contains(name) ? "already got" : "does not have")}; it was saved from another architecture.");
            }

            var header = ReadHeader(reader, path);
            CheckMatches(header, target.Type, target.Shape, path, $"{what} '{name}'");
            reader.BaseStream.Seek(header.Bytes, SeekOrigin.Current);
            order.Add(name);
        }

        return order;
    }

    /// <summary>
    /// Reads every (name, tensor) pair written by <c>Module.save</c> into new CPU tensors the caller owns, each size
    /// checked against the bytes the file still holds (so at most the file's size is allocated).
    /// </summary>
    public static Dictionary<string, Tensor> ReadStateDict(BinaryReader reader, string path)
    {
        long count = Leb128(reader, path);
        long remaining = reader.BaseStream.Length - reader.BaseStream.Position;
        if (count < 0 || count > remaining / 3) // each entry takes at least a name length, a dtype and a rank
        {
            throw new InvalidDataException($"{path}: declares {count} tensors, more than its {remaining} bytes can hold (corrupt).");
        }

        var state = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        try
        {
            for (long i = 0; i < count; i++)
            {
                string name = reader.ReadString();
                if (state.ContainsKey(name))
                {
                    throw new InvalidDataException($"{path}: holds '{ExceptionText.Printable(name)}' twice (corrupt).");
                }

                state[name] = ReadTensor(reader, path);
            }

            return state;
        }
        catch
        {
            foreach (var tensor in state.Values)
            {
                tensor.Dispose();
            }

            throw;
        }
    }

    /// <summary>Whether <paramref name="e"/> is how reading a corrupt or truncated file in this format fails.</summary>
    public static bool IsReadFailure(Exception e) =>
        e is EndOfStreamException or InvalidDataException or IOException or FormatException or OverflowException or System.Runtime.InteropServices.ExternalException;

    /// <summary>TorchSharp's LEB128 number (<c>BinaryWriter.Encode</c>), read with a bound: at most ten bytes make a long.</summary>
    public static long Leb128(BinaryReader reader, string path)
    {
        long value = 0;
        for (int shift = 0; shift < 70; shift += 7)
        {
            byte b = reader.ReadByte();
            value |= (long)(b & 0x7f) << shift;
            if ((b & 0x80) == 0)
            {
                return value;
            }
        }

        throw new InvalidDataException($"{path}: a number at byte {reader.BaseStream.Position - 10} runs longer than ten bytes (corrupt).");
    }

    private static void CheckMatches(TensorHeader header, ScalarType type, long[] shape, string path, string what)
    {
        if (header.Type != type || !header.Shape.SequenceEqual(shape))
        {
            throw new InvalidDataException($"{path}: {what} is {header.Type} [{string.Join(", ", header.Shape)}] but the model has {type} [{string.Join(", ", shape)}]; it was saved from another architecture.");
        }
    }

    private static long ElementSize(ScalarType dtype) => dtype switch
    {
        ScalarType.Byte or ScalarType.Int8 or ScalarType.Bool or ScalarType.QInt8 or ScalarType.QUInt8 => 1,
        ScalarType.Int16 or ScalarType.Float16 or ScalarType.BFloat16 => 2,
        ScalarType.Int32 or ScalarType.Float32 or ScalarType.QInt32 => 4,
        ScalarType.ComplexFloat64 => 16,
        _ => 8, // Int64, Float64, ComplexFloat32
    };
}
