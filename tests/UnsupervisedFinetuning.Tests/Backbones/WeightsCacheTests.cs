using System.Net;
using System.Security.Cryptography;
using UnsupervisedFinetuning.Backbones;

namespace UnsupervisedFinetuning.Tests.Backbones;

/// <summary>
/// <see cref="WeightsCache"/> against a real HTTP server on the loopback interface: a download is checked before it is
/// moved into place, resumes with a Range request, refuses truncated, oversized and wrong files (leaving no final file),
/// names the status and URL of a server error, trusts a valid cached file without a request and replaces a corrupted one.
/// </summary>
[TestFixture]
public sealed class WeightsCacheTests
{
    private static readonly byte[] Fixture = MakeFixture(200_003);

    private TempDirectory _dir = null!;
    private LoopbackServer _server = null!;

    [SetUp]
    public void SetUp()
    {
        _dir = new TempDirectory();
        _server = new LoopbackServer(Fixture);
    }

    [TearDown]
    public void TearDown()
    {
        _server.Dispose();
        _dir.Dispose();
    }

    [Test]
    public async Task GetAsync_FreshDownload_WritesTheBytesVerifiedAndReportsProgressToTheSize()
    {
        using var cache = Cache();
        var entry = Entry(WeightsIntegrity.Sha256(Sha256(Fixture), "test"));
        var reports = new List<long>();

        string file = await cache.GetAsync(entry, new SynchronousProgress<long>(reports.Add));

        Assert.That(file, Is.EqualTo(Path.Combine(_dir.Path, "tiny-weights", "tiny.pth")));
        Assert.That(File.ReadAllBytes(file), Is.EqualTo(Fixture));
        Assert.That(reports[^1], Is.EqualTo(Fixture.Length));
        Assert.That(reports, Is.Ordered);
        Assert.That(_server.Requests, Is.EqualTo(new[] { "" }));
        Assert.That(File.Exists(file + ".partial"), Is.False);
    }

    [Test]
    public async Task GetAsync_Sha256PrefixAndMd5Prefix_AreAcceptedWhenTheFileStartsWithThem()
    {
        using var cache = Cache();
        string sha = await cache.GetAsync(Entry(WeightsIntegrity.Sha256(Sha256(Fixture)[..8], "test"), "by-sha"));
        string md5 = await cache.GetAsync(Entry(WeightsIntegrity.Md5(Convert.ToHexStringLower(MD5.HashData(Fixture))[..8], "test"), "by-md5"));

        Assert.That(File.ReadAllBytes(sha), Is.EqualTo(Fixture));
        Assert.That(File.ReadAllBytes(md5), Is.EqualTo(Fixture));
    }

    [Test]
    public async Task GetAsync_PartialFileOfTheFirstHalf_ResumesWithOneRangedRequest()
    {
        using var cache = Cache();
        var entry = Entry(WeightsIntegrity.Sha256(Sha256(Fixture), "test"));
        string file = cache.PathOf(entry);
        int half = Fixture.Length / 2;
        Directory.CreateDirectory(Path.GetDirectoryName(file)!);
        File.WriteAllBytes(file + ".partial", Fixture[..half]);
        var reports = new List<long>();

        await cache.GetAsync(entry, new SynchronousProgress<long>(reports.Add));

        Assert.That(_server.Requests, Is.EqualTo(new[] { $"bytes={half}-" }));
        Assert.That(File.ReadAllBytes(file), Is.EqualTo(Fixture));
        Assert.That(reports[0], Is.EqualTo(half));
        Assert.That(reports[^1], Is.EqualTo(Fixture.Length));
    }

    [Test]
    public async Task GetAsync_ServerIgnoresRange_StartsOverAndStillGetsTheRightFile()
    {
        _server.HonourRange = false;
        using var cache = Cache();
        var entry = Entry(WeightsIntegrity.Sha256(Sha256(Fixture), "test"));
        string file = cache.PathOf(entry);
        Directory.CreateDirectory(Path.GetDirectoryName(file)!);
        File.WriteAllBytes(file + ".partial", Fixture[..1000]);

        await cache.GetAsync(entry);

        Assert.That(File.ReadAllBytes(file), Is.EqualTo(Fixture));
        Assert.That(_server.Requests, Has.Count.EqualTo(1));
    }

    [Test]
    public void GetAsync_ServerClosesEarly_ThrowsNamingBothSizesAndLeavesNoFinalFile()
    {
        _server.CloseAfter = 50_000;
        using var cache = Cache();
        var entry = Entry(WeightsIntegrity.Sha256(Sha256(Fixture), "test"));
        string file = cache.PathOf(entry);

        var e = Assert.ThrowsAsync<WeightsDownloadException>(() => cache.GetAsync(entry));

        Assert.That(e!, Is.Not.InstanceOf<WeightsVerificationException>());
        Assert.That(e.Message, Does.Contain($"expected {Fixture.Length} bytes, got "));
        Assert.That(e.Message, Does.Contain(entry.Url.ToString()));
        Assert.That(e.File, Is.EqualTo(file));
        Assert.That(File.Exists(file), Is.False);
        Assert.That(new FileInfo(file + ".partial").Length, Is.LessThanOrEqualTo(50_000), "the partial download is kept to resume");
    }

    [Test]
    public async Task GetAsync_AfterATruncatedTransfer_ResumesToTheRightFile()
    {
        _server.CloseAfter = 50_000;
        using var cache = Cache();
        var entry = Entry(WeightsIntegrity.Sha256(Sha256(Fixture), "test"));
        Assert.ThrowsAsync<WeightsDownloadException>(() => cache.GetAsync(entry));
        long kept = new FileInfo(cache.PathOf(entry) + ".partial").Length;

        _server.CloseAfter = null;
        string file = await cache.GetAsync(entry);

        Assert.That(File.ReadAllBytes(file), Is.EqualTo(Fixture));
        Assert.That(_server.Requests.Last(), Is.EqualTo(kept > 0 ? $"bytes={kept}-" : ""));
    }

    [Test]
    public void GetAsync_WrongHash_ThrowsNamingBothHashesAndLeavesNothing()
    {
        string wrong = Sha256([1, 2, 3]);
        using var cache = Cache();
        var entry = Entry(WeightsIntegrity.Sha256(wrong, "test"));
        string file = cache.PathOf(entry);

        var e = Assert.ThrowsAsync<WeightsVerificationException>(() => cache.GetAsync(entry));

        Assert.That(e!.Message, Does.Contain(wrong));
        Assert.That(e.Message, Does.Contain(Sha256(Fixture)));
        Assert.That(e.Expected, Is.EqualTo($"SHA-256 {wrong}"));
        Assert.That(e.Actual, Is.EqualTo($"SHA-256 {Sha256(Fixture)}"));
        Assert.That(File.Exists(file), Is.False);
        Assert.That(File.Exists(file + ".partial"), Is.False, "a retry starts clean");
    }

    [Test]
    public void GetAsync_AnnouncedSizeDiffersFromThePublishedOne_RefusesBeforeWriting()
    {
        using var cache = Cache();
        var entry = Entry(WeightsIntegrity.Size(Fixture.Length + 1, "test"));

        var e = Assert.ThrowsAsync<WeightsVerificationException>(() => cache.GetAsync(entry));

        Assert.That(e!.Expected, Is.EqualTo($"{Fixture.Length + 1} bytes"));
        Assert.That(e.Actual, Does.StartWith($"{Fixture.Length} bytes"));
        Assert.That(File.Exists(cache.PathOf(entry)), Is.False);
        Assert.That(File.Exists(cache.PathOf(entry) + ".partial"), Is.False);
    }

    [Test]
    public void GetAsync_ResponseLargerThanTheLimit_IsRefusedAndNothingKept()
    {
        using var cache = Cache(maxBytes: 1000);
        var entry = Entry(WeightsIntegrity.Unpublished("test"));

        var e = Assert.ThrowsAsync<WeightsDownloadException>(() => cache.GetAsync(entry));

        Assert.That(e!.Message, Does.Contain($"announces {Fixture.Length} bytes, more than the limit of 1000 bytes"));
        Assert.That(File.Exists(cache.PathOf(entry)), Is.False);
        Assert.That(File.Exists(cache.PathOf(entry) + ".partial"), Is.False);
    }

    [TestCase(HttpStatusCode.InternalServerError)]
    [TestCase(HttpStatusCode.NotFound)]
    public void GetAsync_ServerError_ThrowsNamingTheStatusAndUrl(HttpStatusCode status)
    {
        _server.Status = status;
        using var cache = Cache();
        var entry = Entry(WeightsIntegrity.Unpublished("test"));

        var e = Assert.ThrowsAsync<WeightsDownloadException>(() => cache.GetAsync(entry));

        Assert.That(e!.StatusCode, Is.EqualTo(status));
        Assert.That(e.Message, Does.Contain($"answered {(int)status} "));
        Assert.That(e.Message, Does.Contain(entry.Url.ToString()));
        Assert.That(e.Url, Is.EqualTo(entry.Url));
        Assert.That(File.Exists(cache.PathOf(entry)), Is.False);
    }

    [Test]
    public async Task GetAsync_ValidCachedFile_MakesNoRequest()
    {
        using var cache = Cache();
        var entry = Entry(WeightsIntegrity.Sha256(Sha256(Fixture), "test"));
        string file = cache.PathOf(entry);
        Directory.CreateDirectory(Path.GetDirectoryName(file)!);
        File.WriteAllBytes(file, Fixture);

        string got = await cache.GetAsync(entry);

        Assert.That(got, Is.EqualTo(file));
        Assert.That(_server.Requests, Is.Empty);
    }

    [Test]
    public async Task GetAsync_CorruptedCachedFile_IsDownloadedAgain()
    {
        using var cache = Cache();
        var entry = Entry(WeightsIntegrity.Sha256(Sha256(Fixture), "test"));
        string file = cache.PathOf(entry);
        Directory.CreateDirectory(Path.GetDirectoryName(file)!);
        byte[] corrupted = (byte[])Fixture.Clone();
        corrupted[12345] ^= 0xFF;
        File.WriteAllBytes(file, corrupted);

        await cache.GetAsync(entry);

        Assert.That(File.ReadAllBytes(file), Is.EqualTo(Fixture));
        Assert.That(_server.Requests, Is.EqualTo(new[] { "" }));
    }

    [Test]
    public async Task GetAsync_TwoCachesOnOneFolderAtOnce_DownloadOnceAndAgree()
    {
        using var first = Cache();
        using var second = Cache();
        var entry = Entry(WeightsIntegrity.Sha256(Sha256(Fixture), "test"));

        string[] files = await Task.WhenAll(Task.Run(() => first.GetAsync(entry)), Task.Run(() => second.GetAsync(entry)));

        Assert.That(files[0], Is.EqualTo(files[1]));
        Assert.That(File.ReadAllBytes(files[0]), Is.EqualTo(Fixture));
        Assert.That(_server.Requests, Has.Count.EqualTo(1), "the second waited on the lock, then found the file");
    }

    [Test]
    public void GetAsync_Cancelled_ThrowsAndLeavesNoFinalFile()
    {
        using var cache = Cache();
        var entry = Entry(WeightsIntegrity.Unpublished("test"));
        using var cts = new CancellationTokenSource();
        cts.Cancel();

        Assert.CatchAsync<OperationCanceledException>(() => cache.GetAsync(entry, cancellationToken: cts.Token));
        Assert.That(File.Exists(cache.PathOf(entry)), Is.False);
    }

    [Test]
    public void DefaultDirectory_UftCacheSet_IsThatFolder()
    {
        string? before = Environment.GetEnvironmentVariable("UFT_CACHE");
        try
        {
            Environment.SetEnvironmentVariable("UFT_CACHE", _dir.Path);
            Assert.That(WeightsCache.DefaultDirectory, Is.EqualTo(_dir.Path));
            Environment.SetEnvironmentVariable("UFT_CACHE", null);
            Assert.That(WeightsCache.DefaultDirectory, Does.EndWith(Path.Combine("unsupervised-finetuning", "weights")));
        }
        finally
        {
            Environment.SetEnvironmentVariable("UFT_CACHE", before);
        }
    }

    private static byte[] MakeFixture(int length)
    {
        var bytes = new byte[length];
        new Random(29).NextBytes(bytes);
        return bytes;
    }

    private static string Sha256(byte[] bytes) => Convert.ToHexStringLower(SHA256.HashData(bytes));

    private WeightsCache Cache(long maxBytes = WeightsCacheOptions.DefaultMaxBytes) =>
        new(new WeightsCacheOptions { Directory = _dir.Path, MaxBytes = maxBytes, StallTimeout = TimeSpan.FromSeconds(20) });

    private PublishedWeightsEntry Entry(WeightsIntegrity integrity, string name = "tiny-weights") =>
        new(name, "A small fixture.", _server.Url("tiny.pth"), "tiny.pth", "resnet18", integrity, InputDescription.ImageNet(224));
}
