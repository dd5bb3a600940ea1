using System.Diagnostics;
using SkiaSharp;
using UnsupervisedFinetuning.Data;
using UnsupervisedFinetuning.Engine;
using UnsupervisedFinetuning.Replay;
using UnsupervisedFinetuning.Tests.Data;

namespace UnsupervisedFinetuning.Tests.Engine;

/// <summary>
/// A resume continues the run it claims to continue, or is refused: other images of the same count and shape, a
/// flipped byte in the checkpoint, and a second run on the same folder used to pass silently.
/// </summary>
public sealed class ResumeIntegrityTests
{
    private static FinetuneOptions Options(string directory, int steps = 4)
    {
        var options = EngineTestData.Options(steps);
        options.CheckpointDirectory = directory;
        return options;
    }

    [Test]
    public void Resume_FromACheckpointWithOneFlippedByteInItsWeights_IsRefusedByTheChecksum_AndChangesNothing()
    {
        using var dir = new TempDirectory();
        using var target = EngineTestData.Images(32, seed: 3);
        using (var model = EngineTestData.Model())
        {
            EngineTestData.Engine(Options(dir.Path)).Run(new FinetuneRequest { Backbone = model, Target = target });
        }

        string path = Path.Combine(dir.Path, EngineCheckpoint.FileName);
        byte[] bytes = File.ReadAllBytes(path);
        bytes[bytes.Length / 2] ^= 0x10; // inside a tensor's data: no structural check can see it
        File.WriteAllBytes(path, bytes);
        using var resumed = EngineTestData.Model(seed: 7);
        var before = EngineTestData.Snapshot(resumed);

        var e = Assert.Throws<InvalidDataException>(() => EngineTestData.Engine(Options(dir.Path, steps: 6)).Run(new FinetuneRequest { Backbone = resumed, Target = target, ResumeFrom = path }));

        Assert.That(e!.Message, Is.EqualTo($"{path}: the checkpoint's content does not match the SHA-256 it was written with: the file is truncated, or was changed or damaged after it was written. Resume from an intact copy, or start the run again."));
        Assert.That(EngineTestData.BitEqual(before, EngineTestData.Snapshot(resumed)), Is.True);
    }

    [Test]
    public void Resume_WithOtherTargetImagesOfTheSameCountAndShape_IsRefusedNamingTheTarget()
    {
        using var dir = new TempDirectory();
        using var target = EngineTestData.Images(32, seed: 3);
        using var other = EngineTestData.Images(32, seed: 4);
        using (var model = EngineTestData.Model())
        {
            EngineTestData.Engine(Options(dir.Path)).Run(new FinetuneRequest { Backbone = model, Target = target });
        }

        string path = Path.Combine(dir.Path, EngineCheckpoint.FileName);
        using var resumed = EngineTestData.Model();

        var e = Assert.Throws<InvalidDataException>(() => EngineTestData.Engine(Options(dir.Path, steps: 4)).Run(new FinetuneRequest { Backbone = resumed, Target = other, ResumeFrom = path }));

        Assert.That(e!.Message, Does.StartWith($"{path}: the target images differ from those the run was started with (same count and shape, other content"));
        Assert.That(EngineTestData.Engine(Options(dir.Path, steps: 4)).Run(new FinetuneRequest { Backbone = resumed, Target = target, ResumeFrom = path }).Steps, Is.EqualTo(4), "the same images resume");
    }

    [Test]
    public void Resume_WithASourceFileReplaced_IsRefused_AndWithTheSourceFolderMoved_Continues()
    {
        using var dir = new TempDirectory();
        using var data = new TempDirectory();
        for (int i = 0; i < 12; i++)
        {
            TestImageFiles.Write(data.File($"source/{i:D2}.png"), 16, 16, SKEncodedImageFormat.Png, (x, y) => TestImageFiles.Pattern(x, y, i));
        }

        var folder = new ImageFolderOptions { Height = 16, Width = 16, Color = ImageColorMode.Grayscale };
        using var target = EngineTestData.Images(32, seed: 3);
        var replay = new SparseSourceReplay(new SparseReplayOptions { Count = 4 });
        FinetuneEngine Engine() => EngineTestData.Engine(Options(dir.Path, steps: 4), replay: replay);
        using (var model = EngineTestData.Model())
        using (var stop = new CancellationTokenSource())
        {
            var stopAfter1 = new SynchronousProgress<FinetuneProgress>(p => stop.Cancel());
            Assert.Throws<OperationCanceledException>(() => Engine().Run(new FinetuneRequest { Backbone = model, Target = target, Source = ImageFolder.Index(data.File("source"), folder) }, stopAfter1, stop.Token));
        }

        string path = Path.Combine(dir.Path, EngineCheckpoint.FileName);
        byte[] afterStep1 = File.ReadAllBytes(path);
        Directory.Move(data.File("source"), data.File("moved")); // rename keeps names, sizes and times
        using (var model = EngineTestData.Model())
        {
            Assert.That(Engine().Run(new FinetuneRequest { Backbone = model, Target = target, Source = ImageFolder.Index(data.File("moved"), folder), ResumeFrom = path }).Steps, Is.EqualTo(4));
        }

        File.WriteAllBytes(path, afterStep1);

        TestImageFiles.Write(data.File("moved/05.png"), 16, 16, SKEncodedImageFormat.Png, (x, y) => TestImageFiles.Pattern(y, x, 40)); // same name, other pixels
        File.SetLastWriteTimeUtc(data.File("moved/05.png"), DateTime.UtcNow.AddMinutes(1));
        using var again = EngineTestData.Model();
        var e = Assert.Throws<InvalidDataException>(() => Engine().Run(new FinetuneRequest { Backbone = again, Target = target, Source = ImageFolder.Index(data.File("moved"), folder), ResumeFrom = path }));

        Assert.That(e!.Message, Does.Contain("the source images differ from those the run was started with"));
    }

    [Test]
    public void Run_OnAFolderAnotherProcessHolds_IsRefusedNamingTheHolder_AndWritesNothing()
    {
        Assume.That(OperatingSystem.IsLinux() && File.Exists("/usr/bin/flock"), "util-linux flock holds the lock from another process");
        using var dir = new TempDirectory();
        string lockFile = Path.Combine(dir.Path, RunFolderLock.FileName);
        File.WriteAllText(lockFile, "process 4242 on elsewhere since 2026-01-01 00:00:00Z: uft finetune --out run\n");
        using var holder = Process.Start(new ProcessStartInfo("/usr/bin/flock", ["--exclusive", "--close", lockFile, "sleep", "30"]))!;
        try
        {
            WaitUntilLocked(lockFile);
            using var target = EngineTestData.Images(32, seed: 3);
            using var model = EngineTestData.Model();

            var e = Assert.Throws<RunFolderInUseException>(() => EngineTestData.Engine(Options(dir.Path)).Run(new FinetuneRequest { Backbone = model, Target = target }));

            Assert.That(e!.Message, Is.EqualTo($"{dir.Path}: another run is using this folder (held by process 4242 on elsewhere since 2026-01-01 00:00:00Z: uft finetune --out run); wait for it to end, or choose another folder."));
            Assert.That(Directory.GetFiles(dir.Path).Select(Path.GetFileName), Is.EqualTo(new[] { RunFolderLock.FileName }), "no checkpoint, no temporary file");
        }
        finally
        {
            holder.Kill(entireProcessTree: true);
            holder.WaitForExit();
        }

        using var again = EngineTestData.Model();
        using var images = EngineTestData.Images(32, seed: 3);
        Assert.That(EngineTestData.Engine(Options(dir.Path, steps: 2)).Run(new FinetuneRequest { Backbone = again, Target = images }).Steps, Is.EqualTo(2), "the lock died with its process");
    }

    [Test]
    public void Run_TwoRunsOfOneProcessOnOneFolder_TheSecondIsRefused_AHostsOwnLockIsShared()
    {
        using var dir = new TempDirectory();
        using var target = EngineTestData.Images(32, seed: 3);
        using var model = EngineTestData.Model();
        using var other = EngineTestData.Model();
        Exception? second = null;
        var progress = new SynchronousProgress<FinetuneProgress>(p =>
        {
            if (p.Step == 1)
            {
                second = Assert.Catch(() => EngineTestData.Engine(Options(dir.Path)).Run(new FinetuneRequest { Backbone = other, Target = target }));
            }
        });

        using (RunFolderLock.Acquire(dir.Path)) // a host that wrote its own files first: the run inside shares its lock
        {
            EngineTestData.Engine(Options(dir.Path)).Run(new FinetuneRequest { Backbone = model, Target = target }, progress);
        }

        Assert.That(second, Is.TypeOf<RunFolderInUseException>());
        Assert.That(second!.Message, Is.EqualTo($"{dir.Path}: another run of this process is using this folder; give each run its own folder."));
    }

    private static void WaitUntilLocked(string lockFile)
    {
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < TimeSpan.FromSeconds(10))
        {
            try
            {
                using var probe = new FileStream(lockFile, FileMode.Open, FileAccess.ReadWrite, FileShare.None);
            }
            catch (IOException)
            {
                return; // held
            }

            Thread.Sleep(20);
        }

        Assert.Fail("flock did not take the lock within 10 s");
    }
}
