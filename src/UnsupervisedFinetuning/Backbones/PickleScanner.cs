using System.Text;

namespace UnsupervisedFinetuning.Backbones;

/// <summary>
/// Walks the opcodes of a pickle (protocols 0–5) without executing it and lists every global it names —
/// the only way a pickle reaches a callable (GLOBAL, INST, STACK_GLOBAL; the extension registry is
/// refused outright). Checkpoint import checks that list against an allow-list before the unpickler runs,
/// so safety does not rest on a dependency's defaults alone.
/// </summary>
internal static class PickleScanner
{
    /// <summary>The globals the pickle names, in order of appearance.</summary>
    /// <exception cref="InvalidDataException">The pickle is truncated, malformed, uses the extension registry, or
    /// builds a global from strings the scan cannot follow.</exception>
    public static List<(string Module, string Name)> Globals(ReadOnlySpan<byte> pickle)
    {
        var globals = new List<(string, string)>();
        var memo = new Dictionary<long, string?>();   // memo index → the string stored there (null: not a string)
        var recent = new List<string?>();             // the values pushed most recently: strings, or null for anything else
        int position = 0;
        while (true)
        {
            if (position >= pickle.Length)
            {
                throw new InvalidDataException("the pickle ends without a STOP opcode (truncated)");
            }

            byte opcode = pickle[position++];
            switch (opcode)
            {
                case (byte)'.': // STOP
                    return globals;

                // Opcodes without an argument.
                case (byte)'(' or (byte)'0' or (byte)'1' or (byte)'2' or (byte)'N' or 0x88 or 0x89 or (byte)'}' or (byte)']' or (byte)')'
                    or (byte)'t' or 0x85 or 0x86 or 0x87 or (byte)'l' or (byte)'d' or (byte)'a' or (byte)'e' or (byte)'s' or (byte)'u'
                    or (byte)'b' or (byte)'R' or 0x81 or 0x92 or 0x8f or 0x90 or 0x91 or (byte)'o' or (byte)'Q' or 0x97 or 0x98:
                    recent.Add(null);
                    break;

                case 0x94: // MEMOIZE: the top value goes to the next memo index
                    memo[memo.Count] = recent.Count > 0 ? recent[^1] : null;
                    break;

                case 0x93: // STACK_GLOBAL: module and name are the two values below the top
                    if (recent.Count < 2 || recent[^2] is not { } module || recent[^1] is not { } name)
                    {
                        throw new InvalidDataException("the pickle builds a global from values the scan cannot verify as strings");
                    }

                    globals.Add((module, name));
                    recent.Add(null);
                    break;

                // One-byte argument.
                case (byte)'K' or 0x80:
                    Skip(pickle, ref position, 1);
                    recent.Add(null);
                    break;
                case (byte)'h': // BINGET
                    recent.Add(memo.GetValueOrDefault(Read(pickle, ref position, 1)));
                    break;
                case (byte)'q': // BINPUT
                    memo[Read(pickle, ref position, 1)] = recent.Count > 0 ? recent[^1] : null;
                    break;

                // Two- and four-byte arguments.
                case (byte)'M':
                    Skip(pickle, ref position, 2);
                    recent.Add(null);
                    break;
                case (byte)'J':
                    Skip(pickle, ref position, 4);
                    recent.Add(null);
                    break;
                case (byte)'j': // LONG_BINGET
                    recent.Add(memo.GetValueOrDefault(Read(pickle, ref position, 4)));
                    break;
                case (byte)'r': // LONG_BINPUT
                    memo[Read(pickle, ref position, 4)] = recent.Count > 0 ? recent[^1] : null;
                    break;
                case 0x82 or 0x83 or 0x84: // EXT1, EXT2, EXT4: callables from copyreg's registry
                    throw new InvalidDataException("the pickle uses the extension registry (EXT opcodes), which a checkpoint does not need");

                // Eight-byte arguments.
                case (byte)'G':
                    Skip(pickle, ref position, 8);
                    recent.Add(null);
                    break;
                case 0x95: // FRAME: a length hint, no value
                    Skip(pickle, ref position, 8);
                    break;

                // Length-prefixed data: strings are remembered, bytes are not.
                case (byte)'U' or 0x8c:
                    recent.Add(Text(pickle, ref position, Read(pickle, ref position, 1), opcode == 0x8c));
                    break;
                case (byte)'T' or (byte)'X':
                    recent.Add(Text(pickle, ref position, Read(pickle, ref position, 4), opcode == (byte)'X'));
                    break;
                case 0x8d:
                    recent.Add(Text(pickle, ref position, Read(pickle, ref position, 8), utf8: true));
                    break;
                case (byte)'C' or 0x8a:
                    Skip(pickle, ref position, Read(pickle, ref position, 1));
                    recent.Add(null);
                    break;
                case (byte)'B' or 0x8b:
                    Skip(pickle, ref position, Read(pickle, ref position, 4));
                    recent.Add(null);
                    break;
                case 0x8e or 0x96:
                    Skip(pickle, ref position, Read(pickle, ref position, 8));
                    recent.Add(null);
                    break;

                // Newline-terminated arguments (protocol 0).
                case (byte)'I' or (byte)'L' or (byte)'F' or (byte)'P':
                    Line(pickle, ref position);
                    recent.Add(null);
                    break;
                case (byte)'S' or (byte)'V':
                    recent.Add(Line(pickle, ref position).Trim('\'', '"'));
                    break;
                case (byte)'g': // GET
                    recent.Add(memo.GetValueOrDefault(long.Parse(Line(pickle, ref position), System.Globalization.CultureInfo.InvariantCulture)));
                    break;
                case (byte)'p': // PUT
                    memo[long.Parse(Line(pickle, ref position), System.Globalization.CultureInfo.InvariantCulture)] = recent.Count > 0 ? recent[^1] : null;
                    break;
                case (byte)'c' or (byte)'i': // GLOBAL, INST: "module\nname\n"
                    globals.Add((Line(pickle, ref position), Line(pickle, ref position)));
                    recent.Add(null);
                    break;

                default:
                    throw new InvalidDataException($"the pickle holds an unknown opcode 0x{opcode:x2} at byte {position - 1}");
            }

            // Only the top two values matter (STACK_GLOBAL); keep the list short.
            if (recent.Count > 64)
            {
                recent.RemoveRange(0, 32);
            }
        }
    }

    private static long Read(ReadOnlySpan<byte> pickle, ref int position, int bytes)
    {
        if (position + bytes > pickle.Length)
        {
            throw new InvalidDataException("the pickle is truncated inside an opcode's argument");
        }

        long value = 0;
        for (int i = bytes - 1; i >= 0; i--)
        {
            value = (value << 8) | pickle[position + i]; // little-endian
        }

        position += bytes;
        if (value < 0)
        {
            throw new InvalidDataException("the pickle declares a negative or oversized length");
        }

        return value;
    }

    private static void Skip(ReadOnlySpan<byte> pickle, ref int position, long bytes)
    {
        if (bytes > pickle.Length - position)
        {
            throw new InvalidDataException($"the pickle declares {bytes} bytes at byte {position} but holds only {pickle.Length - position} more (truncated or corrupt)");
        }

        position += (int)bytes;
    }

    private static string Text(ReadOnlySpan<byte> pickle, ref int position, long length, bool utf8)
    {
        int start = position;
        Skip(pickle, ref position, length);
        var bytes = pickle.Slice(start, (int)length);
        return utf8 ? Encoding.UTF8.GetString(bytes) : Encoding.Latin1.GetString(bytes);
    }

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
