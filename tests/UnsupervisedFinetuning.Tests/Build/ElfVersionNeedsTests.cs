using UnsupervisedFinetuning.Build;

namespace UnsupervisedFinetuning.Tests.Build;

[TestFixture]
public sealed class ElfVersionNeedsTests
{
    private string _dir = string.Empty;

    [SetUp]
    public void SetUp()
    {
        _dir = Path.Combine(Path.GetTempPath(), "uft-elf-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(_dir);
    }

    [TearDown]
    public void TearDown() => Directory.Delete(_dir, recursive: true);

    private static TinyElf.Image TorchSharpLike() => TinyElf.Build(
    [
        new TinyElf.Needed("libc.so.6", "GLIBC_2.2.5", "GLIBC_2.34"),
        new TinyElf.Needed("libstdc++.so.6", "GLIBCXX_3.4.30", "GLIBCXX_3.4.32", "CXXABI_1.3.13"),
    ]);

    private string Write(string name, byte[] bytes)
    {
        string path = Path.Combine(_dir, name);
        File.WriteAllBytes(path, bytes);
        return path;
    }

    [Test]
    public void ReadRequirements_TorchSharpLikeLibrary_ListsEveryLibraryAndVersionInOrder()
    {
        var image = TorchSharpLike();
        string path = Write("lib.so", image.Bytes);

        var requirements = ElfVersionNeeds.ReadRequirements(path);

        Assert.That(requirements.Select(r => r.Library + "/" + r.Name), Is.EqualTo(new[]
        {
            "libc.so.6/GLIBC_2.2.5", "libc.so.6/GLIBC_2.34",
            "libstdc++.so.6/GLIBCXX_3.4.30", "libstdc++.so.6/GLIBCXX_3.4.32", "libstdc++.so.6/CXXABI_1.3.13",
        }));
        Assert.That(requirements.Select(r => r.FlagsOffset), Is.EqualTo(requirements.Select(r => image.FlagsOffsets[r.Library + "/" + r.Name])));
        Assert.That(requirements.Any(r => r.IsWeak), Is.False);
    }

    [Test]
    public void MarkWeak_StrictRequirement_SetsOnlyTheWeakBitOfThatEntry()
    {
        var image = TorchSharpLike();
        string path = Write("lib.so", image.Bytes);

        var outcome = ElfVersionNeeds.MarkWeak(path, "GLIBCXX_3.4.32");

        byte[] after = File.ReadAllBytes(path);
        long flags = image.FlagsOffsets["libstdc++.so.6/GLIBCXX_3.4.32"];
        Assert.That(outcome, Is.EqualTo(ElfPatchOutcome.Patched));
        Assert.That(after, Has.Length.EqualTo(image.Bytes.Length));
        var changed = Enumerable.Range(0, after.Length).Where(i => after[i] != image.Bytes[i]).ToArray();
        Assert.That(changed, Is.EqualTo(new[] { (int)flags }), "exactly one byte, the low byte of vna_flags, changes");
        Assert.That(after[flags] | (after[flags + 1] << 8), Is.EqualTo(ElfVersionNeeds.WeakFlag));
        var weak = ElfVersionNeeds.ReadRequirements(path).Where(r => r.IsWeak).Select(r => r.Name);
        Assert.That(weak, Is.EqualTo(new[] { "GLIBCXX_3.4.32" }));
    }

    [Test]
    public void MarkWeak_AppliedTwice_SecondRunChangesNothing()
    {
        string path = Write("lib.so", TorchSharpLike().Bytes);
        ElfVersionNeeds.MarkWeak(path, "GLIBCXX_3.4.32");
        byte[] once = File.ReadAllBytes(path);
        DateTime writtenAt = File.GetLastWriteTimeUtc(path);

        var second = ElfVersionNeeds.MarkWeak(path, "GLIBCXX_3.4.32");

        Assert.That(second, Is.EqualTo(ElfPatchOutcome.AlreadyWeak));
        Assert.That(File.ReadAllBytes(path), Is.EqualTo(once));
        Assert.That(File.GetLastWriteTimeUtc(path), Is.EqualTo(writtenAt), "the file is not even opened for writing");
    }

    [Test]
    public void MarkWeak_VersionNotRequired_ReportsNotRequiredAndLeavesFile()
    {
        var image = TorchSharpLike();
        string path = Write("lib.so", image.Bytes);

        var outcome = ElfVersionNeeds.MarkWeak(path, "GLIBCXX_9.9.9");

        Assert.That(outcome, Is.EqualTo(ElfPatchOutcome.NotRequired));
        Assert.That(File.ReadAllBytes(path), Is.EqualTo(image.Bytes));
    }

    [Test]
    public void ReadDefinitions_LibraryDefiningVersions_ListsThem()
    {
        var image = TinyElf.Build([], ["libstdc++.so.6", "GLIBCXX_3.4", "GLIBCXX_3.4.30"]);
        string path = Write("libstdc++.so.6", image.Bytes);

        var defined = ElfVersionNeeds.ReadDefinitions(path);

        Assert.That(defined, Is.EquivalentTo(new[] { "libstdc++.so.6", "GLIBCXX_3.4", "GLIBCXX_3.4.30" }));
    }

    [Test]
    public void MarkWeak_NotAnElfFile_ThrowsNamingFileAndLeavesItByteIdentical()
    {
        byte[] text = "#!/bin/sh\necho this is not a shared library\n"u8.ToArray();
        string path = Write("script.so", text);

        var e = Assert.Throws<ElfFormatException>(() => ElfVersionNeeds.MarkWeak(path, "GLIBCXX_3.4.32"));

        Assert.That(e!.Message, Does.Contain(path).And.Contain("not an ELF file"));
        Assert.That(File.ReadAllBytes(path), Is.EqualTo(text));
    }

    [TestCase(0.5)]
    [TestCase(0.9)]
    [TestCase(0.99)]
    public void MarkWeak_TruncatedElf_ThrowsNamingFileAndLeavesItByteIdentical(double keptFraction)
    {
        byte[] whole = TorchSharpLike().Bytes;
        byte[] truncated = whole[..(int)(whole.Length * keptFraction)];
        string path = Write("truncated.so", truncated);

        var e = Assert.Throws<ElfFormatException>(() => ElfVersionNeeds.MarkWeak(path, "GLIBCXX_3.4.32"));

        Assert.That(e!.Message, Does.Contain(path).And.Contain("truncated"));
        Assert.That(File.ReadAllBytes(path), Is.EqualTo(truncated));
    }

    [Test]
    public void MarkWeak_BigEndianElf_IsRejectedClearly()
    {
        byte[] bytes = TorchSharpLike().Bytes;
        bytes[5] = 2; // EI_DATA = ELFDATA2MSB
        string path = Write("be.so", bytes);

        var e = Assert.Throws<ElfFormatException>(() => ElfVersionNeeds.MarkWeak(path, "GLIBCXX_3.4.32"));

        Assert.That(e!.Message, Does.Contain("big-endian"));
        Assert.That(File.ReadAllBytes(path), Is.EqualTo(bytes));
    }

    [Test]
    public void MarkWeak_VerneedAddressOutsideEverySegment_IsRejectedClearly()
    {
        var image = TorchSharpLike();
        byte[] bytes = image.Bytes;
        // Find DT_VERNEED in the dynamic table and point it far beyond the single PT_LOAD segment.
        int at = FindDynamicTag(bytes, 0x6ffffffe);
        BitConverter.GetBytes(0x7fff0000L).CopyTo(bytes, at + 8);
        string path = Write("bad.so", bytes);

        var e = Assert.Throws<ElfFormatException>(() => ElfVersionNeeds.MarkWeak(path, "GLIBCXX_3.4.32"));

        Assert.That(e!.Message, Does.Contain("DT_VERNEED").And.Contain("PT_LOAD"));
        Assert.That(File.ReadAllBytes(path), Is.EqualTo(bytes));
    }

    [Test]
    public void ReadDefinitions_SystemLibStdCxx_AgreesWithTheVersionStringsInTheFile()
    {
        string system = "/usr/lib/x86_64-linux-gnu/libstdc++.so.6";
        Assume.That(File.Exists(system), "needs a Debian/Ubuntu x86_64 libstdc++");

        var defined = ElfVersionNeeds.ReadDefinitions(system);

        // Naive reference: every NUL-delimited GLIBCXX_3.4[.N] string in the file.
        string text = System.Text.Encoding.ASCII.GetString(File.ReadAllBytes(system));
        var inFile = System.Text.RegularExpressions.Regex.Matches(text, @"(?<=\0)GLIBCXX_3\.4(\.\d+)?(?=\0)")
            .Select(m => m.Value).ToHashSet();
        var definedGlibcxx = defined.Where(d => d.StartsWith("GLIBCXX_3.4", StringComparison.Ordinal)).ToHashSet();
        Assert.That(definedGlibcxx, Is.Not.Empty);
        // Each version's name string lives in .dynstr, so the two sets agree exactly.
        Assert.That(definedGlibcxx, Is.EquivalentTo(inFile));
        Assert.That(definedGlibcxx, Does.Contain("GLIBCXX_3.4"));
    }

    private static int FindDynamicTag(byte[] bytes, long tag)
    {
        for (int i = 0; i + 16 <= bytes.Length; i += 8)
        {
            if (BitConverter.ToInt64(bytes, i) == tag)
            {
                return i;
            }
        }

        throw new InvalidOperationException("tag not found");
    }
}
