using UnsupervisedFinetuning.Fuzzing;

namespace UnsupervisedFinetuning.Tests.Reliability;

/// <summary>
/// A few hundred seeded mutations of a valid file per reader: each must be read, or refused with the
/// documented exception whose short message names the file, within a memory and time budget per case. The
/// long run (10,000 per reader) is the fuzzing program itself; docs/reliability.md has its figures.
/// </summary>
[TestFixture]
[NonParallelizable] // the peak-memory figure is per process
public sealed class FuzzTests
{
    private const int Cases = 300;

    // Seeds are kilobytes; a case that adds more than this holds something sized by a forged header.
    private static readonly FuzzLimits Limits = new(MaxCaseMemoryBytes: 64_000_000, MaxCaseTime: TimeSpan.FromSeconds(5));

    private static IEnumerable<string> Readers() => FuzzTargets.Names;

    [TestCaseSource(nameof(Readers))]
    public void MutatedFiles_AreReadOrRefusedAsDocumented_WithinBudget(string reader)
    {
        using var work = new TempDirectory();
        string fixture = Path.Combine(AppContext.BaseDirectory, "Backbones", "Fixtures", "nested_with_top_level_tensor.pth");
        var target = FuzzTargets.Create(work.File("seeds"), [reader], [fixture]).Single();

        var outcome = FuzzRunner.Run(target, Cases, seed: 12, Limits, work.File("cases"));

        TestContext.Out.WriteLine($"{reader}: {outcome.Accepted} read, {outcome.Rejected} refused, peak added {outcome.PeakMemoryBytes / 1e6:0.0} MB, max {outcome.MaxMilliseconds:0} ms");
        Assert.That(outcome.Cases, Is.EqualTo(Cases));
        Assert.That(outcome.Findings.Select(f => $"case {f.Case}: {f.Problem}"), Is.Empty);
        Assert.That(outcome.Rejected, Is.GreaterThan(Cases / 10), "the mutations reach the reader's checks");
    }
}
