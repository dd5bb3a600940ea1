using UnsupervisedFinetuning.Engine;
using UnsupervisedFinetuning.Evaluation;
using UnsupervisedFinetuning.Formats;
using UnsupervisedFinetuning.IO;
using UnsupervisedFinetuning.Reporting;
using UnsupervisedFinetuning.Tests.Engine;

namespace UnsupervisedFinetuning.Tests.IO;

/// <summary>
/// A save that fails half-way — disk full, permission denied — leaves the previous checkpoint or report
/// intact, leaves no temporary file, and surfaces an <see cref="IOException"/> that names the file and the
/// operating system's reason. Faults are injected through the file store every atomic write goes through.
/// </summary>
[TestFixture]
public sealed class FailedSaveTests
{
    [TestCase(Fault.DiskFull)]
    [TestCase(Fault.PermissionDeniedOnCreate)]
    [TestCase(Fault.PermissionDeniedOnReplace)]
    public void EngineCheckpoint_FailingOnTheThirdSave_KeepsTheSecondAndTheRunResumesFromItExactly(Fault fault)
    {
        using var dir = new TempDirectory();
        using var target = EngineTestData.Images(40, seed: 21);
        FinetuneOptions Options()
        {
            var o = EngineTestData.Options(steps: 6);
            o.CheckpointDirectory = dir.Path;
            o.CheckpointEverySteps = 1;
            return o;
        }

        using var straight = EngineTestData.Model(seed: 4);
        var straightResult = EngineTestData.Engine(Options()).Run(new FinetuneRequest { Backbone = straight, Target = target });
        var expected = EngineTestData.Snapshot(straight);
        File.Delete(Path.Combine(dir.Path, EngineCheckpoint.FileName));

        using var failing = EngineTestData.Model(seed: 4);
        var store = new FaultyFileStore(fault, failOnWrite: 3);
        IOException error;
        using (AtomicFile.Use(store))
        {
            error = Assert.Throws<IOException>(() => EngineTestData.Engine(Options()).Run(new FinetuneRequest { Backbone = failing, Target = target }))!;
        }

        string checkpoint = Path.Combine(dir.Path, EngineCheckpoint.FileName);
        Assert.That(store.Injected, Is.True);
        Assert.That(error.Message, Does.StartWith(checkpoint + ": could not be written (").And.Contain("the previous file is unchanged"));
        Assert.That(error.Message, Does.Contain(fault == Fault.DiskFull ? "No space left on device" : "denied"));
        Assert.That(Directory.GetFiles(dir.Path).Select(Path.GetFileName), Is.EquivalentTo(new[] { EngineCheckpoint.FileName, RunFolderLock.FileName }), "no temporary file is left");
        Assert.That(EngineCheckpoint.ReadHeader(checkpoint).Step, Is.EqualTo(2), "the checkpoint of step 2 is still there");

        using var resumed = EngineTestData.Model(seed: 77);
        var result = EngineTestData.Engine(Options()).Run(new FinetuneRequest { Backbone = resumed, Target = target, ResumeFrom = checkpoint });
        Assert.That(result.Steps, Is.EqualTo(straightResult.Steps));
        Assert.That(EngineTestData.BitEqual(expected, EngineTestData.Snapshot(resumed)), Is.True, "resuming from the kept checkpoint ends where the uninterrupted run did");
    }

    [TestCase(Fault.DiskFull, 2)]
    [TestCase(Fault.PermissionDeniedOnCreate, 3)]
    [TestCase(Fault.PermissionDeniedOnReplace, 4)]
    public void TransferReport_FailingOnAnyFile_ReplacesNoneOfThePreviousReport(Fault fault, int failOnWrite)
    {
        using var dir = new TempDirectory();
        Report(0.80).WriteWithChart(dir.Path);
        var before = Directory.GetFiles(dir.Path).ToDictionary(f => Path.GetFileName(f), File.ReadAllBytes);
        Assert.That(before.Keys, Is.EquivalentTo(new[] { "report.md", "report.csv", "report.json", "report.png" }));

        var store = new FaultyFileStore(fault, failOnWrite, bytesBeforeFault: 10);
        IOException error;
        using (AtomicFile.Use(store))
        {
            error = Assert.Throws<IOException>(() => Report(0.90).WriteWithChart(dir.Path))!;
        }

        Assert.That(store.Injected, Is.True);
        if (fault != Fault.PermissionDeniedOnReplace)
        {
            Assert.That(store.Replaced, Is.Zero, "nothing is renamed over the old report unless every new file was written");
        }

        Assert.That(error.Message, Does.Contain(dir.Path).And.Contain("the previous files are unchanged"));
        var after = Directory.GetFiles(dir.Path).ToDictionary(f => Path.GetFileName(f), File.ReadAllBytes);
        Assert.That(after.Keys, Is.EquivalentTo(before.Keys), "no temporary file is left");
        foreach (var (name, bytes) in before) // a refused rename puts back the files renamed before it
        {
            Assert.That(after[name], Is.EqualTo(bytes), name);
        }
    }

    [TestCase(Fault.DiskFull)]
    [TestCase(Fault.PermissionDeniedOnReplace)]
    public void CheckpointSave_FailingHalfWay_KeepsTheWeightsFileThatWasThere(Fault fault)
    {
        using var dir = new TempDirectory();
        string path = dir.File("backbone.dat");
        using var original = EngineTestData.Model(seed: 1);
        Checkpoint.Save(original, path);
        byte[] before = File.ReadAllBytes(path);

        using var other = EngineTestData.Model(seed: 2);
        using (AtomicFile.Use(new FaultyFileStore(fault, failOnWrite: 1)))
        {
            var error = Assert.Throws<IOException>(() => Checkpoint.Save(other, path))!;
            Assert.That(error.Message, Does.StartWith(path + ": could not be written"));
            Assert.That(error.InnerException, fault == Fault.DiskFull ? Is.TypeOf<IOException>() : Is.TypeOf<UnauthorizedAccessException>());
        }

        Assert.That(File.ReadAllBytes(path), Is.EqualTo(before));
        Assert.That(Directory.GetFiles(dir.Path), Has.Length.EqualTo(1));
        using var reloaded = EngineTestData.Model(seed: 3);
        Checkpoint.LoadTorchSharp(reloaded, path);
        Assert.That(EngineTestData.BitEqual(EngineTestData.Snapshot(original), EngineTestData.Snapshot(reloaded)), Is.True);
    }

    private static TransferReport Report(double knn) => new(
    [
        new("naive", 1, TransferMetrics.TargetKnn, knn), new("naive", 1, TransferMetrics.SourceKnn, 0.5),
        new("replay", 1, TransferMetrics.TargetKnn, knn + 0.01), new("replay", 1, TransferMetrics.SourceKnn, 0.6),
    ], referenceArm: "naive");
}
