using System.Diagnostics;
using UnsupervisedFinetuning.Cli;
using UnsupervisedFinetuning.Engine;

namespace UnsupervisedFinetuning.Tests.Cli;

/// <summary>
/// uft against a careless or concurrent user: refused resumes that used to break the run, two runs on one folder,
/// settings sections written as null, sizes out of range. Each ends in exit code 2 (or 1) with one line naming the
/// option, and leaves the run folder as it was.
/// </summary>
[TestFixture]
[NonParallelizable]
public sealed class UftFaultTests
{
    private static readonly string Model = UftTests.Model;
    private static readonly string Digits = Path.Combine(RepositoryPaths.SampleData, "images", "digits");
    private TempDirectory _dir = null!;

    [SetUp]
    public void SetUp() => _dir = new TempDirectory();

    [TearDown]
    public void TearDown() => _dir.Dispose();

    private static UftTests.Outcome Run(params string[] args) => UftTests.Run(null, args);

    private static string[] Finetune(string output, params string[] extra)
    {
        // Defaults for what the test does not give itself.
        var args = new List<string> { "finetune", "--backbone", Model, "--checkpoint-every", "1", "--out", output };
        foreach (var (option, value) in new[] { ("--target", Digits), ("--steps", "2"), ("--batch-size", "32") })
        {
            if (!extra.Contains(option))
            {
                args.AddRange([option, value]);
            }
        }

        return [.. args, .. extra];
    }

    [TestCase("--lr", "0.5", "0.03")]
    [TestCase("--seed", "9", "0")]
    [TestCase("--batch-size", "16", "32")]
    [TestCase("--mixing", "cutmix", "none")]
    public void Resume_RefusedForAChangedOption_LeavesTheSettingsSoThePlainResumeStillWorks(string option, string value, string written)
    {
        string run = _dir.File("run");
        Assert.That(Run(Finetune(run, "--steps", "3")).ExitCode, Is.Zero);

        string settings = Path.Combine(run, FinetuneCommand.SettingsFile);
        string before = File.ReadAllText(settings);
        // Make the run resumable again: extend nothing, just resume a finished run with a changed option.
        var refused = Run("finetune", "--out", run, "--resume", option, value);

        Assert.That(refused.ExitCode, Is.EqualTo(ExitCodes.Failure), refused.Error);
        Assert.That(refused.Error, Does.Contain($"the checkpoint was written with {option} {written} but this run has {option} {value}; resume with the same options and data"));
        Assert.That(File.ReadAllText(settings), Is.EqualTo(before), "options.json keeps what the checkpoint was written with");
        var plain = Run("finetune", "--out", run, "--resume");
        Assert.That(plain.ExitCode, Is.Zero, plain.Error);
    }

    [Test]
    public void Finetune_OnAFolderAnotherRunHolds_IsRefusedNamingIt_AndWritesNothingThere()
    {
        Assume.That(OperatingSystem.IsLinux() && File.Exists("/usr/bin/flock"), "util-linux flock holds the lock from another process");
        string run = _dir.File("run");
        Directory.CreateDirectory(run);
        string lockFile = Path.Combine(run, RunFolderLock.FileName);
        File.WriteAllText(lockFile, "process 77 on host since 2026-12-06 05:00:00Z: uft finetune --out run --lr 0.1\n");
        using var holder = Process.Start(new ProcessStartInfo("/usr/bin/flock", ["--exclusive", "--close", lockFile, "sleep", "30"]))!;
        try
        {
            Thread.Sleep(300);
            var outcome = Run(Finetune(run));

            Assert.That(outcome.ExitCode, Is.EqualTo(ExitCodes.Failure));
            Assert.That(outcome.Error.Trim(), Is.EqualTo($"uft: {run}: another run is using this folder (held by process 77 on host since 2026-12-06 05:00:00Z: uft finetune --out run --lr 0.1); wait for it to end, or choose another folder."));
            Assert.That(Directory.GetFiles(run).Select(Path.GetFileName), Is.EqualTo(new[] { RunFolderLock.FileName }), "no options.json, no log.txt");
        }
        finally
        {
            holder.Kill(entireProcessTree: true);
            holder.WaitForExit();
        }
    }

    [TestCase("engine")]
    [TestCase("replay")]
    [TestCase("mixingOptions")]
    [TestCase("mocoV2")]
    public void Finetune_ASettingsSectionThatIsNull_IsNamed(string section)
    {
        string config = _dir.File("settings.json");
        File.WriteAllText(config, $"{{ \"{section}\": null }}");

        var outcome = Run(Finetune(_dir.File("run"), "--config", config));

        Assert.That(outcome.ExitCode, Is.EqualTo(ExitCodes.Usage));
        Assert.That(outcome.Error.Trim(), Is.EqualTo($"uft: --config: {config}: '{section}' is null; give it a value, or leave the field out for its default."));
    }

    [TestCase("--working-size", "0", "--working-size is 0; expected 1 to 4096 pixels.")]
    [TestCase("--image-size", "100000", "--image-size is 100000; expected 1 to 4096 pixels")]
    [TestCase("--batch-size", "5000", "--batch-size is 5000 but the target has 300 images; a batch cannot be larger than the data")]
    public void Finetune_SizesOutOfRange_ExitWithTwoNamingTheOption(string option, string value, string expected)
    {
        var outcome = Run(Finetune(_dir.File("run"), option, value));

        Assert.That(outcome.ExitCode, Is.EqualTo(ExitCodes.Usage), outcome.Error);
        Assert.That(outcome.Error, Does.StartWith("uft: " + expected));
        Assert.That(outcome.Error.TrimEnd().Split('\n'), Has.Length.EqualTo(1));
    }

    [Test]
    public void Finetune_AStepTooLargeForThisMachine_IsRefusedBeforeItAllocates()
    {
        Assume.That(OperatingSystem.IsLinux(), "the estimate reads /proc");
        // 4096² views, batch 256: the input tensors alone are ≈ 43 GB, more than the machines here have.
        Assume.That(UnsupervisedFinetuning.Fuzzing.ResidentMemory.ResetPeak(), "needs /proc/self/clear_refs");
        long before = UnsupervisedFinetuning.Fuzzing.ResidentMemory.Current()!.Value;

        var outcome = Run(Finetune(_dir.File("run"), "--image-size", "4096", "--working-size", "4096", "--batch-size", "256"));

        Assert.That(outcome.ExitCode, Is.EqualTo(ExitCodes.Usage), outcome.Error);
        Assert.That(outcome.Error, Does.Contain("uft: A training step at batch 256 with 4096x4096 views needs about"));
        double added = (UnsupervisedFinetuning.Fuzzing.ResidentMemory.Peak()!.Value - before) / 1e9;
        Assert.That(added, Is.LessThan(1.0), "refused before the 300 target images were decoded at 4096² (5 GB)");
        Assert.That(outcome.Error, Does.Contain("lower --batch-size or --image-size."), "the library's names become the options (they were both, side by side)");
    }

    [Test]
    public void Finetune_SettingsThatCannotBeWritten_LeaveNoTemporaryFile()
    {
        string run = _dir.File("run");
        Directory.CreateDirectory(Path.Combine(run, FinetuneCommand.SettingsFile)); // a folder where options.json should go

        var outcome = Run(Finetune(run));

        Assert.That(outcome.ExitCode, Is.EqualTo(ExitCodes.Failure));
        Assert.That(outcome.Error, Does.Contain($"{Path.Combine(run, FinetuneCommand.SettingsFile)}: the settings could not be written"));
        Assert.That(Directory.GetFiles(run).Select(Path.GetFileName), Has.None.Contains(".tmp"));
    }

    [Test]
    public void Process_AShortFinetune_PrintsNoNativeWarningPerConvolution()
    {
        // Where NNPACK cannot initialise, libtorch warned on every convolution that might use it: 16,852 lines of
        // "Could not initialize NNPACK!" in one Quickstart run on a Zen 5 VM. At most the one line of the check remains.
        var start = new ProcessStartInfo(Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (string argument in (string[])[Path.Combine(AppContext.BaseDirectory, "uft.dll"), .. Finetune(_dir.File("run"), "--steps", "3")])
        {
            start.ArgumentList.Add(argument);
        }

        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        string error = process.StandardError.ReadToEnd();
        process.WaitForExit();

        Assert.That(process.ExitCode, Is.Zero, error);
        Assert.That(error.Split('\n').Count(line => line.Contains("NNPACK", StringComparison.Ordinal)), Is.LessThanOrEqualTo(1), error);
        Assert.That(output.Result, Does.Contain("finetuned"));
    }

    [Test]
    public void Resume_OnAFolderWithoutARun_SaysSo()
    {
        var outcome = Run("finetune", "--out", _dir.File("empty"), "--resume");

        Assert.That(outcome.ExitCode, Is.EqualTo(ExitCodes.Usage));
        Assert.That(outcome.Error.Trim(), Is.EqualTo($"uft: --resume: there is no run in {_dir.File("empty")} (no finetune.checkpoint); start the run without --resume."));
    }
}
