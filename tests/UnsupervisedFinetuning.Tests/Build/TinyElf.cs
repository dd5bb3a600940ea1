using System.Text;

namespace UnsupervisedFinetuning.Tests.Build;

/// <summary>
/// Writes a minimal but well-formed little-endian ELF64 shared object holding only what the dynamic
/// loader reads for symbol versioning: one PT_LOAD segment (mapped at a non-zero address, so address
/// translation is exercised), a PT_DYNAMIC segment, a dynamic string table, and optional verneed and
/// verdef tables. Layout is written by hand from the System V gABI, independently of the code under test.
/// </summary>
internal static class TinyElf
{
    public const long LoadAddress = 0x10000;

    public sealed record Needed(string Library, params string[] Versions);

    /// <summary>The bytes and, per (library, version) requirement, the file offset of its vna_flags field.</summary>
    public sealed record Image(byte[] Bytes, IReadOnlyDictionary<string, long> FlagsOffsets);

    public static Image Build(IReadOnlyList<Needed> needs, IReadOnlyList<string>? definitions = null)
    {
        definitions ??= [];
        var strings = new MemoryStream();
        strings.WriteByte(0);
        var stringIndex = new Dictionary<string, uint>();
        uint Str(string s)
        {
            if (!stringIndex.TryGetValue(s, out uint at))
            {
                at = (uint)strings.Length;
                strings.Write(Encoding.ASCII.GetBytes(s));
                strings.WriteByte(0);
                stringIndex[s] = at;
            }

            return at;
        }

        foreach (var need in needs)
        {
            Str(need.Library);
            foreach (string v in need.Versions)
            {
                Str(v);
            }
        }

        foreach (string d in definitions)
        {
            Str(d);
        }

        const int headerSize = 64;
        const int phdrSize = 56;
        long strtabOffset = headerSize + (2 * phdrSize);
        long verneedOffset = Align(strtabOffset + strings.Length, 8);
        long verneedSize = needs.Sum(n => 16 + (16 * n.Versions.Length));
        long verdefOffset = Align(verneedOffset + verneedSize, 8);
        long verdefSize = definitions.Count * 28;
        long dynamicOffset = Align(verdefOffset + verdefSize, 8);
        var dynamic = new List<(long Tag, long Value)>
        {
            (5, LoadAddress + strtabOffset),   // DT_STRTAB
            (10, strings.Length),              // DT_STRSZ
        };
        if (needs.Count > 0)
        {
            dynamic.Add((0x6ffffffe, LoadAddress + verneedOffset)); // DT_VERNEED
            dynamic.Add((0x6fffffff, needs.Count));                 // DT_VERNEEDNUM
        }

        if (definitions.Count > 0)
        {
            dynamic.Add((0x6ffffffc, LoadAddress + verdefOffset));  // DT_VERDEF
            dynamic.Add((0x6ffffffd, definitions.Count));           // DT_VERDEFNUM
        }

        dynamic.Add((0, 0)); // DT_NULL
        long dynamicSize = dynamic.Count * 16;
        long total = dynamicOffset + dynamicSize;

        var bytes = new byte[total];
        var w = new BinaryWriter(new MemoryStream(bytes));

        // ELF header
        w.Write(new byte[] { 0x7f, (byte)'E', (byte)'L', (byte)'F', 2, 1, 1, 0 });
        w.Write(new byte[8]);
        w.Write((ushort)3);      // e_type ET_DYN
        w.Write((ushort)62);     // e_machine EM_X86_64
        w.Write(1u);             // e_version
        w.Write(0ul);            // e_entry
        w.Write((ulong)headerSize); // e_phoff
        w.Write(0ul);            // e_shoff: no section headers, like a stripped library
        w.Write(0u);             // e_flags
        w.Write((ushort)headerSize);
        w.Write((ushort)phdrSize);
        w.Write((ushort)2);      // e_phnum
        w.Write((ushort)64);     // e_shentsize
        w.Write((ushort)0);      // e_shnum
        w.Write((ushort)0);      // e_shstrndx

        WritePhdr(w, type: 1, offset: 0, vaddr: LoadAddress, size: total);                                      // PT_LOAD
        WritePhdr(w, type: 2, offset: dynamicOffset, vaddr: LoadAddress + dynamicOffset, size: dynamicSize);   // PT_DYNAMIC

        w.Seek((int)strtabOffset, SeekOrigin.Begin);
        w.Write(strings.ToArray());

        var flagsOffsets = new Dictionary<string, long>();
        long at = verneedOffset;
        for (int i = 0; i < needs.Count; i++)
        {
            var need = needs[i];
            long entrySize = 16 + (16 * need.Versions.Length);
            w.Seek((int)at, SeekOrigin.Begin);
            w.Write((ushort)1);                         // vn_version
            w.Write((ushort)need.Versions.Length);      // vn_cnt
            w.Write(Str(need.Library));                 // vn_file
            w.Write(16u);                               // vn_aux
            w.Write(i == needs.Count - 1 ? 0u : (uint)entrySize); // vn_next
            for (int j = 0; j < need.Versions.Length; j++)
            {
                long aux = at + 16 + (16 * j);
                w.Write(0x0abcdef0u + (uint)j);          // vna_hash (not checked by the reader)
                flagsOffsets[need.Library + "/" + need.Versions[j]] = aux + 4;
                w.Write((ushort)0);                     // vna_flags
                w.Write((ushort)(2 + j));               // vna_other (version index)
                w.Write(Str(need.Versions[j]));         // vna_name
                w.Write(j == need.Versions.Length - 1 ? 0u : 16u); // vna_next
            }

            at += entrySize;
        }

        w.Seek((int)verdefOffset, SeekOrigin.Begin);
        for (int i = 0; i < definitions.Count; i++)
        {
            w.Write((ushort)1);                   // vd_version
            w.Write((ushort)(i == 0 ? 1 : 0));    // vd_flags (VER_FLG_BASE on the first)
            w.Write((ushort)(i + 1));             // vd_ndx
            w.Write((ushort)1);                   // vd_cnt
            w.Write(0u);                          // vd_hash
            w.Write(20u);                         // vd_aux
            w.Write(i == definitions.Count - 1 ? 0u : 28u); // vd_next
            w.Write(Str(definitions[i]));         // vda_name
            w.Write(0u);                          // vda_next
        }

        w.Seek((int)dynamicOffset, SeekOrigin.Begin);
        foreach (var (tag, value) in dynamic)
        {
            w.Write(tag);
            w.Write(value);
        }

        w.Flush();
        return new Image(bytes, flagsOffsets);
    }

    private static void WritePhdr(BinaryWriter w, uint type, long offset, long vaddr, long size)
    {
        w.Write(type);
        w.Write(type == 1 ? 5u : 6u); // p_flags
        w.Write((ulong)offset);
        w.Write((ulong)vaddr);
        w.Write((ulong)vaddr);        // p_paddr
        w.Write((ulong)size);         // p_filesz
        w.Write((ulong)size);         // p_memsz
        w.Write(8ul);                 // p_align
    }

    private static long Align(long value, long alignment) => (value + alignment - 1) / alignment * alignment;
}
