using System.Globalization;
using UnsupervisedFinetuning.Fuzzing;

// The long fuzz run (docs/reliability.md):
//   dotnet run -c Release --project tests/UnsupervisedFinetuning.Fuzzing -- [--cases 10000] [--seed 1]
//       [--target idx,pytorch,…] [--case K] [--findings dir] [--max-case-mb 512] [--max-case-seconds 10]
//       [--target T --replay file]   (reads one saved input and shows the whole exception)
// prints one line per reader (cases, read, rejected, findings, peak memory a case added, times) and saves
// each finding's input under --findings so that `--target T --seed S --case K` replays it.
var arguments = new Dictionary<string, string>(StringComparer.Ordinal);
for (int i = 0; i + 1 < args.Length; i += 2)
{
    arguments[args[i].TrimStart('-')] = args[i + 1];
}

int cases = int.Parse(arguments.GetValueOrDefault("cases", "10000"), CultureInfo.InvariantCulture);
int seed = int.Parse(arguments.GetValueOrDefault("seed", "1"), CultureInfo.InvariantCulture);
int? onlyCase = arguments.TryGetValue("case", out string? c) ? int.Parse(c, CultureInfo.InvariantCulture) : null;
string[] names = arguments.TryGetValue("target", out string? t) ? t.Split(',') : FuzzTargets.Names;
string findingsDirectory = arguments.GetValueOrDefault("findings", "fuzz-findings");
var limits = new FuzzLimits(
    long.Parse(arguments.GetValueOrDefault("max-case-mb", "512"), CultureInfo.InvariantCulture) * 1_000_000,
    TimeSpan.FromSeconds(double.Parse(arguments.GetValueOrDefault("max-case-seconds", "10"), CultureInfo.InvariantCulture)));

string work = Path.Combine(Path.GetTempPath(), "uft-fuzz-" + Environment.ProcessId);
string repository = FindRepository();
var pytorchSeeds = Directory.Exists(Path.Combine(repository, "tests/UnsupervisedFinetuning.Tests/Backbones/Fixtures"))
    ? new[] { "nested_with_top_level_tensor.pth" }.Select(f => Path.Combine(repository, "tests/UnsupervisedFinetuning.Tests/Backbones/Fixtures", f)).Where(File.Exists)
    : [];
int totalFindings = 0;
try
{
    var targets = FuzzTargets.Create(work, names, pytorchSeeds);
    if (arguments.TryGetValue("replay", out string? replay))
    {
        // Reads one saved input with the (single) target and shows the whole exception.
        targets[0].Read(replay);
        Console.WriteLine($"{replay}: read without an exception");
        return 0;
    }

    Console.WriteLine($"seed {seed}, {(onlyCase is null ? $"{cases} cases" : $"case {onlyCase}")} per reader; limits per case: {limits.MaxCaseMemoryBytes / 1e6:0} MB added resident, {limits.MaxCaseTime.TotalSeconds:0.#} s");
    Console.WriteLine("| reader | cases | read | rejected | findings | peak added MB (case) | median ms | max ms (case) | largest input |");
    Console.WriteLine("|---|---|---|---|---|---|---|---|---|");
    foreach (var target in targets)
    {
        var outcome = FuzzRunner.Run(target, cases, seed, limits, Path.Combine(work, target.Name), onlyCase: onlyCase);
        totalFindings += outcome.Findings.Count;
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"| {outcome.Target} | {outcome.Cases} | {outcome.Accepted} | {outcome.Rejected} | {outcome.Findings.Count} | {(outcome.PeakMemoryBytes is { } p ? $"{p / 1e6:0.0} ({outcome.PeakMemoryCase})" : "n/a")} | {outcome.MedianMilliseconds:0.0} | {outcome.MaxMilliseconds:0} ({outcome.MaxMillisecondsCase}) | {outcome.LargestInputBytes:N0} B |"));
        foreach (var finding in outcome.Findings)
        {
            Directory.CreateDirectory(findingsDirectory);
            string saved = Path.Combine(findingsDirectory, $"{target.Name}-seed{seed}-case{finding.Case}{Path.GetExtension(target.FileName)}");
            File.WriteAllBytes(saved, finding.Input);
            Console.WriteLine($"    case {finding.Case}: {finding.Problem} (input: {saved})");
        }
    }
}
finally
{
    Directory.Delete(work, recursive: true);
}

return totalFindings == 0 ? 0 : 1;

static string FindRepository()
{
    for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
    {
        if (File.Exists(Path.Combine(directory.FullName, "UnsupervisedFinetuning.sln")))
        {
            return directory.FullName;
        }
    }

    return Directory.GetCurrentDirectory();
}
