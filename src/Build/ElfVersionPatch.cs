// Reads and patches the symbol-version requirements (the "verneed" table) of an ELF shared library.
//
// Why this exists: TorchSharp 0.107.0's libLibTorchSharp.so declares that it needs GLIBCXX_3.4.32 from
// libstdc++.so.6. Debian 12's libstdc++ stops at GLIBCXX_3.4.30, so the dynamic loader refuses to load
// the library, although only one symbol carries that version and nothing relocates against it.
// Marking the requirement weak (VER_FLG_WEAK in its Vernaux entry) makes the loader accept a missing
// version instead of failing; every other requirement stays strict.
//
// The MSBuild task that applies the patch to a build's output is at the end of this file.
//
// This file is compiled twice: by MSBuild's RoslynCodeTaskFactory (TorchSharp.LibStdCxxFix.targets) and
// by the test project. It therefore targets the netstandard surface and C# features both compilers accept.
#nullable enable
using System;
using System.Collections.Generic;
using System.IO;
using System.Text;
using Microsoft.Build.Framework;

namespace UnsupervisedFinetuning.Build
{
    /// <summary>An ELF file is malformed, truncated or of a kind this reader does not handle.</summary>
    public sealed class ElfFormatException : Exception
    {
        /// <summary>Creates the exception; <paramref name="message"/> names the file and the problem.</summary>
        public ElfFormatException(string message) : base(message) { }
    }

    /// <summary>One required symbol version: the library that must provide it, its name and flags.</summary>
    public sealed class ElfVersionRequirement
    {
        internal ElfVersionRequirement(string library, string name, ushort flags, long flagsOffset)
        {
            Library = library;
            Name = name;
            Flags = flags;
            FlagsOffset = flagsOffset;
        }

        /// <summary>The needed library's file name, e.g. <c>libstdc++.so.6</c>.</summary>
        public string Library { get; }

        /// <summary>The version name, e.g. <c>GLIBCXX_3.4.32</c>.</summary>
        public string Name { get; }

        /// <summary>The <c>vna_flags</c> field; <see cref="ElfVersionNeeds.WeakFlag"/> marks it weak.</summary>
        public ushort Flags { get; }

        /// <summary>File offset of the two-byte <c>vna_flags</c> field.</summary>
        public long FlagsOffset { get; }

        /// <summary>Whether the loader tolerates this version being absent.</summary>
        public bool IsWeak => (Flags & ElfVersionNeeds.WeakFlag) != 0;
    }

    /// <summary>What <see cref="ElfVersionNeeds.MarkWeak"/> did.</summary>
    public enum ElfPatchOutcome
    {
        /// <summary>The requirement was strict and is now weak.</summary>
        Patched,

        /// <summary>The requirement was already weak; the file was not written.</summary>
        AlreadyWeak,

        /// <summary>The file does not require that version; the file was not written.</summary>
        NotRequired,
    }

    /// <summary>
    /// Reads ELF version requirements and definitions through the dynamic segment, the way the runtime
    /// loader finds them (section headers may be stripped), and marks a requirement weak in place.
    /// Little-endian ELF32 and ELF64 are supported.
    /// </summary>
    public static class ElfVersionNeeds
    {
        /// <summary>VER_FLG_WEAK: the loader does not fail when the version is missing.</summary>
        public const ushort WeakFlag = 0x2;

        // Files larger than this are not shared libraries we patch; refusing them avoids reading gigabytes.
        private const long MaxFileBytes = 512L * 1024 * 1024;

        private const uint PtLoad = 1;
        private const uint PtDynamic = 2;
        private const long DtNull = 0;
        private const long DtStrtab = 5;
        private const long DtStrsz = 10;
        private const long DtVerdef = 0x6ffffffc;
        private const long DtVerdefnum = 0x6ffffffd;
        private const long DtVerneed = 0x6ffffffe;
        private const long DtVerneednum = 0x6fffffff;

        /// <summary>Lists every version requirement (verneed/vernaux entry) of the file.</summary>
        /// <exception cref="ElfFormatException">The file is not a well-formed little-endian ELF file.</exception>
        public static IReadOnlyList<ElfVersionRequirement> ReadRequirements(string path)
        {
            var image = new ElfImage(path, ReadBounded(path));
            var result = new List<ElfVersionRequirement>();
            var dyn = image.ReadDynamic();
            if (!dyn.TryGetValue(DtVerneed, out long verneedAddr))
            {
                return result;
            }

            long count = Required(dyn, DtVerneednum, path, "DT_VERNEEDNUM");
            long entry = image.AddressToOffset(verneedAddr, "DT_VERNEED");
            for (long i = 0; i < count; i++)
            {
                ushort auxCount = image.U16(entry + 2, "vn_cnt");
                string library = image.DynString(image.U32(entry + 4, "vn_file"), "vn_file");
                long aux = entry + image.U32(entry + 8, "vn_aux");
                for (int j = 0; j < auxCount; j++)
                {
                    ushort flags = image.U16(aux + 4, "vna_flags");
                    string name = image.DynString(image.U32(aux + 8, "vna_name"), "vna_name");
                    result.Add(new ElfVersionRequirement(library, name, flags, aux + 4));
                    aux += image.U32(aux + 12, "vna_next");
                }

                uint next = image.U32(entry + 12, "vn_next");
                if (next == 0)
                {
                    break;
                }

                entry += next;
            }

            return result;
        }

        /// <summary>Lists the version names the file defines (verdef entries), e.g. libstdc++'s GLIBCXX_*.</summary>
        /// <exception cref="ElfFormatException">The file is not a well-formed little-endian ELF file.</exception>
        public static ISet<string> ReadDefinitions(string path)
        {
            var image = new ElfImage(path, ReadBounded(path));
            var result = new HashSet<string>(StringComparer.Ordinal);
            var dyn = image.ReadDynamic();
            if (!dyn.TryGetValue(DtVerdef, out long verdefAddr))
            {
                return result;
            }

            long count = Required(dyn, DtVerdefnum, path, "DT_VERDEFNUM");
            long entry = image.AddressToOffset(verdefAddr, "DT_VERDEF");
            for (long i = 0; i < count; i++)
            {
                ushort auxCount = image.U16(entry + 6, "vd_cnt");
                if (auxCount > 0)
                {
                    // The first Verdaux names the version itself; later ones name its parents.
                    long aux = entry + image.U32(entry + 12, "vd_aux");
                    result.Add(image.DynString(image.U32(aux, "vda_name"), "vda_name"));
                }

                uint next = image.U32(entry + 16, "vd_next");
                if (next == 0)
                {
                    break;
                }

                entry += next;
            }

            return result;
        }

        /// <summary>
        /// Marks the requirement on <paramref name="versionName"/> weak. The whole file is parsed and
        /// validated before anything is written; on any error the file is left byte-identical.
        /// Idempotent: a second call reports <see cref="ElfPatchOutcome.AlreadyWeak"/> and writes nothing.
        /// </summary>
        /// <exception cref="ElfFormatException">The file is not a well-formed little-endian ELF file.</exception>
        public static ElfPatchOutcome MarkWeak(string path, string versionName)
        {
            if (string.IsNullOrEmpty(versionName))
            {
                throw new ArgumentException("A version name such as GLIBCXX_3.4.32 is required.", nameof(versionName));
            }

            var matches = new List<ElfVersionRequirement>();
            foreach (var requirement in ReadRequirements(path))
            {
                if (string.Equals(requirement.Name, versionName, StringComparison.Ordinal))
                {
                    matches.Add(requirement);
                }
            }

            if (matches.Count == 0)
            {
                return ElfPatchOutcome.NotRequired;
            }

            bool wrote = false;
            using (var stream = new FileStream(path, FileMode.Open, FileAccess.ReadWrite, FileShare.Read))
            {
                foreach (var requirement in matches)
                {
                    if (requirement.IsWeak)
                    {
                        continue;
                    }

                    ushort flags = (ushort)(requirement.Flags | WeakFlag);
                    stream.Position = requirement.FlagsOffset;
                    stream.WriteByte((byte)(flags & 0xff));
                    stream.WriteByte((byte)(flags >> 8));
                    wrote = true;
                }
            }

            return wrote ? ElfPatchOutcome.Patched : ElfPatchOutcome.AlreadyWeak;
        }

        private static long Required(Dictionary<long, long> dyn, long tag, string path, string name)
        {
            if (!dyn.TryGetValue(tag, out long value))
            {
                throw new ElfFormatException(path + ": the dynamic section has no " + name + " entry although its table is present.");
            }

            return value;
        }

        private static byte[] ReadBounded(string path)
        {
            var info = new FileInfo(path);
            if (!info.Exists)
            {
                throw new FileNotFoundException("ELF file not found: " + path, path);
            }

            if (info.Length > MaxFileBytes)
            {
                throw new ElfFormatException(path + ": " + info.Length + " bytes is larger than the " + MaxFileBytes + "-byte limit for a shared library to patch.");
            }

            return File.ReadAllBytes(path);
        }

        /// <summary>Bounds-checked little-endian views of one ELF file held in memory.</summary>
        private sealed class ElfImage
        {
            private readonly string path;
            private readonly byte[] bytes;
            private readonly bool is64;
            private readonly List<long[]> loads = new List<long[]>(); // {p_offset, p_vaddr, p_filesz}
            private long dynamicOffset = -1;
            private long dynamicSize;
            private long strtabOffset = -1;
            private long strtabSize = -1;

            public ElfImage(string path, byte[] bytes)
            {
                this.path = path;
                this.bytes = bytes;
                if (bytes.Length < 16 || bytes[0] != 0x7f || bytes[1] != (byte)'E' || bytes[2] != (byte)'L' || bytes[3] != (byte)'F')
                {
                    throw new ElfFormatException(path + ": not an ELF file (the first four bytes are not the magic 7F 45 4C 46).");
                }

                if (bytes[4] != 1 && bytes[4] != 2)
                {
                    throw new ElfFormatException(path + ": unknown ELF class " + bytes[4] + " at offset 0x4; expected 1 (32-bit) or 2 (64-bit).");
                }

                if (bytes[5] != 1)
                {
                    throw new ElfFormatException(path + ": ELF data encoding " + bytes[5] + " at offset 0x5 is not little-endian (1); big-endian files are not supported.");
                }

                is64 = bytes[4] == 2;
                ReadProgramHeaders();
            }

            public Dictionary<long, long> ReadDynamic()
            {
                var result = new Dictionary<long, long>();
                if (dynamicOffset < 0)
                {
                    throw new ElfFormatException(path + ": no PT_DYNAMIC program header; this is not a dynamically linked shared library.");
                }

                int entrySize = is64 ? 16 : 8;
                for (long at = dynamicOffset; at + entrySize <= dynamicOffset + dynamicSize; at += entrySize)
                {
                    long tag = is64 ? (long)U64(at, "d_tag") : (int)U32(at, "d_tag");
                    long value = is64 ? (long)U64(at + 8, "d_val") : U32(at + 4, "d_val");
                    if (tag == DtNull)
                    {
                        break;
                    }

                    if (!result.ContainsKey(tag))
                    {
                        result[tag] = value;
                    }
                }

                long strtab;
                if (!result.TryGetValue(DtStrtab, out strtab))
                {
                    throw new ElfFormatException(path + ": the dynamic section has no DT_STRTAB entry.");
                }

                strtabOffset = AddressToOffset(strtab, "DT_STRTAB");
                long strsz;
                strtabSize = result.TryGetValue(DtStrsz, out strsz) ? strsz : bytes.Length - strtabOffset;
                if (strtabSize < 0 || strtabOffset + strtabSize > bytes.Length)
                {
                    throw new ElfFormatException(path + ": the dynamic string table (offset 0x" + strtabOffset.ToString("x") + ", " + strtabSize + " bytes) runs past the end of the file (" + bytes.Length + " bytes).");
                }

                return result;
            }

            public long AddressToOffset(long address, string what)
            {
                foreach (var load in loads)
                {
                    if (address >= load[1] && address < load[1] + load[2])
                    {
                        return load[0] + (address - load[1]);
                    }
                }

                throw new ElfFormatException(path + ": " + what + " address 0x" + address.ToString("x") + " lies in no PT_LOAD segment backed by the file.");
            }

            public string DynString(uint index, string what)
            {
                if (index >= strtabSize)
                {
                    throw new ElfFormatException(path + ": " + what + " string index " + index + " is outside the dynamic string table (" + strtabSize + " bytes).");
                }

                long start = strtabOffset + index;
                long end = start;
                while (end < strtabOffset + strtabSize && bytes[end] != 0)
                {
                    end++;
                }

                if (end == strtabOffset + strtabSize)
                {
                    throw new ElfFormatException(path + ": " + what + " string at offset 0x" + start.ToString("x") + " is not terminated inside the dynamic string table.");
                }

                return Encoding.ASCII.GetString(bytes, (int)start, (int)(end - start));
            }

            public ushort U16(long offset, string what)
            {
                Check(offset, 2, what);
                return (ushort)(bytes[offset] | (bytes[offset + 1] << 8));
            }

            public uint U32(long offset, string what)
            {
                Check(offset, 4, what);
                return (uint)(bytes[offset] | (bytes[offset + 1] << 8) | (bytes[offset + 2] << 16) | (bytes[offset + 3] << 24));
            }

            public ulong U64(long offset, string what)
            {
                Check(offset, 8, what);
                return U32(offset, what) | ((ulong)U32(offset + 4, what) << 32);
            }

            private void ReadProgramHeaders()
            {
                long phoff = is64 ? (long)U64(32, "e_phoff") : U32(28, "e_phoff");
                ushort phentsize = U16(is64 ? 54 : 42, "e_phentsize");
                ushort phnum = U16(is64 ? 56 : 44, "e_phnum");
                int expected = is64 ? 56 : 32;
                if (phnum > 0 && phentsize != expected)
                {
                    throw new ElfFormatException(path + ": e_phentsize is " + phentsize + "; expected " + expected + " for this ELF class.");
                }

                for (int i = 0; i < phnum; i++)
                {
                    long at = phoff + (long)i * phentsize;
                    uint type = U32(at, "p_type");
                    long offset = is64 ? (long)U64(at + 8, "p_offset") : U32(at + 4, "p_offset");
                    long vaddr = is64 ? (long)U64(at + 16, "p_vaddr") : U32(at + 8, "p_vaddr");
                    long filesz = is64 ? (long)U64(at + 32, "p_filesz") : U32(at + 16, "p_filesz");
                    if ((type == PtLoad || type == PtDynamic) && (offset < 0 || filesz < 0 || offset + filesz > bytes.Length))
                    {
                        throw new ElfFormatException(path + ": program header " + i + " describes bytes 0x" + offset.ToString("x") + "+" + filesz + " but the file has only " + bytes.Length + " bytes (truncated?).");
                    }

                    if (type == PtLoad)
                    {
                        loads.Add(new[] { offset, vaddr, filesz });
                    }
                    else if (type == PtDynamic)
                    {
                        dynamicOffset = offset;
                        dynamicSize = filesz;
                    }
                }
            }

            private void Check(long offset, int size, string what)
            {
                if (offset < 0 || offset + size > bytes.Length)
                {
                    throw new ElfFormatException(path + ": reading " + what + " at offset 0x" + offset.ToString("x") + " needs " + size + " bytes but the file has only " + bytes.Length + " bytes (truncated?).");
                }
            }
        }
    }

    /// <summary>
    /// MSBuild task: for each native library in <see cref="Files"/>, marks weak every requirement on a
    /// version listed in <see cref="VersionNames"/> that this machine's libstdc++ does not define, and
    /// logs one line saying what it did. Other missing versions are reported as warnings, not patched:
    /// only the listed ones are known to be safe to relax.
    /// </summary>
    public sealed class MarkLibStdCxxVersionsWeak : Microsoft.Build.Utilities.Task
    {
        private static readonly string[] SearchDirectories =
        {
            "/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu", "/lib/aarch64-linux-gnu",
            "/usr/lib/aarch64-linux-gnu", "/lib64", "/usr/lib64", "/lib", "/usr/lib",
        };

        /// <summary>The ELF files to patch (copies in a build or publish output, never the NuGet cache).</summary>
        [Required]
        public ITaskItem[] Files { get; set; } = Array.Empty<ITaskItem>();

        /// <summary>Version names that may be relaxed when the system lacks them, e.g. GLIBCXX_3.4.32.</summary>
        [Required]
        public string[] VersionNames { get; set; } = Array.Empty<string>();

        /// <summary>Path of the system's libstdc++.so.6; empty means search the standard directories.</summary>
        public string SystemLibStdCxx { get; set; } = string.Empty;

        /// <inheritdoc />
        public override bool Execute()
        {
            string libstdcxx = string.IsNullOrEmpty(SystemLibStdCxx) ? FindSystemLibStdCxx() : SystemLibStdCxx;
            if (libstdcxx.Length == 0 || !File.Exists(libstdcxx))
            {
                Log.LogMessage(MessageImportance.High, "TorchSharp native fix: no system libstdc++.so.6 found; nothing patched.");
                return true;
            }

            try
            {
                ISet<string> provided = ElfVersionNeeds.ReadDefinitions(libstdcxx);
                foreach (ITaskItem item in Files)
                {
                    PatchOne(item.ItemSpec, libstdcxx, provided);
                }
            }
            catch (ElfFormatException e)
            {
                Log.LogError(null, "UFT0001", null, null, 0, 0, 0, 0, "TorchSharp native fix failed, file left unchanged: " + e.Message);
                return false;
            }

            return !Log.HasLoggedErrors;
        }

        private void PatchOne(string file, string libstdcxx, ISet<string> provided)
        {
            var allowed = new HashSet<string>(VersionNames, StringComparer.Ordinal);
            var patched = new List<string>();
            var alreadyWeak = new List<string>();
            foreach (ElfVersionRequirement requirement in ElfVersionNeeds.ReadRequirements(file))
            {
                if (requirement.Library != "libstdc++.so.6" || provided.Contains(requirement.Name))
                {
                    continue;
                }

                if (!allowed.Contains(requirement.Name))
                {
                    if (!requirement.IsWeak)
                    {
                        Log.LogWarning(null, "UFT0002", null, file, 0, 0, 0, 0, file + " needs " + requirement.Name + ", which " + libstdcxx + " does not define; it is not on the list of versions known to be safe to relax, so the library will probably fail to load.");
                    }

                    continue;
                }

                ElfPatchOutcome outcome = ElfVersionNeeds.MarkWeak(file, requirement.Name);
                (outcome == ElfPatchOutcome.Patched ? patched : alreadyWeak).Add(requirement.Name);
            }

            string line;
            if (patched.Count > 0)
            {
                line = "marked " + string.Join(", ", patched) + " weak in " + file + " (" + libstdcxx + " does not define it)";
            }
            else if (alreadyWeak.Count > 0)
            {
                line = string.Join(", ", alreadyWeak) + " already weak in " + file + "; nothing to do";
            }
            else
            {
                line = libstdcxx + " defines every version " + file + " needs; nothing to do";
            }

            Log.LogMessage(MessageImportance.High, "TorchSharp native fix: " + line + ".");
        }

        private static string FindSystemLibStdCxx()
        {
            foreach (string directory in SearchDirectories)
            {
                string candidate = Path.Combine(directory, "libstdc++.so.6");
                if (File.Exists(candidate))
                {
                    return candidate;
                }
            }

            return string.Empty;
        }
    }
}
