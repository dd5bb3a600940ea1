using System.Buffers.Binary;
using System.Globalization;
using System.Numerics;
using System.Text;

namespace UnsupervisedFinetuning.Formats;

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
/// <remarks>
/// The checks only hold if the scan sees the values the real unpickler (Razorvine.Pickle, inside
/// TorchSharp.PyBridge) and CPython's pickle would see. Wherever they could differ, the scan refuses instead of
/// guessing: memo keys that are not plain digits or are negative, strings with escapes, dicts and SETITEMS with
/// an odd number of items, popping or duplicating a MARK, and calls whose callable is not a global. Every call
/// opcode (REDUCE, NEWOBJ, NEWOBJ_EX, OBJ, INST) is checked alike. Work and memory are linear in the pickle:
/// at most <see cref="MaxValues"/> values, shapes of at most <see cref="MaxRank"/> sizes.
/// </remarks>
internal static class PickleScanner
{
    /// <summary>The most values a scanned pickle may build (a state dict's pickle builds a few per tensor).</summary>
    public const int MaxValues = 2_000_000;

    /// <summary>The most sizes a tensor's shape may have.</summary>
    public const int MaxRank = 64;

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
                case (byte)'S': Push(QuotedText(Line(p, ref at))); break;
                case (byte)'V': Push(PlainText(Line(p, ref at))); break;
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
                case (byte)'d': PairsToMark(); Push(new Opaque()); break;
                case 0x91: PopToMark(); Push(new Opaque()); break;
                case (byte)'a': { var item = Pop(); (Top() as List<object?>)?.Add(item); break; }
                case (byte)'e': { var items = PopToMark(); (Top() as List<object?>)?.AddRange(items); break; }
                case (byte)'s': Pop(); Pop(); Top(); break;        // SETITEM: the dict stays
                case (byte)'u': PairsToMark(); Top(); break;  // SETITEMS
                case 0x90: PopToMark(); Top(); break;         // ADDITEMS
                case (byte)'b': Pop(); Top(); break;               // BUILD: the object stays

                // Stack and memo.
                case (byte)'0': Pop(); break;
                case (byte)'1': PopToMark(); break;
                case (byte)'2': Push(Top()); break;
                case 0x94: _memo[_memo.Count] = Top(); break;
                case (byte)'q': _memo[Unsigned(p, ref at, 1)] = Top(); break;
                case (byte)'r': _memo[SignedMemoKey(p, ref at)] = Top(); break;
                case (byte)'p': _memo[TextMemoKey(Line(p, ref at))] = Top(); break;
                case (byte)'h': Push(Recall(Unsigned(p, ref at, 1))); break;
                case (byte)'j': Push(Recall(SignedMemoKey(p, ref at))); break;
                case (byte)'g': Push(Recall(TextMemoKey(Line(p, ref at)))); break;

                // Protocol framing.
                case 0x80: Bytes(p, ref at, 1); break;
                case 0x95: Bytes(p, ref at, 8); break;

                // Globals and calls: recorded, never made.
                case (byte)'c':
                    Push(Name(Utf8Line(p, ref at), Utf8Line(p, ref at)));
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

                // Every call opcode reaches the same constructors in the real unpickler, so each is checked alike.
                case (byte)'i': // INST: module and name on the line, arguments above the mark
                {
                    var callable = Name(Utf8Line(p, ref at), Utf8Line(p, ref at));
                    Push(Reduce(callable, PopToMark().ToArray()));
                    break;
                }

                case (byte)'o': // OBJ: class and arguments above the mark
                {
                    var items = PopToMark();
                    Push(Reduce(items.Count > 0 ? items[0] : null, items.Skip(1).ToArray()));
                    break;
                }

                case (byte)'R' or 0x81: // REDUCE, NEWOBJ
                {
                    var arguments = Pop();
                    Push(Reduce(Pop(), arguments));
                    break;
                }

                case 0x92: // NEWOBJ_EX: keyword arguments on top
                {
                    Pop();
                    var arguments = Pop();
                    Push(Reduce(Pop(), arguments));
                    break;
                }

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
        // where storage is the persistent id ('storage', StorageType, key, location, numel). A rebuild whose
        // arguments do not have that form is refused: the real constructor would still run on them.
        private Call Reduce(object? callableValue, object? arguments)
        {
            if (callableValue is not Global callable)
            {
                throw new InvalidDataException("the pickle calls a value that is not a global (malformed or crafted)");
            }

            if (callable is { Module: "torch._utils", Name: "_rebuild_tensor_v2" or "_rebuild_tensor" })
            {
                if (arguments is not object?[] { Length: >= 3 } a
                    || a[0] is not PersistentId { Id: object?[] { Length: >= 3 } id }
                    || id[1] is not Global storageType || id[2] is not string key)
                {
                    throw new InvalidDataException($"the pickle calls {IO.ExceptionText.Printable(callable.Module)}.{IO.ExceptionText.Printable(callable.Name)} with arguments the scan cannot verify (not a storage, offset and shape)");
                }

                if (a[2] is not object?[] shape || shape.Length > MaxRank || !shape.All(s => s is long))
                {
                    throw new InvalidDataException($"a tensor on storage '{IO.ExceptionText.Printable(key)}' declares a shape that is not a tuple of at most {MaxRank} integers");
                }

                Tensors.Add(new PickledTensor(key, storageType.Name, shape.Cast<long>().ToArray()));
            }

            return new Call(callable, arguments);
        }

        private int _values;

        private void Push(object? value)
        {
            if (++_values > MaxValues)
            {
                throw new InvalidDataException($"the pickle builds more than {MaxValues:N0} values; a state dict needs a few per tensor");
            }

            _stack.Add(value);
        }

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

        // DICT and SETITEMS take key-value pairs; an odd count is read differently by different unpicklers.
        private void PairsToMark()
        {
            if (PopToMark().Count % 2 != 0)
            {
                throw new InvalidDataException("the pickle builds a dict from an odd number of items (malformed or crafted)");
            }
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

    // PUT/GET keys as text: plain ASCII digits only, where CPython's int() and Razorvine's int.Parse agree.
    private static long TextMemoKey(string text)
    {
        if (text.Length is 0 or > 9 || !text.All(char.IsAsciiDigit))
        {
            throw new InvalidDataException($"the pickle uses memo key '{UnsupervisedFinetuning.IO.ExceptionText.Printable(text, 20)}', which is not plain digits");
        }

        return long.Parse(text, CultureInfo.InvariantCulture);
    }

    // LONG_BINPUT/LONG_BINGET keys: CPython reads them unsigned, Razorvine signed; they agree below 2³¹ only.
    private static long SignedMemoKey(ReadOnlySpan<byte> pickle, ref int position)
    {
        int key = BinaryPrimitives.ReadInt32LittleEndian(Bytes(pickle, ref position, 4));
        return key >= 0 ? key : throw new InvalidDataException($"the pickle uses memo key {(uint)key}, which unpicklers read differently");
    }

    // STRING (protocol 0): quoted; escapes are decoded differently by different unpicklers, so none are accepted.
    private static string QuotedText(string line)
    {
        if (line.Length < 2 || line[0] is not ('\'' or '"') || line[^1] != line[0] || line.Contains('\\'))
        {
            throw new InvalidDataException("the pickle holds a protocol-0 string that is not plainly quoted");
        }

        return line[1..^1];
    }

    // UNICODE (protocol 0): raw-unicode-escape; accepted without escapes only.
    private static string PlainText(string line) => line.Contains('\\')
        ? throw new InvalidDataException("the pickle holds a protocol-0 string with escapes")
        : line;

    private static string Utf8Line(ReadOnlySpan<byte> pickle, ref int position)
    {
        int end = pickle[position..].IndexOf((byte)'\n');
        if (end < 0)
        {
            throw new InvalidDataException("the pickle is truncated inside a text argument");
        }

        string line = Encoding.UTF8.GetString(pickle.Slice(position, end));
        position += end + 1;
        return line;
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
