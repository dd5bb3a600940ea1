using System.IO.Compression;
using System.Text;
using UnsupervisedFinetuning.Backbones;

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
    public void TorchSharpWeights_PointToLoadTorchSharp()
    {
        // Regression: the shipped TorchSharp-format .dat was reported as an old PyTorch file to re-save.
        string path = Path.Combine(_dir.Path, "weights.dat");
        using (var model = new SmallCnn(1, 8))
        {
            Checkpoint.Save(model, path);
        }

        var e = Refused(path);

        Assert.That(e.Message, Does.Contain("a TorchSharp weights file").And.Contain("Checkpoint.LoadTorchSharp"));
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
        string data = SampleData();
        foreach (var (model, file) in new (TorchSharp.torch.nn.Module, string)[]
        {
            (new SmallCnn(1, 256), Path.Combine(data, "pretrained", "smallcnn256-moco-fashion0to4.backbone.dat")),
            (new ResNet(ResNetDepth.ResNet18, ResNetStem.SmallImage, 3, 8), Path.Combine(_dir.Path, "resnet.dat")),
            (new UnsupervisedFinetuning.Objectives.ProjectionHead(16, 16, 8, batchNorm: true), Path.Combine(_dir.Path, "head.dat")),
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

    private static string SampleData()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            string candidate = Path.Combine(dir.FullName, "samples", "data");
            if (Directory.Exists(candidate))
            {
                return candidate;
            }
        }

        throw new DirectoryNotFoundException("samples/data not found above the test binaries.");
    }

    private static byte[] ShortUnicode(string text)
    {
        var bytes = Encoding.UTF8.GetBytes(text);
        return [0x8c, (byte)bytes.Length, .. bytes];
    }

    /// <summary>A torch.save-style zip: archive/data.pkl and archive/version.</summary>
    private static byte[] Zip(byte[] pickle)
    {
        using var buffer = new MemoryStream();
        using (var archive = new ZipArchive(buffer, ZipArchiveMode.Create, leaveOpen: true))
        {
            using (var stream = archive.CreateEntry("archive/data.pkl", CompressionLevel.NoCompression).Open())
            {
                stream.Write(pickle);
            }

            using var version = archive.CreateEntry("archive/version").Open();
            version.Write("3\n"u8);
        }

        return buffer.ToArray();
    }
}
