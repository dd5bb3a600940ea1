using System.Diagnostics;
using Microsoft.Extensions.Logging;
using SkiaSharp;
using UnsupervisedFinetuning.Data;

namespace UnsupervisedFinetuning.Tests.Data;

/// <summary>
/// What a folder or a manifest can hold besides images: symbolic link loops, FIFOs, dangling links, names .NET cannot
/// decode. Each must end quickly in the documented exception (or a skip), never in a hang or unbounded memory.
/// </summary>
[Platform("Linux", Reason = "symbolic links, mkfifo and non-UTF-8 names as a Linux file system has them")]
public sealed class SpecialFilesTests
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(10);
    private TempDirectory _dir = null!;

    [SetUp]
    public void SetUp() => _dir = new TempDirectory();

    [TearDown]
    public void TearDown() => _dir.Dispose();

    private static ImageFolderOptions Small(bool skip = false) => new() { Height = 4, Width = 4, SkipUnreadable = skip };

    private string Image(string relative)
    {
        string path = _dir.File(relative);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        return TestImageFiles.Write(path, 4, 4, SKEncodedImageFormat.Png, (x, y) => TestImageFiles.Pattern(x, y, relative.Length));
    }

    private static void Run(string command, string workingDirectory)
    {
        using var process = Process.Start(new ProcessStartInfo("/bin/sh", ["-c", command]) { WorkingDirectory = workingDirectory })!;
        process.WaitForExit();
        Assert.That(process.ExitCode, Is.Zero, command);
    }

    /// <summary>Runs <paramref name="action"/> on another thread and fails (instead of hanging the suite) if it takes longer than the bound.</summary>
    private static T Within<T>(Func<T> action, Action? unblock = null)
    {
        var task = Task.Run(action);
        if (!task.Wait(Bound))
        {
            unblock?.Invoke();
            Assert.Fail($"did not finish within {Bound.TotalSeconds} s");
        }

        return task.Result;
    }

    private static Exception? Thrown(Action action)
    {
        try
        {
            action();
            return null;
        }
        catch (Exception e)
        {
            return e;
        }
    }

    [Test]
    public void Index_TwoLinksToTheFolderItself_ListsEachImageOnceAndEnds()
    {
        Image("d/one.png");
        Image("d/two.png");
        Image("d/sub/three.png");
        Run("ln -s . d/a && ln -s . d/b && ln -s .. d/sub/up", _dir.Path);
        var logger = new ListLogger();

        var dataset = Within(() => ImageFolder.Index(_dir.File("d"), Small(), logger));

        Assert.That(dataset.Files.Select(Path.GetFileName), Is.EqualTo(new[] { "one.png", "three.png", "two.png" }));
        Assert.That(logger.Entries.Count(e => e.Level == LogLevel.Warning && e.Message.Contains("reached again through a symbolic link", StringComparison.Ordinal)), Is.EqualTo(3));
    }

    [Test]
    public void Index_ASecondLinkToASubfolder_ListsItsImagesOnce_AndALinkedFolderOutsideIsFollowed()
    {
        Image("d/real/one.png");
        Image("elsewhere/two.png");
        Run("ln -s real d/again && ln -s ../elsewhere d/linked", _dir.Path);

        var dataset = Within(() => ImageFolder.Index(_dir.File("d"), Small()));

        Assert.That(dataset.Files.Select(Path.GetFileName), Is.EqualTo(new[] { "two.png", "one.png" }).AsCollection.Or.EquivalentTo(new[] { "one.png", "two.png" }));
        Assert.That(dataset.Count, Is.EqualTo(2));
    }

    [Test]
    public void IndexLabeled_LoopsInsideAClass_EndAndAClassThatLinksToAnother_IsRefused()
    {
        Image("root/cat/a.png");
        Image("root/dog/b.png");
        Run("ln -s . root/cat/loop && ln -s .. root/dog/up", _dir.Path);

        var labelled = Within(() => ImageFolder.IndexLabeled(_dir.File("root"), Small()));
        Assert.That(labelled.Count, Is.EqualTo(2));

        Run("ln -s cat root/zebra", _dir.Path);
        var e = Within(() => Thrown(() => ImageFolder.IndexLabeled(_dir.File("root"), Small())));
        Assert.That(e, Is.TypeOf<InvalidDataException>());
        Assert.That(e!.Message, Does.StartWith(_dir.File("root/zebra") + ": is a symbolic link to the root or to another class folder"));
    }

    [Test]
    public void Index_AFifoNamedLikeAnImage_IsRefusedNamingIt_OrSkipped_WithoutBlocking()
    {
        Image("d/good.png");
        Run("mkfifo d/x.png", _dir.Path);
        string fifo = _dir.File("d/x.png");
        void Unblock() => File.WriteAllText(fifo, string.Empty); // a writer releases an open() stuck on the FIFO

        var e = Within(() => Thrown(() => ImageFolder.Index(_dir.File("d"), Small())), Unblock);
        Assert.That(e, Is.TypeOf<InvalidDataException>());
        Assert.That(e!.Message, Is.EqualTo($"{fifo}: is not a regular file (a FIFO, socket or device); only regular files are read as images."));

        var logger = new ListLogger();
        var skipped = Within(() => ImageFolder.Index(_dir.File("d"), Small(skip: true), logger), Unblock);
        Assert.That(skipped.Files, Is.EqualTo(new[] { _dir.File("d/good.png") }));
        Assert.That(logger.Entries, Has.One.Matches<(LogLevel Level, string Message)>(x => x.Message.Contains("x.png", StringComparison.Ordinal)));
    }

    [Test]
    public void Manifest_ListingAFifoOrADevice_IsRefusedNamingTheLine()
    {
        Run("mkfifo x.png", _dir.Path);
        string manifest = _dir.File("list.txt");
        File.WriteAllText(manifest, "x.png\n/dev/zero\n");

        var e = Within(() => Thrown(() => ImageManifest.Read(manifest, Small())), () => File.WriteAllText(_dir.File("x.png"), string.Empty));
        Assert.That(e, Is.TypeOf<InvalidDataException>());
        Assert.That(e!.Message, Does.StartWith($"{manifest}:1: {_dir.File("x.png")} is not a regular file"));

        File.WriteAllText(manifest, "/dev/zero\n");
        var device = Assert.Throws<InvalidDataException>(() => ImageManifest.Read(manifest, Small()));
        Assert.That(device!.Message, Does.StartWith($"{manifest}:1: /dev/zero is not a regular file"));
    }

    [Test]
    public void GetBatch_AFileReplacedByAFifoAfterIndexing_FailsNamingItWithoutBlocking()
    {
        string path = Image("d/later.png");
        var dataset = ImageFolder.Index(_dir.File("d"), Small());
        File.Delete(path);
        Run("mkfifo d/later.png", _dir.Path);

        var e = Within(() => Thrown(() => dataset.GetBatch([0]).Dispose()), () => File.WriteAllText(path, string.Empty));

        Assert.That(e, Is.TypeOf<InvalidDataException>());
        Assert.That(e!.Message, Does.Contain("later.png: is not a regular file"));
    }

    [Test]
    public void Index_ADanglingLink_IsNamedAsOne()
    {
        Image("d/good.png");
        Run("ln -s gone.png d/broken.png", _dir.Path);

        var e = Assert.Throws<InvalidDataException>(() => ImageFolder.Index(_dir.File("d"), Small()));

        Assert.That(e!.Message, Is.EqualTo($"{_dir.File("d/broken.png")}: is a symbolic link to gone.png, which does not exist."));
        var skipped = ImageFolder.Index(_dir.File("d"), Small(skip: true));
        Assert.That(skipped.Count, Is.EqualTo(1));
    }

    [Test]
    public void Index_AFileWhoseNameIsNotUtf8_IsNamedAsSuch()
    {
        Image("d/good.png");
        Run("cp d/good.png \"d/$(printf 'bad\\377name.png')\"", _dir.Path);

        try
        {
            var e = Assert.Throws<InvalidDataException>(() => ImageFolder.Index(_dir.File("d"), Small()));

            Assert.That(e!.Message, Does.Contain("has a name that is not valid UTF-8, which .NET cannot open; rename the file"));
            Assert.That(e.Message, Does.Not.Contain("\uFFFD"));
        }
        finally
        {
            Run("rm -f d/bad*", _dir.Path); // .NET cannot delete what it cannot name
        }
    }
}
