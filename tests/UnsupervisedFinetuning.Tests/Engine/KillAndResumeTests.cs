using System.Diagnostics;
using UnsupervisedFinetuning.Engine;

namespace UnsupervisedFinetuning.Tests.Engine;

/// <summary>
/// A finetuning run in a child process (UnsupervisedFinetuning.KillTarget, a checkpoint after every step) is
/// killed with SIGKILL at random points — right after a step is reported, which is when its checkpoint is
/// being written, or at a random time — and restarted each time from the checkpoint on disk. Every restart
/// must load that checkpoint, the final weights must equal an uninterrupted run's byte for byte, and no
/// temporary file may be left behind. Three kills here; set UFT_KILL_RUNS=50 for the long run
/// (docs/reliability.md).
/// </summary>
[TestFixture]
public sealed class KillAndResumeTests
{
    private const int Steps = 120;

    [Test]
    public void KilledAnywhere_ResumesToTheUninterruptedWeightsByteForByte()
    {
        int kills = int.TryParse(Environment.GetEnvironmentVariable("UFT_KILL_RUNS"), out int n) && n > 0 ? n : 3;
        using var dir = new TempDirectory();
        string straight = Path.Combine(dir.Path, "straight");
        Assert.That(Launch(straight, kill: null).Completed, Is.True, "the uninterrupted run");

        // Cycles of kill-and-restart until the run completes; as many cycles as it takes to kill `kills` times.
        var random = new Random(2026);
        byte[] expected = File.ReadAllBytes(Path.Combine(straight, "final.dat"));
        int killed = 0, afterStep = 0, orphansSeen = 0, cycles = 0, restarts = 0;
        while (killed < kills)
        {
            string interrupted = Path.Combine(dir.Path, $"interrupted-{cycles++}");
            while (true)
            {
                // Half the kills follow a progress line (that step's checkpoint write is then under way), half a timer.
                var kill = killed >= kills ? null
                    : random.Next(2) == 0 ? new KillPoint(AfterLines: random.Next(1, 12), AfterMs: random.Next(0, 20))
                    : new KillPoint(AfterLines: 0, AfterMs: random.Next(300, 1500));
                var run = Launch(interrupted, kill);
                restarts++;
                Assert.That(run.Failed, Is.False, $"a restart failed (exit {run.ExitCode}): {run.Error}");
                if (run.Completed)
                {
                    break;
                }

                killed++;
                afterStep += run.StepsSeen > 0 ? 1 : 0;
                orphansSeen += Directory.GetFiles(interrupted, "*.tmp-*").Length;
                string checkpoint = Path.Combine(interrupted, FinetuneEngine.CheckpointFileName);
                if (File.Exists(checkpoint))
                {
                    Assert.DoesNotThrow(() => EngineCheckpoint.ReadHeader(checkpoint), $"after kill {killed} the checkpoint on disk is whole");
                }
            }

            Assert.That(File.ReadAllBytes(Path.Combine(interrupted, "final.dat")), Is.EqualTo(expected), $"cycle {cycles}: final weights byte for byte");
            Assert.That(Directory.GetFiles(interrupted, "*.tmp-*"), Is.Empty, $"cycle {cycles}: no temporary file left behind");
        }

        TestContext.Out.WriteLine($"{killed} kills in {cycles} runs ({restarts} starts; {afterStep} kills after a step began, {orphansSeen} temporary files found right after a kill, all removed by the next write); every run ended byte-identical to the uninterrupted one");
    }

    private static Outcome Launch(string directory, KillPoint? kill)
    {
        string target = Path.Combine(AppContext.BaseDirectory, "UnsupervisedFinetuning.KillTarget.dll");
        var start = new ProcessStartInfo(Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (string argument in new[] { target, directory, Steps.ToString(System.Globalization.CultureInfo.InvariantCulture) })
        {
            start.ArgumentList.Add(argument);
        }

        using var process = Process.Start(start)!;
        var error = process.StandardError.ReadToEndAsync();
        int steps = 0;
        bool done = false, killed = false;
        var clock = Stopwatch.StartNew();
        using var timer = kill is { AfterLines: 0 } ? new Timer(_ => KillNow(), null, kill.AfterMs, Timeout.Infinite) : null;
        while (process.StandardOutput.ReadLine() is { } line)
        {
            if (line.StartsWith("step ", StringComparison.Ordinal) && ++steps == kill?.AfterLines)
            {
                Thread.Sleep(kill.AfterMs);
                KillNow();
            }

            done |= line == "done";
        }

        process.WaitForExit();
        return new Outcome(done && process.ExitCode == 0, !killed && process.ExitCode != 0, process.ExitCode, steps, error.Result);

        void KillNow()
        {
            lock (process)
            {
                if (!process.HasExited)
                {
                    killed = true;
                    process.Kill(entireProcessTree: true);
                }
            }
        }
    }

    private sealed record KillPoint(int AfterLines, int AfterMs);

    private sealed record Outcome(bool Completed, bool Failed, int ExitCode, int StepsSeen, string Error);
}
