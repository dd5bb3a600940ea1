using SkiaSharp;
using UnsupervisedFinetuning.Cli;
using UnsupervisedFinetuning.Tests.Data;
using static TorchSharp.torch;

namespace UnsupervisedFinetuning.Tests.Cli;

/// <summary>
/// What <c>uft finetune</c> says about the data it did not use, and the thread setting: a truncated image stops
/// the run with the way to go on, files left out are counted on screen, <c>--threads</c> is applied and put back.
/// </summary>
[TestFixture]
[NonParallelizable]
public sealed class UftScreenTests
{
    private TempDirectory _dir = null!;

    [SetUp]
    public void SetUp() => _dir = new TempDirectory();

    [TearDown]
    public void TearDown() => _dir.Dispose();

    /// <summary>40 PNGs, one of them cut in half (its header still opens), and a notes.txt.</summary>
    private string TargetWithATruncatedImage()
    {
        string folder = _dir.File("target");
        for (int i = 0; i < 40; i++)
        {
            TestImageFiles.Write(Path.Combine(folder, $"{i:D2}.png"), 28, 28, SKEncodedImageFormat.Png, (x, y) => TestImageFiles.Pattern(x, y, i));
        }

        string cut = Path.Combine(folder, "07.png");
        byte[] bytes = File.ReadAllBytes(cut);
        File.WriteAllBytes(cut, bytes[..(bytes.Length / 2)]);
        File.WriteAllText(Path.Combine(folder, "notes.txt"), "where the photos came from");
        return folder;
    }

    private static string[] Finetune(string target, string output, params string[] extra) =>
        ["finetune", "--backbone", UftTests.Model, "--target", target, "--steps", "2", "--batch-size", "16", "--monitor-every", "off", "--out", output, .. extra];

    [Test]
    public void ATruncatedImage_StopsTheRunNamingIt_AndSuggestsSkipUnreadable()
    {
        string target = TargetWithATruncatedImage();

        var outcome = UftTests.Run(null, Finetune(target, _dir.File("run")));

        Assert.That(outcome.ExitCode, Is.EqualTo(ExitCodes.Failure));
        Assert.That(outcome.Error, Does.Contain("07.png").And.Contain("Give --skip-unreadable to leave out such files"));
    }

    [Test]
    public void WithSkipUnreadable_TheSummarySaysWhichFilesWereLeftOutAndWhy()
    {
        string target = TargetWithATruncatedImage();

        var outcome = UftTests.Run(null, Finetune(target, _dir.File("run"), "--skip-unreadable"));

        Assert.That(outcome.ExitCode, Is.EqualTo(ExitCodes.Success), outcome.Error);
        Assert.That(outcome.Output, Does.Contain("finetune: 39 target images"));
        Assert.That(outcome.Output, Does.Contain("left out: 1 file that is not an image by extension").And.Contain("notes.txt").And.Contain("1 unreadable image"));
    }

    [Test]
    public void AProcess_PrintsNoLibtorchNoiseOnStandardError()
    {
        // Where NNPACK cannot initialise (Firecracker VMs), asking whether it is available printed
        // "[W… NNPACK.cpp:56] Could not initialize NNPACK! Reason: Unsupported hardware." on every command.
        var (code, output, error) = UftTests.LaunchProcess("evaluate", "--backbone", UftTests.Model, "--unlabelled", Path.Combine(RepositoryPaths.SampleData, "images", "digits"));

        Assert.That(code, Is.EqualTo(ExitCodes.Success), error);
        Assert.That(output, Does.Contain("RankMe"));
        Assert.That(error, Does.Not.Contain("NNPACK"));
    }

    [Test]
    public void Threads_IsUsedForTheCommand_AndPutBackAfterIt()
    {
        int before = get_num_threads();
        string target = Path.Combine(RepositoryPaths.SampleData, "images", "digits");

        var outcome = UftTests.Run(null, Finetune(target, _dir.File("run"), "--threads", "1"));
        var refused = UftTests.Run(null, Finetune(target, _dir.File("run2"), "--threads", "0"));

        Assert.That(outcome.ExitCode, Is.EqualTo(ExitCodes.Success), outcome.Error);
        Assert.That(outcome.Output, Does.Contain("device cpu, 1 thread"));
        Assert.That(get_num_threads(), Is.EqualTo(before));
        Assert.That(refused.ExitCode, Is.EqualTo(ExitCodes.Usage));
        Assert.That(refused.Error, Does.Contain("--threads is 0; expected 1 to 1024"));
    }
}
