using System.Buffers.Binary;
using System.Globalization;
using System.Numerics;
using System.Text;

namespace UnsupervisedFinetuning.Backbones;

/// <summary>A tensor a checkpoint's pickle rebuilds: which storage entry backs it and the shape it declares.</summary>
/// <param name="StorageKey">The storage's file name under <c>data/</c> in the archive.</param>
/// <param name="StorageType">The storage class (<c>FloatStorage</c>, …), which fixes the element size.</param>
/// <param name="Shape">The declared shape.</param>
internal sealed record PickledTensor(string StorageKey, string StorageType, IReadOnlyList<long> Shape);

/// <summary>What a pickle would construct, found without running it.</summary>
/// <param name="Globals">Every global it names, in order of appearance.</param>
/// <param name="Tensors">Every <c>torch._utils._rebuild_tensor_v2</c> call with the arguments it would get.</param>
internal sealed record PickleContents(IReadOnlyList<(string Module, string Name)> Globals, IReadOnlyList<PickledTensor> Tensors);

/// <summary>
/// Runs a pickle (protocols 0–5) on a stack machine that builds only inert values — numbers, strings,
/// tuples, lists, placeholders for dicts and for the results of calls — and never calls anything. It lists
/// every global the pickle names (the only way a pickle reaches a callable: GLOBAL, INST, STACK_GLOBAL; the
/// extension registry is refused outright) and the arguments of every tensor it would rebuild, so that
/// checkpoint import can check the globals against an allow-list and the declared shapes against the bytes
/// that back them before a real unpickler allocates anything.
/// </summary>
internal static class PickleScanner
{
    /// <summary>Walks the whole pickle.</summary>
    /// <exception cref="InvalidDataException">The pickle is truncated, malformed, uses the extension registry or
    /// out-of-band buffers, or builds a global from values the scan cannot verify as strings.</exception>
    public static PickleContents Scan(ReadOnlySpan<byte> pickle)
    {
        var machine = new Machine();
        int position = 0;
        while (true)
        {
            if (position >= pickle.Length)
            {
                throw new InvalidDataException("the pickle ends without a STOP opcode (truncated)");
            }

            byte opcode = pickle[position++];
            if (opcode == (byte)'.')
            {
                return new PickleContents(machine.Globals, machine.Tensors);
            }

            machine.Execute(opcode, pickle, ref position);
        }
    }

    /// <summary>A dict, set or object under construction: its content does not matter to the checks.</summary>
    private sealed class Opaque;

    private sealed class MarkObject;

    private sealed record Global(string Module, string Name);

    private sealed record PersistentId(object? Id);

    private sealed record Call(Global? Callable, object? Arguments);

    private sealed class Machine
    {
        private static readonly MarkObject Mark = new();
        private readonly List<object?> _stack = [];
        private readonly Dictionary<long, object?> _memo = [];

        public List<(string Module, string Name)> Globals { get; } = [];

        public List<PickledTensor> Tensors { get; } = [];

        public void Execute(byte opcode, ReadOnlySpan<byte> p, ref int at)
        {
            switch (opcode)
            {
                // Constants and numbers.
                case (byte)'N': Push(null); break;
                case 0x88: Push(true); break;
                case 0x89: Push(false); break;
                case (byte)'K': Push(Unsigned(p, ref at, 1)); break;
                case (byte)'M': Push(Unsigned(p, ref at, 2)); break;
                case (byte)'J': Push((long)BinaryPrimitives.ReadInt32LittleEndian(Bytes(p, ref at, 4))); break;
                case 0x8a: Push(LittleEndianInteger(Bytes(p, ref at, Unsigned(p, ref at, 1)))); break; // LONG1
                case 0x8b: Push(LittleEndianInteger(Bytes(p, ref at, Unsigned(p, ref at, 4)))); break; // LONG4
                case (byte)'G': Push(BinaryPrimitives.ReadDoubleBigEndian(Bytes(p, ref at, 8))); break;
                case (byte)'I': Push(TextInteger(Line(p, ref at))); break;
                case (byte)'L': Push(TextInteger(Line(p, ref at).TrimEnd('L'))); break;
                case (byte)'F': Push(double.TryParse(Line(p, ref at), NumberStyles.Float, CultureInfo.InvariantCulture, out double d) ? d : null); break;

                // Strings and bytes.
                case (byte)'U': Push(Text(Bytes(p, ref at, Unsigned(p, ref at, 1)), utf8: false)); break;
                case 0x8c: Push(Text(Bytes(p, ref at, Unsigned(p, ref at, 1)), utf8: true)); break;
                case (byte)'T': Push(Text(Bytes(p, ref at, Unsigned(p, ref at, 4)), utf8: false)); break;
                case (byte)'X': Push(Text(Bytes(p, ref at, Unsigned(p, ref at, 4)), utf8: true)); break;
                case 0x8d: Push(Text(Bytes(p, ref at, Unsigned(p, ref at, 8)), utf8: true)); break;
                case (byte)'S' or (byte)'V': Push(Line(p, ref at).Trim('\'', '"')); break;
                case (byte)'C': Bytes(p, ref at, Unsigned(p, ref at, 1)); Push(new Opaque()); break;
                case (byte)'B': Bytes(p, ref at, Unsigned(p, ref at, 4)); Push(new Opaque()); break;
                case 0x8e or 0x96: Bytes(p, ref at, Unsigned(p, ref at, 8)); Push(new Opaque()); break;

                // Containers.
                case (byte)'(': Push(Mark); break;
                case (byte)')': Push(Array.Empty<object?>()); break;
                case (byte)']': Push(new List<object?>()); break;
                case (byte)'}' or 0x8f: Push(new Opaque()); break;
                case (byte)'t': Push(PopToMark().ToArray()); break;
                case 0x85: Push(new[] { Pop() }); break;
                case 0x86: { var b = Pop(); var a = Pop(); Push(new[] { a, b }); break; }
                case 0x87: { var c = Pop(); var b = Pop(); var a = Pop(); Push(new[] { a, b, c }); break; }
                case (byte)'l': Push(PopToMark()); break;
                case (byte)'d' or 0x91: PopToMark(); Push(new Opaque()); break;
                case (byte)'a': { var item = Pop(); (Top() as List<object?>)?.Add(item); break; }
                case (byte)'e': { var items = PopToMark(); (Top() as List<object?>)?.AddRange(items); break; }
                case (byte)'s': Pop(); Pop(); Top(); break;        // SETITEM: the dict stays
                case (byte)'u' or 0x90: PopToMark(); Top(); break; // SETITEMS, ADDITEMS
                case (byte)'b': Pop(); Top(); break;               // BUILD: the object stays

                // Stack and memo.
                case (byte)'0': Pop(); break;
                case (byte)'1': PopToMark(); break;
                case (byte)'2': Push(Top()); break;
                case 0x94: _memo[_memo.Count] = Top(); break;
                case (byte)'q': _memo[Unsigned(p, ref at, 1)] = Top(); break;
                case (byte)'r': _memo[Unsigned(p, ref at, 4)] = Top(); break;
                case (byte)'p': _memo[TextInteger(Line(p, ref at)) ?? -1] = Top(); break;
                case (byte)'h': Push(Recall(Unsigned(p, ref at, 1))); break;
                case (byte)'j': Push(Recall(Unsigned(p, ref at, 4))); break;
                case (byte)'g': Push(Recall(TextInteger(Line(p, ref at)) ?? -1)); break;

                // Protocol framing.
                case 0x80: Bytes(p, ref at, 1); break;
                case 0x95: Bytes(p, ref at, 8); break;

                // Globals and calls: recorded, never made.
                case (byte)'c':
                    Push(Name(Line(p, ref at), Line(p, ref at)));
                    break;
                case 0x93:
                {
                    var name = Pop();
                    var module = Pop();
                    if (module is not string m || name is not string n)
                    {
                        throw new InvalidDataException("the pickle builds a global from values the scan cannot verify as strings");
                    }

                    Push(Name(m, n));
                    break;
                }

                case (byte)'i': // INST: module and name on the line, arguments above the mark
                {
                    var callable = Name(Line(p, ref at), Line(p, ref at));
                    Push(new Call(callable, PopToMark().ToArray()));
                    break;
                }

                case (byte)'o': // OBJ: class and arguments above the mark
                {
                    var items = PopToMark();
                    Push(new Call(items.Count > 0 ? items[0] as Global : null, items.Skip(1).ToArray()));
                    break;
                }

                case (byte)'R':
                {
                    var arguments = Pop();
                    Push(Reduce(Pop() as Global, arguments));
                    break;
                }

                case 0x81: { var arguments = Pop(); Push(new Call(Pop() as Global, arguments)); break; }             // NEWOBJ
                case 0x92: { Pop(); var arguments = Pop(); Push(new Call(Pop() as Global, arguments)); break; }      // NEWOBJ_EX
                case (byte)'Q': Push(new PersistentId(Pop())); break;
                case (byte)'P': Push(new PersistentId(Line(p, ref at))); break;

                case 0x82 or 0x83 or 0x84:
                    throw new InvalidDataException("the pickle uses the extension registry (EXT opcodes), which a checkpoint does not need");
                case 0x97 or 0x98:
                    throw new InvalidDataException("the pickle uses out-of-band buffers (protocol 5 NEXT_BUFFER/READONLY_BUFFER), which torch.save does not write");
                default:
                    throw new InvalidDataException($"the pickle holds an unknown opcode 0x{opcode:x2} at byte {at - 1}");
            }
        }

        private Global Name(string module, string name)
        {
            Globals.Add((module, name));
            return new Global(module, name);
        }

        // _rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad, backward_hooks[, metadata]),
        // where storage is the persistent id ('storage', StorageType, key, location, numel).
        private Call Reduce(Global? callable, object? arguments)
        {
            if (callable is { Module: "torch._utils", Name: "_rebuild_tensor_v2" or "_rebuild_tensor" }
                && arguments is object?[] { Length: >= 3 } a
                && a[0] is PersistentId { Id: object?[] { Length: >= 3 } id }
                && id[1] is Global storageType && id[2] is string key)
            {
                if (a[2] is not object?[] shape || !shape.All(s => s is long))
                {
                    throw new InvalidDataException($"a tensor on storage '{key}' declares a shape that is not a tuple of integers");
                }

                Tensors.Add(new PickledTensor(key, storageType.Name, shape.Cast<long>().ToArray()));
            }

            return new Call(callable, arguments);
        }

        private void Push(object? value) => _stack.Add(value);

        private object? Pop()
        {
            if (_stack.Count == 0 || _stack[^1] is MarkObject)
            {
                throw new InvalidDataException("the pickle pops a value from an empty stack (malformed)");
            }

            var value = _stack[^1];
            _stack.RemoveAt(_stack.Count - 1);
            return value;
        }

        private object? Top() => _stack.Count > 0 && _stack[^1] is not MarkObject
            ? _stack[^1]
            : throw new InvalidDataException("the pickle uses a value from an empty stack (malformed)");

        private List<object?> PopToMark()
        {
            int mark = _stack.FindLastIndex(v => v is MarkObject);
            if (mark < 0)
            {
                throw new InvalidDataException("the pickle closes a group it never opened (no MARK)");
            }

            var items = _stack.GetRange(mark + 1, _stack.Count - mark - 1);
            _stack.RemoveRange(mark, _stack.Count - mark);
            return items;
        }

        private object? Recall(long index) => _memo.TryGetValue(index, out var value)
            ? value
            : throw new InvalidDataException($"the pickle reads memo entry {index}, which it never stored (malformed)");
    }

    private static ReadOnlySpan<byte> Bytes(ReadOnlySpan<byte> pickle, ref int position, long count)
    {
        if (count < 0 || count > pickle.Length - position)
        {
            throw new InvalidDataException($"the pickle declares {count} bytes at byte {position} but holds only {pickle.Length - position} more (truncated or corrupt)");
        }

        var bytes = pickle.Slice(position, (int)count);
        position += (int)count;
        return bytes;
    }

    private static long Unsigned(ReadOnlySpan<byte> pickle, ref int position, int width)
    {
        var bytes = Bytes(pickle, ref position, width);
        ulong value = 0;
        for (int i = width - 1; i >= 0; i--)
        {
            value = (value << 8) | bytes[i]; // little-endian
        }

        return value > long.MaxValue
            ? throw new InvalidDataException("the pickle declares an oversized length")
            : (long)value;
    }

    // LONG1/LONG4: two's complement, little-endian; values beyond a long (never a tensor size) become null.
    private static long? LittleEndianInteger(ReadOnlySpan<byte> bytes)
    {
        var value = new BigInteger(bytes, isUnsigned: false, isBigEndian: false);
        return value >= long.MinValue && value <= long.MaxValue ? (long)value : null;
    }

    private static long? TextInteger(string text) =>
        long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out long value) ? value : null;

    private static string Text(ReadOnlySpan<byte> bytes, bool utf8) => utf8 ? Encoding.UTF8.GetString(bytes) : Encoding.Latin1.GetString(bytes);

    private static string Line(ReadOnlySpan<byte> pickle, ref int position)
    {
        int end = pickle[position..].IndexOf((byte)'\n');
        if (end < 0)
        {
            throw new InvalidDataException("the pickle is truncated inside a text argument");
        }

        string line = Encoding.Latin1.GetString(pickle.Slice(position, end));
        position += end + 1;
        return line;
    }
}
