using System.IO.Compression;
using System.Text;
using UnsupervisedFinetuning.Backbones;
using UnsupervisedFinetuning.Formats;

namespace UnsupervisedFinetuning.Tests.Backbones;

/// <summary>
/// Files that are not what they claim, or claim more than they hold: each ends in the documented
/// <see cref="InvalidDataException"/>, with a message that says what the file is and what to do, before any
/// reader allocates what the file declares.
/// </summary>
[TestFixture]
public sealed class HostileCheckpointTests
{
    private TempDirectory _dir = null!;

    [SetUp]
    public void SetUp() => _dir = new TempDirectory();

    [TearDown]
    public void TearDown() => _dir.Dispose();

    private string Write(string name, byte[] bytes)
    {
        string path = Path.Combine(_dir.Path, name);
        File.WriteAllBytes(path, bytes);
        return path;
    }

    private static InvalidDataException Refused(string path)
    {
        using var model = new SmallCnn(1, 8);
        var e = Assert.Throws<InvalidDataException>(() => Checkpoint.Load(model, path))!;
        Assert.That(e.Message, Does.StartWith(path));
        Assert.That(e.Message, Does.Not.Contain("\n").And.Length.LessThan(500), "one line, no native stack trace");
        return e;
    }

    [Test]
    public void EmptyFile_IsCalledEmpty()
    {
        // Regression: empty and random files were reported as "saved using the old PyTorch format… re-save".
        var e = Refused(Write("empty.pth", []));

        Assert.That(e.Message, Does.Contain("the file is empty (0 bytes)").And.Not.Contain("old PyTorch format"));
    }

    [Test]
    public void RandomBytes_AreNamedByTheirFirstBytes()
    {
        var e = Refused(Write("random.pth", Enumerable.Range(0, 1000).Select(i => (byte)((i * 37 % 251) + 1)).ToArray()));

        Assert.That(e.Message, Does.Contain("not a PyTorch checkpoint (written by torch.save), a safetensors file or TorchSharp weights").And.Contain("starts with bytes 01 26 4b"));
    }

    [Test]
    public void TorchSharpWeights_LoadThroughCheckpointLoad_LikeAnyOtherFormat()
    {
        // Regression: the shipped TorchSharp-format .dat was reported as an old PyTorch file to re-save; then
        // it was recognised but sent to LoadTorchSharp. Checkpoint.Load now reads every format the library knows.
        string path = Path.Combine(RepositoryPaths.SampleData, "pretrained", "smallcnn256-moco-fashion0to4.backbone.dat");
        using var viaLoad = new SmallCnn(1, 256);
        using var viaLoadTorchSharp = new SmallCnn(1, 256);

        var report = Checkpoint.Load(viaLoad, path);
        Checkpoint.LoadTorchSharp(viaLoadTorchSharp, path);

        Assert.That(report.IsExact, Is.True);
        Assert.That(viaLoad.state_dict().All(kv => kv.Value.equal(viaLoadTorchSharp.state_dict()[kv.Key]).all().item<bool>()), Is.True);
        using var wider = new SmallCnn(1, 128);
        var mismatch = Assert.Throws<CheckpointMismatchException>(() => Checkpoint.Load(wider, path))!;
        Assert.That(mismatch.Report.ShapeMismatches, Is.Not.Empty);
    }

    [Test]
    public void LegacyPickle_SaysWhichPyTorchFormatItIs()
    {
        var e = Refused(Write("legacy.pth", [0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19, 0x2e]));

        Assert.That(e.Message, Does.Contain("legacy format of PyTorch before 1.6"));
    }

    [TestCase(2)]
    [TestCase(4)]
    public void PickleThatCallsOsSystem_IsRefusedNamingTheCallable_AndNothingRuns(int protocol)
    {
        // Regression: the refusal advised "registering a custom IObjectConstructor", i.e. how to allow the call.
        string marker = Path.Combine(_dir.Path, "pwned");
        var pickle = new List<byte> { 0x80, (byte)protocol };
        if (protocol == 2)
        {
            pickle.AddRange(Encoding.ASCII.GetBytes("cposix\nsystem\n"));                      // GLOBAL
        }
        else
        {
            pickle.AddRange(ShortUnicode("os"));
            pickle.Add(0x94);                                                                    // MEMOIZE
            pickle.AddRange(ShortUnicode("system"));
            pickle.Add(0x94);
            pickle.Add(0x93);                                                                    // STACK_GLOBAL
        }

        pickle.AddRange(ShortUnicode($"touch {marker}"));
        pickle.AddRange([0x85, (byte)'R', (byte)'.']);                                          // TUPLE1, REDUCE, STOP

        var e = Refused(Write("evil.pth", Zip(pickle.ToArray())));

        string callable = protocol == 2 ? "posix.system" : "os.system";
        Assert.That(e.Message, Does.Contain($"names {callable}").And.Contain("the file is unsafe").And.Not.Contain("IObjectConstructor"));
        Assert.That(File.Exists(marker), Is.False);
    }

    [Test]
    public void PickleNamingAHarmlessButUnlistedClass_IsRefusedAsUntrusted()
    {
        var pickle = new List<byte> { 0x80, 0x02 };
        pickle.AddRange(Encoding.ASCII.GetBytes("cdatetime\ndate\n"));
        pickle.AddRange([(byte)')', (byte)'R', (byte)'.']);

        var e = Refused(Write("date.pth", Zip(pickle.ToArray())));

        Assert.That(e.Message, Does.Contain("names datetime.date").And.Contain("untrusted").And.Not.Contain("unsafe"));
    }

    [Test]
    public void TruncatedPickle_IsRefusedAsTruncated()
    {
        var e = Refused(Write("cut.pth", Zip([0x80, 0x02, (byte)'X', 0xff, 0xff, 0x00, 0x00, (byte)'a'])));

        Assert.That(e.Message, Does.Contain("refused").And.Contain("holds only 1 more"));
    }

    [Test]
    public void HandWrittenTensorPickle_LoadsAsPyTorchWouldHaveIt()
    {
        // The scan and the real unpickler see the same tensor: the builder below is a faithful torch.save pickle.
        string path = Write("one.pth", Zip(TensorPickle(("w", [2, 2], 0)), [1f, 2f, 3f, 4f]));

        var state = Checkpoint.ReadStateDict(path);

        Assert.That(state["w"].shape, Is.EqualTo(new long[] { 2, 2 }));
        Assert.That(state["w"].data<float>().ToArray(), Is.EqualTo(new[] { 1f, 2f, 3f, 4f }));
        state["w"].Dispose();
    }

    [Test]
    public void PickledTensorLargerThanItsStorage_IsRefusedBeforeAllocating()
    {
        // A 10¹⁰-element float tensor (40 GB) declared over a 16-byte storage: PyBridge would call torch.empty first.
        string path = Write("shape.pth", Zip(TensorPickle(("w", [100000, 100000], 0)), [1f, 2f, 3f, 4f]));
        long before = GC.GetTotalAllocatedBytes(precise: true);

        var e = Refused(path);

        Assert.That(GC.GetTotalAllocatedBytes(precise: true) - before, Is.LessThan(1 << 20), "bounded: well under 1 MB allocated");
        Assert.That(e.Message, Does.Contain("a tensor declares shape [100000, 100000] of FloatStorage (40000000000 bytes) but its storage data/0 holds 16 bytes"));
    }

    [Test]
    public void OneStorageReadByManyTensors_IsRefused()
    {
        // 1000 tensors over the same 16-byte storage: each would be read in full.
        var tensors = Enumerable.Range(0, 1000).Select(i => ($"w{i}", new[] { 4 }, (object)0)).ToArray();

        var e = Refused(Write("many.pth", Zip(TensorPickle(tensors), [1f, 2f, 3f, 4f])));

        Assert.That(e.Message, Does.Contain($"its tensors would take more than {CheckpointFile.MaxTensorBytesPerStorageByte} × the"));
    }

    [Test]
    public void PickledTensorOnAStorageTheArchiveLacks_IsRefused()
    {
        var e = Refused(Write("missing.pth", Zip(TensorPickle(("w", [4], 7)), [1f, 2f, 3f, 4f])));

        Assert.That(e.Message, Does.Contain("refers to storage data/7, which the archive does not hold"));
    }

    [Test]
    public void TensorRebuiltThroughNewObj_IsCheckedLikeReduce()
    {
        // Review regression: only REDUCE was checked, but Razorvine runs the same constructor for NEWOBJ
        // (and NEWOBJ_EX, OBJ, INST): a 64 MB tensor over 16 bytes passed the scan.
        byte[] pickle = TensorPickle(("w", [4096, 4096], 0));
        int reduce = pickle.AsSpan().LastIndexOf("tRs"u8);
        pickle[reduce + 1] = 0x81; // NEWOBJ

        var e = Refused(Write("newobj.pth", Zip(pickle, [1f, 2f, 3f, 4f])));

        Assert.That(e.Message, Does.Contain("a tensor declares shape [4096, 4096] of FloatStorage"));
    }

    [TestCase("p 1\n", "memo key ' 1'")]          // CPython and Razorvine read " 1" as 1; a strict parse would not
    [TestCase("r\xff\xff\xff\xff", "memo key 4294967295")] // CPython reads it unsigned, Razorvine signed
    public void MemoKeysUnpicklersReadDifferently_AreRefused(string put, string expected)
    {
        // Review regression: with "p 1" the scan and the real unpickler kept different memo cells, which let
        // a pickle name builtins.print while the scan saw collections.OrderedDict.
        var pickle = new List<byte> { 0x80, 0x02, (byte)']' };
        pickle.AddRange(put.Select(c => (byte)c));
        pickle.Add((byte)'.');

        var e = Refused(Write("memo.pth", Zip([.. pickle])));

        Assert.That(e.Message, Does.Contain(expected));
    }

    [Test]
    public void SetItemsWithAnOddNumberOfItems_IsRefused()
    {
        // Review regression: Razorvine pops the MARK as a key and carries on below it; the scan stopped at it.
        var e = Refused(Write("odd.pth", Zip([0x80, 0x02, (byte)'}', (byte)'(', (byte)'K', 1, (byte)'u', (byte)'.'])));

        Assert.That(e.Message, Does.Contain("odd number of items"));
    }

    [Test]
    public void CallOfSomethingThatIsNotAGlobal_IsRefused()
    {
        var e = Refused(Write("call.pth", Zip([0x80, 0x02, (byte)')', (byte)')', (byte)'R', (byte)'.'])));

        Assert.That(e.Message, Does.Contain("calls a value that is not a global"));
    }

    [Test]
    public void ShapeOfMoreThan64Sizes_IsRefused()
    {
        // Review regression: a memoised shape of 200,000 zeros rebuilt 400 times cost 6 s and 1.6 GB to check.
        var e = Refused(Write("rank.pth", Zip(TensorPickle(("w", Enumerable.Repeat(1, 65).ToArray(), 0)), [1f, 2f, 3f, 4f])));

        Assert.That(e.Message, Does.Contain($"not a tuple of at most {PickleScanner.MaxRank} integers"));
    }

    [Test]
    public void PickleBuildingMillionsOfValues_IsRefusedWithinItsBudget()
    {
        var pickle = new byte[2 + PickleScanner.MaxValues + 2];
        pickle[0] = 0x80;
        pickle[1] = 0x02;
        pickle.AsSpan(2, PickleScanner.MaxValues + 1).Fill((byte)'N');
        pickle[^1] = (byte)'.';

        var e = Refused(Write("values.pth", Zip(pickle)));

        Assert.That(e.Message, Does.Contain($"more than {PickleScanner.MaxValues:N0} values"));
    }

    [Test]
    public void SafetensorsHeaderLongerThanTheFile_IsRefusedBeforeAllocating()
    {
        // Regression: a 10-byte file whose header length says 2³¹ let OutOfMemoryException escape.
        var e = Refused(Write("bomb.safetensors", [0, 0, 0, 128, 0, 0, 0, 0, (byte)'{', (byte)'}']));

        Assert.That(e.Message, Does.Contain("not a PyTorch checkpoint"), "a length the file cannot hold does not even look like safetensors");
        long before = GC.GetTotalAllocatedBytes(precise: true);
        var again = Refused(Write("bomb2.safetensors", [.. BitConverter.GetBytes(1L << 40), (byte)'{', (byte)'}']));
        Assert.That(GC.GetTotalAllocatedBytes(precise: true) - before, Is.LessThan(1 << 20), "bounded: well under 1 MB allocated");
        Assert.That(again.Message, Does.StartWith(Path.Combine(_dir.Path, "bomb2.safetensors")));
    }

    [Test]
    public void SafetensorsTensorLargerThanItsBytes_IsRefusedBeforeAllocating()
    {
        // A 1e10-element float tensor declared over 8 bytes of data.
        string header = "{\"w\":{\"dtype\":\"F32\",\"shape\":[100000,100000],\"data_offsets\":[0,8]}}";
        var bytes = BitConverter.GetBytes((long)header.Length).Concat(Encoding.ASCII.GetBytes(header)).Concat(new byte[8]).ToArray();

        var e = Refused(Write("shape.safetensors", bytes));

        Assert.That(e.Message, Does.Contain("entry 'w' of shape [100000,100000] and dtype F32 does not fill its 8 bytes"));
    }

    [Test]
    public void SafetensorsOffsetsBeyondTheData_AreRefused()
    {
        string header = "{\"w\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]}}";
        var bytes = BitConverter.GetBytes((long)header.Length).Concat(Encoding.ASCII.GetBytes(header)).Concat(new byte[8]).ToArray();

        var e = Refused(Write("offsets.safetensors", bytes));

        Assert.That(e.Message, Does.Contain("spans bytes [0, 16) of a data section of 8 bytes"));
    }

    [Test]
    public void TruncatedTorchSharpWeights_AreInvalidDataNamingTheFile()
    {
        // Regression: LoadTorchSharp let a raw EndOfStreamException out.
        string path = Path.Combine(_dir.Path, "weights.dat");
        using (var model = new SmallCnn(1, 8))
        {
            Checkpoint.Save(model, path);
        }

        byte[] bytes = File.ReadAllBytes(path);
        File.WriteAllBytes(path, bytes[..(bytes.Length / 2)]);
        using var other = new SmallCnn(1, 8);

        var e = Assert.Throws<InvalidDataException>(() => Checkpoint.LoadTorchSharp(other, path));

        Assert.That(e!.Message, Does.StartWith(path).And.Contain("not complete TorchSharp weights"));
    }

    [Test]
    public void TorchSharpWeightsWithAForgedRank_AreRefusedBeforeAllocating_AndTheModelIsUnchanged()
    {
        // Regression (fuzzing): TorchSharp's reader allocates long[rank] for whatever rank the file declares;
        // a rank of 2²⁸ cost 2 GB before the read failed.
        string path = Path.Combine(_dir.Path, "weights.dat");
        using (var saved = new SmallCnn(1, 8))
        {
            Checkpoint.Save(saved, path);
        }

        File.WriteAllBytes(path, ForgeFirstRank(File.ReadAllBytes(path), "features.0.conv.weight"));
        using var model = new SmallCnn(1, 8);
        var before = model.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value.clone());
        long allocated = GC.GetTotalAllocatedBytes(precise: true);

        var e = Assert.Throws<InvalidDataException>(() => Checkpoint.LoadTorchSharp(model, path))!;

        Assert.That(GC.GetTotalAllocatedBytes(precise: true) - allocated, Is.LessThan(1 << 20), "bounded: well under 1 MB allocated");
        Assert.That(e.Message, Does.StartWith(path).And.Contain("declares 268435456 dimensions; at most 16 are read"));
        Assert.That(model.state_dict().All(kv => kv.Value.equal(before[kv.Key]).all().item<bool>()), Is.True, "a rejected file changes nothing");
    }

    [Test]
    public void TorchSharpWeightsWithALaterTensorCut_LeaveTheModelUnchanged()
    {
        // All or nothing: every tensor is checked before the first is copied.
        string path = Path.Combine(_dir.Path, "weights.dat");
        using (var saved = new SmallCnn(1, 8))
        {
            Checkpoint.Save(saved, path);
        }

        byte[] bytes = File.ReadAllBytes(path);
        File.WriteAllBytes(path, bytes[..(bytes.Length - 3)]);
        TorchSharp.torch.random.manual_seed(99);
        using var model = new SmallCnn(1, 8);
        var before = model.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value.clone());

        Assert.Throws<InvalidDataException>(() => Checkpoint.LoadTorchSharp(model, path));

        Assert.That(model.state_dict().All(kv => kv.Value.equal(before[kv.Key]).all().item<bool>()), Is.True);
    }

    [Test]
    public void SafetensorsHeaderThatIsNotUtf8_IsInvalidData()
    {
        // Regression (fuzzing): an invalid UTF-8 byte in a name let InvalidOperationException out.
        var header = Encoding.ASCII.GetBytes("{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}");
        header[2] = 0xff;
        var bytes = BitConverter.GetBytes((long)header.Length).Concat(header).Concat(new byte[4]).ToArray();

        var e = Refused(Write("utf8.safetensors", bytes));

        Assert.That(e.Message, Does.Contain("the safetensors header is not valid UTF-8 JSON"));
    }

    /// <summary>A safetensors file: the header (JSON as written, escapes and all) and <paramref name="dataBytes"/> zero bytes of data.</summary>
    private static byte[] Safetensors(string header, int dataBytes) =>
        [.. BitConverter.GetBytes((long)Encoding.UTF8.GetByteCount(header)), .. Encoding.UTF8.GetBytes(header), .. new byte[dataBytes]];

    [TestCase("{\"a\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]},\"b\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[8,24]}}", "'a' [0, 16) and 'b' [8, 24) overlap")]
    [TestCase("{\"inner\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8,16]},\"outer\":{\"dtype\":\"F32\",\"shape\":[6],\"data_offsets\":[0,24]}}", "'outer' [0, 24) and 'inner' [8, 16) overlap")]
    [TestCase("{\"w\":{\"dtype\":\"F32\",\"shape\":[6],\"data_offsets\":[0,24]},\"tied\":{\"dtype\":\"I32\",\"shape\":[6],\"data_offsets\":[0,24]}}", "'w' [0, 24) and 'tied' [0, 24) overlap")]
    public void SafetensorsTensorsOverTheSameBytes_AreRefusedNamingBoth(string header, string expected)
    {
        // Regression: accepted, each tensor read from the shared bytes. The reference implementation refuses it: every
        // byte range has one owner (huggingface/safetensors#586).
        string path = Write("overlap.safetensors", Safetensors(header, 24));

        var e = Assert.Throws<InvalidDataException>(() => Checkpoint.ReadStateDict(path))!;

        Assert.That(e.Message, Does.StartWith(path + ": safetensors entries ").And.Contain(expected).And.Contain("each tensor must own its bytes"));
    }

    [TestCase("{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", "'w'")]
    [TestCase("{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},\"\\u0077\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", "'w'")]
    [TestCase("{\"__metadata__\":{\"a\":\"1\"},\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},\"__metadata__\":{\"a\":\"2\"}}", "'__metadata__'")]
    public void SafetensorsHeaderNamingAKeyTwice_IsRefusedNamingIt(string header, string expected)
    {
        // Regression: accepted, one of the two silently dropped. JSON parsers keep the first or the last; the reference
        // implementation refuses the file (huggingface/safetensors#401).
        string path = Write("twice.safetensors", Safetensors(header, 8));

        var e = Assert.Throws<InvalidDataException>(() => Checkpoint.ReadStateDict(path))!;

        Assert.That(e.Message, Is.EqualTo($"{path}: the safetensors header names {expected} twice; each key must appear once."));
    }

    [Test]
    public void SafetensorsOfAdjacentAndEmptyTensors_IsRead()
    {
        string header = "{\"a\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]},\"empty\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[16,16]},\"b\":{\"dtype\":\"F32\",\"shape\":[2,2],\"data_offsets\":[16,32]}}";
        string path = Write("adjacent.safetensors", Safetensors(header, 32));

        var state = Checkpoint.ReadStateDict(path);

        Assert.That(state.ToDictionary(kv => kv.Key, kv => kv.Value.numel()), Is.EquivalentTo(new Dictionary<string, long> { ["a"] = 4, ["empty"] = 0, ["b"] = 4 }));
        foreach (var tensor in state.Values)
        {
            tensor.Dispose();
        }
    }

    // A key as a file can hold it: an ANSI escape (red text) and a newline, JSON-escaped in the header.
    private const string EvilKeyJson = "\\u001b[31mfeatures.0.conv.weight\\n";
    private const string EvilKeyPrinted = "?[31mfeatures.0.conv.weight?";

    [Test]
    public void KeyWithControlCharacters_IsNamedPrintably_InTheMismatchAndTheReport()
    {
        // Regression: a checkpoint's keys were put into messages as they were, so an escape reached the terminal.
        string path = Write("evil.safetensors", Safetensors($"{{\"{EvilKeyJson}\":{{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}}}", 4));
        using var model = new SmallCnn(1, 8);

        var strict = Assert.Throws<CheckpointMismatchException>(() => Checkpoint.Load(model, path))!;
        var report = Checkpoint.Load(model, path, strict: false);

        Assert.That(strict.Message, Does.Contain("1 unexpected key(s): " + EvilKeyPrinted));
        Assert.That(strict.Message.Any(char.IsControl), Is.False, strict.Message);
        Assert.That(report.ToString().Any(char.IsControl), Is.False);
        Assert.That(report.Unexpected.Single(), Is.EqualTo("\u001b[31mfeatures.0.conv.weight\n"), "the report keeps the key as it is");
    }

    [Test]
    public void KeysWithControlCharactersMappingToOneName_AreNamedPrintably()
    {
        string entry = "{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}";
        string other = "{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}";
        string path = Write("twins.safetensors", Safetensors($"{{\"module.{EvilKeyJson}\":{entry},\"{EvilKeyJson}\":{other}}}", 8));
        using var model = new SmallCnn(1, 8);

        var e = Assert.Throws<InvalidDataException>(() => Checkpoint.Load(model, path))!;

        Assert.That(e.Message, Does.Contain($"keys map to the same name '{EvilKeyPrinted}'"));
        Assert.That(e.Message.Any(char.IsControl), Is.False, e.Message);
    }

    [Test]
    public void PickleWithoutTensors_NamesItsTopLevelKeysPrintably()
    {
        // {"\x1b[31mkey\n": 1}: a dict of no tensors, whose keys the message lists.
        byte[] key = Encoding.UTF8.GetBytes("\u001b[31mkey\n");
        byte[] pickle = [0x80, 0x02, (byte)'}', (byte)'X', .. BitConverter.GetBytes(key.Length), .. key, (byte)'K', 1, (byte)'s', (byte)'.'];

        var e = Refused(Write("keys.pth", Zip(pickle)));

        Assert.That(e.Message, Does.Contain("top-level keys: ?[31mkey?"));
        Assert.That(e.Message.Any(char.IsControl), Is.False, e.Message);
    }

    [Test]
    public void PickledTensorOnAStorageWithControlCharacters_IsNamedPrintably()
    {
        var e = Refused(Write("storage.pth", Zip(TensorPickle(("w", Enumerable.Repeat(1, 65).ToArray(), "\u001b[31m0\n")), [1f])));

        Assert.That(e.Message, Does.Contain("a tensor on storage '?[31m0?' declares a shape"));
        Assert.That(e.Message.Any(char.IsControl), Is.False, e.Message);
    }

    /// <summary>Replaces the one-byte rank of the tensor stored after <paramref name="name"/> by the five-byte LEB128 of 2²⁸.</summary>
    internal static byte[] ForgeFirstRank(byte[] file, string name)
    {
        var pattern = Encoding.UTF8.GetBytes(name);
        int at = file.AsSpan().IndexOf(pattern);
        Assert.That(at, Is.GreaterThan(0), $"'{name}' is in the file");
        int rank = at + pattern.Length + 1; // after the name: the dtype byte, then the rank
        return [.. file[..rank], 0x80, 0x80, 0x80, 0x80, 0x01, .. file[(rank + 1)..]];
    }

    [Test]
    public void PyTorchCheckpointGivenToLoadTorchSharp_PointsToLoad()
    {
        using var model = new SmallCnn(1, 8);
        string path = Write("zip.pth", Zip([0x80, 0x02, (byte)'}', (byte)'.']));

        var e = Assert.Throws<InvalidDataException>(() => Checkpoint.LoadTorchSharp(model, path));

        Assert.That(e!.Message, Does.Contain("a PyTorch checkpoint, not TorchSharp weights; load it with Checkpoint.Load"));
    }

    [Test]
    public void TorchSharpWeightsOfEveryKind_AreRecognisedAndLoad()
    {
        // The content sniffing must accept what Checkpoint.Save writes, and the shipped sample model.
        string data = RepositoryPaths.SampleData;
        foreach (var (model, file) in new (TorchSharp.torch.nn.Module, string)[]
        {
            (new SmallCnn(1, 256), Path.Combine(data, "pretrained", "smallcnn256-moco-fashion0to4.backbone.dat")),
            (new ResNet(ResNetDepth.ResNet18, ResNetStem.SmallImage, 3, 8), Path.Combine(_dir.Path, "resnet.dat")),
            (new ProjectionHead(16, 16, 8, batchNorm: true), Path.Combine(_dir.Path, "head.dat")),
        })
        {
            using (model)
            {
                if (!File.Exists(file))
                {
                    Checkpoint.Save(model, file);
                }

                Assert.DoesNotThrow(() => Checkpoint.LoadTorchSharp(model, file), file);
            }
        }
    }

    private static byte[] ShortUnicode(string text)
    {
        var bytes = Encoding.UTF8.GetBytes(text);
        return [0x8c, (byte)bytes.Length, .. bytes];
    }

    /// <summary>
    /// A protocol-2 pickle of a dict of tensors as torch.save writes it: for each (name, shape, storage key),
    /// <c>name: torch._utils._rebuild_tensor_v2(persistent ('storage', torch.FloatStorage, key, 'cpu', numel),
    /// 0, shape, contiguous stride, False, OrderedDict())</c>.
    /// </summary>
    private static byte[] TensorPickle(params (string Name, int[] Shape, object Storage)[] tensors)
    {
        var p = new List<byte> { 0x80, 0x02, (byte)'}' };
        void Unicode(string text)
        {
            var bytes = Encoding.UTF8.GetBytes(text);
            p.Add((byte)'X');
            p.AddRange(BitConverter.GetBytes(bytes.Length));
            p.AddRange(bytes);
        }

        void Int(int value)
        {
            p.Add((byte)'J');
            p.AddRange(BitConverter.GetBytes(value));
        }

        void Tuple(IEnumerable<int> values)
        {
            p.Add((byte)'(');
            foreach (int v in values)
            {
                Int(v);
            }

            p.Add((byte)'t');
        }

        foreach (var (name, shape, storage) in tensors)
        {
            Unicode(name);
            p.AddRange(Encoding.ASCII.GetBytes("ctorch._utils\n_rebuild_tensor_v2\n("));
            p.Add((byte)'(');
            Unicode("storage");
            p.AddRange(Encoding.ASCII.GetBytes("ctorch\nFloatStorage\n"));
            Unicode(Convert.ToString(storage, System.Globalization.CultureInfo.InvariantCulture)!);
            Unicode("cpu");
            Int(4);
            p.AddRange([(byte)'t', (byte)'Q']);
            Int(0);
            Tuple(shape);
            Tuple(shape.Select((_, i) => shape.Skip(i + 1).Aggregate(1, (a, b) => a * b)));
            p.Add(0x89);
            p.AddRange(Encoding.ASCII.GetBytes("ccollections\nOrderedDict\n)R"));
            p.AddRange([(byte)'t', (byte)'R', (byte)'s']);
        }

        p.Add((byte)'.');
        return [.. p];
    }

    /// <summary>A torch.save-style zip: archive/data.pkl, archive/version and, when given, the storage archive/data/0.</summary>
    private static byte[] Zip(byte[] pickle, float[]? storage = null)
    {
        using var buffer = new MemoryStream();
        using (var archive = new ZipArchive(buffer, ZipArchiveMode.Create, leaveOpen: true))
        {
            using (var stream = archive.CreateEntry("archive/data.pkl", CompressionLevel.NoCompression).Open())
            {
                stream.Write(pickle);
            }

            if (storage is not null)
            {
                using var data = archive.CreateEntry("archive/data/0", CompressionLevel.NoCompression).Open();
                data.Write(System.Runtime.InteropServices.MemoryMarshal.AsBytes(storage.AsSpan()));
            }

            using var version = archive.CreateEntry("archive/version").Open();
            version.Write("3\n"u8);
        }

        return buffer.ToArray();
    }
}
