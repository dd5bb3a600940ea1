using System.Diagnostics;
using System.Globalization;
using System.Text;
using Spectre.Console;
using UnsupervisedFinetuning.Evaluation;
using UnsupervisedFinetuning.Monitoring;
using UnsupervisedFinetuning.Replay;
using UnsupervisedFinetuning.Tuning;

namespace UnsupervisedFinetuning.Samples.Quickstart;

/// <summary>One short trial of the automatic choice (sweep-search.tsv).</summary>
internal sealed record SearchTrial(long Seed, string Candidate, long Steps, double Uniformity, double RankMe, double LeaveOneOutKnn, double Seconds);

/// <summary>
/// The --sweep mode: trains every sweep arm for every seed, saving each finished run's numbers to
/// sweep-runs.tsv at once and rewriting sweep.md and sweep.png, so a sweep stopped after hours keeps its runs:
/// the same command again (same --out) continues with the runs still missing.
/// </summary>
internal static class SweepRun
{
    public const string RunsFile = "sweep-runs.tsv";
    public const string SettingsFile = "sweep-settings.txt";
    public const string SearchFile = "sweep-search.tsv";

    /// <summary>The automatic choice's compute budget, in full runs: its short trials together train this many runs' steps.</summary>
    public const int SearchBudgetRuns = 2;

    /// <summary>Roughly one run on 2 CPU cores at the defaults (500 steps of 128), training and evaluation.</summary>
    private static readonly TimeSpan RunEstimate = TimeSpan.FromMinutes(4);

    public static int Execute(Settings settings, ExperimentData data, SourceModel source, Stopwatch clock)
    {
        string folder = settings.Output.FullName;
        var arms = Arm.Sweep(settings, grid: settings.Sweep is "all" or "grid", rules: settings.Sweep is "all" or "rules");
        string settingsLine = $"Settings: {data.Description}; {settings.TargetSize} unlabelled target images, {settings.Steps} steps of {settings.BatchSize} per arm, lr {settings.LearningRate.ToString(CultureInfo.InvariantCulture)}, mixing {settings.MixingMode} α = {settings.MixingAlpha.ToString(CultureInfo.InvariantCulture)} ({settings.MixingCompute.ToString().ToLowerInvariant()}), rules at ratio {settings.ReplayRatio.ToString(CultureInfo.InvariantCulture)}, Union composition, selected step by {QuickstartCommandLine.CriterionName(settings.Criterion)}{(settings.Precision == ComputePrecision.Float32 ? "" : $", training in {settings.Precision}")}.";

        // A folder holds one sweep: its settings line must match, or the saved runs would be mixed with other settings.
        string settingsPath = Path.Combine(folder, SettingsFile);
        if (File.Exists(settingsPath) && File.ReadAllText(settingsPath).Trim() != settingsLine)
        {
            throw new UsageException($"--out {folder} holds a sweep with other settings ({File.ReadAllText(settingsPath).Trim()}); choose another --out to start a new one.");
        }

        WriteAtomically(settingsPath, settingsLine + "\n");
        var saved = Read(Path.Combine(folder, RunsFile));
        var done = saved.Where(m => m.Metric == TransferMetrics.TargetKnn).Select(m => (m.Arm, m.Seed)).ToHashSet();
        int trained = arms.Count(a => a.Train);
        int missing = settings.Seeds.Sum(seed => arms.Count(a => a.Train && !done.Contains((a.Name, seed))));
        AnsiConsole.MarkupLineInterpolated($"[bold]Sweep[/]: {trained} trained arms × {settings.Seeds.Count} seed(s); {missing} run(s) to go, about {RunEstimate.TotalMinutes * missing / 60:F1} h on 2 CPU cores at the default size. Each finished run is saved in {Path.Combine(folder, RunsFile)}; the same command continues a stopped sweep.");

        var measurements = new List<TransferMeasurement>(saved);
        var searches = ReadSearch(Path.Combine(folder, SearchFile));
        var experiment = new Experiment(settings, data, source);
        _ = experiment.Run(arms, done: (arm, seed) => done.Contains((arm.Name, seed)), runDone: (partial, arm, seed) =>
        {
            var run = partial.Measurements.Where(m => m.Arm == arm.Name && m.Seed == seed).ToList();
            // The few-label criterion: leave-one-out kNN at the run's last monitor point.
            if (partial.Traces.LastOrDefault(t => t.Arm == arm.Name && t.Seed == seed) is { Points.Count: > 0 } trace && trace.Points[^1].ValidationKnn is double loo)
            {
                run.Add(new TransferMeasurement(arm.Name, seed, TransferReport.ValidationKnnSignal, loo));
            }

            measurements.AddRange(run);
            Save(Path.Combine(folder, RunsFile), measurements);
            SweepAnalysis.Write(folder, arms, measurements, searches, settings, settingsLine);
        });

        // The automatic choice within a budget: short trials of every grid setting, scored without labels (and by a few labels).
        var grid = arms.Where(a => a.Train && a.Selection == ReplaySelection.Uniform).ToList();
        foreach (long seed in grid.Count < 2 ? [] : settings.Seeds.Where(seed => !searches.Any(r => r.Seed == seed)))
        {
            AnsiConsole.MarkupLineInterpolated($"seed {seed}: automatic choice — {grid.Count} short trials of {SearchBudgetRuns * (long)settings.Steps / grid.Count} steps ({SearchBudgetRuns} runs' worth of steps)");
            using var model = source.Load();
            var target = data.UnlabeledTarget(settings.TargetSize, seed);
            var candidates = grid.Select(a => new FinetuneCandidate(a.Name, a.ReplaySampler(settings), a.MixingStrategy(settings))).ToList();
            var search = FinetuneSearch.Run(experiment.EngineOptions(settings.Steps, seed), Experiment.Method(), candidates,
                experiment.Request(grid.First(a => a.Replay), target, model.Backbone, model.Head!),
                new FinetuneSearchOptions { BudgetSteps = SearchBudgetRuns * (long)settings.Steps, Criterion = MonitorCriterion.Uniformity, MinTrialSteps = 1 /* --steps decides */ }, source.Augmentation,
                new SynchronousProgress<FinetuneTrial>(t => AnsiConsole.MarkupLineInterpolated($"  {t.Candidate.Name}: uniformity {t.Last?.Target.Uniformity:F3}, RankMe {t.Last?.Target.RankMe:F1}, leave-one-out kNN {t.Last?.ValidationKnn:P1} ({t.Seconds:F0} s) {t.Failure}")));
            searches.AddRange(search.Trials.Select(t => new SearchTrial(seed, t.Candidate.Name, t.Steps, t.Last?.Target.Uniformity ?? double.NaN, t.Last?.Target.RankMe ?? double.NaN, t.Last?.ValidationKnn ?? double.NaN, t.Seconds)));
            SaveSearch(Path.Combine(folder, SearchFile), searches);
            SweepAnalysis.Write(folder, arms, measurements, searches, settings, settingsLine);
        }

        var files = SweepAnalysis.Write(folder, arms, measurements, searches, settings, settingsLine);
        AnsiConsole.WriteLine(File.ReadAllText(files[0]));
        foreach (string file in files.Append(Path.Combine(folder, RunsFile)))
        {
            AnsiConsole.MarkupLineInterpolated($"wrote {file}");
        }

        AnsiConsole.MarkupLineInterpolated($"Finished in {clock.Elapsed.TotalMinutes:F1} min.");
        return 0;
    }

    private static void SaveSearch(string path, IEnumerable<SearchTrial> trials)
    {
        var text = new StringBuilder("seed\tcandidate\tsteps\tuniformity\trankme\tleave-one-out kNN\tseconds\n");
        foreach (var t in trials)
        {
            text.Append(CultureInfo.InvariantCulture, $"{t.Seed}\t{t.Candidate}\t{t.Steps}\t{t.Uniformity:R}\t{t.RankMe:R}\t{t.LeaveOneOutKnn:R}\t{t.Seconds:F1}\n");
        }

        WriteAtomically(path, text.ToString());
    }

    private static List<SearchTrial> ReadSearch(string path)
    {
        var rows = new List<SearchTrial>();
        if (!File.Exists(path))
        {
            return rows;
        }

        foreach (var (line, number) in File.ReadLines(path).Select((l, i) => (l, i + 1)).Skip(1).Where(p => p.l.Length > 0))
        {
            string[] f = line.Split('\t');
            try
            {
                rows.Add(new SearchTrial(long.Parse(f[0], CultureInfo.InvariantCulture), f[1], long.Parse(f[2], CultureInfo.InvariantCulture), double.Parse(f[3], CultureInfo.InvariantCulture),
                    double.Parse(f[4], CultureInfo.InvariantCulture), double.Parse(f[5], CultureInfo.InvariantCulture), double.Parse(f[6], CultureInfo.InvariantCulture)));
            }
            catch (Exception e) when (e is FormatException or IndexOutOfRangeException or OverflowException)
            {
                throw new InvalidDataException($"{path}, line {number}: expected seed, candidate, steps, uniformity, RankMe, leave-one-out kNN and seconds separated by tabs; got '{line}'. Move the file away to run the trials again.", e);
            }
        }

        return rows;
    }

    /// <summary>Writes through a temporary file and a rename, so a stopped sweep never leaves half a file.</summary>
    public static void WriteAtomically(string path, string content)
    {
        string temporary = path + ".tmp";
        File.WriteAllText(temporary, content, new UTF8Encoding(false));
        File.Move(temporary, path, overwrite: true);
    }

    private static void Save(string path, IEnumerable<TransferMeasurement> measurements)
    {
        var text = new StringBuilder("arm\tseed\tmetric\tvalue\n");
        foreach (var m in measurements)
        {
            text.Append(CultureInfo.InvariantCulture, $"{m.Arm}\t{m.Seed}\t{m.Metric}\t{m.Value:R}\n");
        }

        WriteAtomically(path, text.ToString());
    }

    private static List<TransferMeasurement> Read(string path)
    {
        if (!File.Exists(path))
        {
            return [];
        }

        var rows = new List<TransferMeasurement>();
        foreach (var (line, number) in File.ReadLines(path).Select((l, i) => (l, i + 1)).Skip(1).Where(p => p.l.Length > 0))
        {
            string[] f = line.Split('\t');
            if (f.Length != 4 || !long.TryParse(f[1], NumberStyles.Integer, CultureInfo.InvariantCulture, out long seed) || !double.TryParse(f[3], NumberStyles.Float, CultureInfo.InvariantCulture, out double value))
            {
                throw new InvalidDataException($"{path}, line {number}: expected arm, seed, metric and value separated by tabs; got '{line}'. Move the file away to start the sweep again.");
            }

            rows.Add(new TransferMeasurement(f[0], seed, f[2], value));
        }

        return rows;
    }
}
