using System.Globalization;
using UnsupervisedFinetuning.Cli;
using UnsupervisedFinetuning.Engine;

namespace UnsupervisedFinetuning.Tests.Cli;

/// <summary>
/// Resuming as a newcomer does it: from another folder than the run was started in, after the run finished
/// (extending it), after a kill (the metrics files keep each step once) — and output paths that need creating or
/// cannot be written.
/// </summary>
[TestFixture]
[NonParallelizable]
public sealed class UftResumeTests
{
    private static readonly string Digits = Path.Combine(RepositoryPaths.SampleData, "images", "digits");
    private TempDirectory _dir = null!;

    [SetUp]
    public void SetUp() => _dir = new TempDirectory();

    [TearDown]
    public void TearDown() => _dir.Dispose();

    private static string[] Finetune(string target, string output, int steps, params string[] extra) =>
        ["finetune", "--backbone", UftTests.Model, "--target", target, "--steps", steps.ToString(CultureInfo.InvariantCulture), "--batch-size", "32", "--monitor-every", "off", "--out", output, .. extra];

    /// <summary>Runs uft with the current folder set to <paramref name="folder"/> (relative paths resolve there).</summary>
    private static UftTests.Outcome RunIn(string folder, string? stopWhen, params string[] args)
    {
        string before = Directory.GetCurrentDirectory();
        Directory.SetCurrentDirectory(folder);
        try
        {
            return UftTests.Run(stopWhen, args);
        }
        finally
        {
            Directory.SetCurrentDirectory(before);
        }
    }

    private static long[] StepsIn(string metrics) =>
        File.ReadAllLines(metrics).Skip(1).Select(line => long.Parse(line[..line.IndexOf(',')], CultureInfo.InvariantCulture)).ToArray();

    [Test]
    public void ARunStartedWithRelativePaths_ResumesFromAnotherFolder_AndItsSettingsHoldAbsolutePaths()
    {
        // The newcomer's case: started in the project folder with relative paths, resumed from elsewhere with the
        // absolute --out the interruption message printed.
        string project = _dir.File("project");
        Directory.CreateDirectory(Path.Combine(project, "data"));
        foreach (string file in Directory.GetFiles(Digits).Take(64))
        {
            File.Copy(file, Path.Combine(project, "data", Path.GetFileName(file)));
        }

        var first = RunIn(project, "step 2/", Finetune("data", "runs/a", 4, "--checkpoint-every", "1"));
        Assert.That(first.ExitCode, Is.EqualTo(ExitCodes.Interrupted), first.Error);
        string run = Path.Combine(project, "runs", "a");
        var saved = FinetuneSettings.Read(Path.Combine(run, FinetuneCommand.SettingsFile), "test");
        Assert.That((saved.Target, saved.Out), Is.EqualTo((Path.Combine(project, "data"), run)));
        Assert.That(saved.Backbone, Is.EqualTo(Path.GetFullPath(UftTests.Model)));

        string elsewhere = _dir.File("elsewhere");
        Directory.CreateDirectory(elsewhere);
        var resumed = RunIn(elsewhere, null, "finetune", "--out", run, "--resume");

        Assert.That(resumed.ExitCode, Is.EqualTo(ExitCodes.Success), resumed.Error);
        Assert.That(resumed.Output, Does.Contain($"resumed {Path.Combine(run, FinetuneEngine.CheckpointFileName)} after step 2"));
        Assert.That(StepsIn(Path.Combine(run, MetricsFiles.StepsFile)), Is.EqualTo(new long[] { 1, 2, 3, 4 }), "each step once, though step 3's row may have been written before the kill");
    }

    [Test]
    public void ARelativePathFromAnOldSettingsFile_ThatDoesNotResolve_IsNamedByItsFieldAndFile()
    {
        string run = _dir.File("run");
        Assert.That(UftTests.Run(null, Finetune(Digits, run, 2)).ExitCode, Is.EqualTo(ExitCodes.Success));
        // Settings as runs before this version wrote them: relative to the folder the run was started in.
        string settingsPath = Path.Combine(run, FinetuneCommand.SettingsFile);
        File.WriteAllText(settingsPath, File.ReadAllText(settingsPath).Replace(System.Text.Json.JsonSerializer.Serialize(Digits), "\"data/digits\"", StringComparison.Ordinal));

        var outcome = RunIn(_dir.Path, null, "finetune", "--out", run, "--resume", "--steps", "3");

        Assert.That(outcome.ExitCode, Is.EqualTo(ExitCodes.Usage));
        Assert.That(outcome.Error, Does.Contain($"'target' in {settingsPath} (give --target to override it): no folder or manifest file at data/digits"));
    }

    [Test]
    public void AFinishedRun_ResumedWithMoreSteps_IsExtended_AndWithoutSaysHowToExtendIt()
    {
        string run = _dir.File("run");
        Assert.That(UftTests.Run(null, Finetune(Digits, run, 3)).ExitCode, Is.EqualTo(ExitCodes.Success));

        var again = UftTests.Run(null, "finetune", "--out", run, "--resume");
        Assert.That(again.ExitCode, Is.EqualTo(ExitCodes.Success), again.Error);
        Assert.That(again.Output, Does.Contain("The run had already finished 3 steps; nothing was trained").And.Contain($"--resume --steps 6"));

        var extended = UftTests.Run(null, "finetune", "--out", run, "--resume", "--steps", "5");

        Assert.That(extended.ExitCode, Is.EqualTo(ExitCodes.Success), extended.Error);
        Assert.That(extended.Error, Does.Contain("Schedule extended from 3 to 5 steps after step 3"));
        Assert.That(extended.Output, Does.Contain("step 5/5"));
        Assert.That(FinetuneSettings.Read(Path.Combine(run, FinetuneCommand.SettingsFile), "test").Engine.Steps, Is.EqualTo(5), "options.json now plans the extended run");
        Assert.That(StepsIn(Path.Combine(run, MetricsFiles.StepsFile)), Is.EqualTo(new long[] { 1, 2, 3, 4, 5 }));
        using var model = UnsupervisedFinetuning.Backbones.PretrainedModel.Load(Path.Combine(run, FinetuneCommand.ModelFile));
        Assert.That(model.Description.Provenance["steps"], Is.EqualTo("5"));

        var shorter = UftTests.Run(null, "finetune", "--out", run, "--resume", "--steps", "4");
        Assert.That(shorter.ExitCode, Is.EqualTo(ExitCodes.Failure));
        Assert.That(shorter.Error, Does.Contain("never fewer"));
    }

    [Test]
    public void Embed_OutIntoAFolderThatDoesNotExist_CreatesIt()
    {
        string output = _dir.File("feats/deeper/x.npy");

        var outcome = UftTests.Run(null, "embed", "--backbone", UftTests.Model, "--images", Digits, "--out", output);

        Assert.That(outcome.ExitCode, Is.EqualTo(ExitCodes.Success), outcome.Error);
        Assert.That(File.Exists(output), Is.True);
    }

    [Test]
    public void OutputPathsThatCannotBeWritten_AreRefusedBeforeAnyWork_NamingTheOption()
    {
        string file = _dir.File("afile");
        File.WriteAllText(file, "x");

        var onFile = UftTests.Run(null, Finetune(Digits, file, 2));
        var underFile = UftTests.Run(null, "embed", "--backbone", UftTests.Model, "--images", Digits, "--out", Path.Combine(file, "x.npy"));
        var inProc = UftTests.Run(null, Finetune(Digits, "/proc/uftrun", 2));

        Assert.That(onFile.ExitCode, Is.EqualTo(ExitCodes.Usage));
        Assert.That(onFile.Error, Does.Contain($"--out {file}: is a file; expected a folder"));
        Assert.That(underFile.ExitCode, Is.EqualTo(ExitCodes.Usage));
        Assert.That(underFile.Error, Does.Contain($"--out {Path.Combine(file, "x.npy")}: {file} is a file"));
        Assert.That(inProc.ExitCode, Is.EqualTo(ExitCodes.Usage));
        Assert.That(inProc.Error, Does.StartWith("uft: --out /proc/uftrun: the folder /proc/uftrun cannot be created"));
        Assert.That(File.ReadAllText(file), Is.EqualTo("x"), "nothing replaced the file");
    }
}
