using System.CommandLine;
using System.Globalization;
using UnsupervisedFinetuning.Engine;
using UnsupervisedFinetuning.Mixing;
using UnsupervisedFinetuning.Monitoring;

namespace UnsupervisedFinetuning.Samples.Quickstart;

/// <summary>
/// The Quickstart's arguments: parsed, checked against each other and against the machine (the output
/// folder is tried before the experiment starts), and turned into <see cref="Settings"/>. Every problem is
/// one line naming the option, what it got and what it expects.
/// </summary>
internal sealed class QuickstartCommandLine
{
    private QuickstartCommandLine(ParseResult result, Settings? settings, IReadOnlyList<string> errors)
    {
        Result = result;
        Settings = settings;
        Errors = errors;
    }

    /// <summary>System.CommandLine's result (for --help and --version).</summary>
    public ParseResult Result { get; }

    /// <summary>The run's settings; null when there are errors or help was asked for.</summary>
    public Settings? Settings { get; }

    /// <summary>Every problem found, one line each.</summary>
    public IReadOnlyList<string> Errors { get; }

    public static QuickstartCommandLine Parse(string[] args)
    {
        var pairingOption = new Option<string>("--pairing") { Description = "far: Fashion 0–4 → MNIST digits; near: Fashion 0–4 → Fashion 5–9", DefaultValueFactory = _ => "far" };
        var seedsOption = new Option<string>("--seeds") { Description = "Comma-separated seeds, e.g. 0,1,2", DefaultValueFactory = _ => "0" };
        var targetOption = new Option<int>("--target-size") { Description = "Unlabelled target images to finetune on", DefaultValueFactory = _ => 300 };
        var stepsOption = new Option<int?>("--steps") { Description = "Finetuning steps of each arm (equal compute; default 500)" };
        var epochsOption = new Option<int?>("--epochs") { Description = "Instead of --steps: passes over the unlabelled target set (steps = ⌈epochs × target size / batch size⌉)" };
        var batchOption = new Option<int>("--batch-size") { Description = "Images per step", DefaultValueFactory = _ => 128 };
        var lrOption = new Option<double?>("--lr") { Description = "Peak learning rate (default: chosen on validation per pairing, far 0.02, near 0.06)" };
        var ratioOption = new Option<double>("--replay-ratio") { Description = "Replayed source images per target image", DefaultValueFactory = _ => 0.25 };
        var alphaOption = new Option<double>("--mixing-alpha") { Description = "α of λ ~ Beta(α, α)", DefaultValueFactory = _ => 1.0 };
        var mixers = new Catalog<MixingEntry>(MixingCatalog.BuiltIn.Where(m => m.OptionsType == typeof(MixingOptions))); // the ones with an α
        var mixModeOption = new Option<string>("--mixing") { Description = mixers.Describe(), DefaultValueFactory = _ => "mixup" };
        var mixComputeOption = new Option<string>("--mixing-compute") { Description = "replace (no extra pass) or add (second query pass; arms without mixing then get twice the steps)", DefaultValueFactory = _ => "replace" };
        var outOption = new Option<DirectoryInfo>("--out") { Description = "Folder for report.md/csv/json and report.png", DefaultValueFactory = _ => new DirectoryInfo("quickstart-output") };
        var dataOption = new Option<DirectoryInfo?>("--data") { Description = "The samples/data folder (found automatically)" };
        var deviceOption = new Option<string>("--device") { Description = "auto, cpu, cuda, cuda:N", DefaultValueFactory = _ => "auto" };
        var precisionOption = new Option<string>("--precision") { Description = "float32, bfloat16 or auto: the dtype the training step's convolutions and linear layers compute in (evaluation stays float32)", DefaultValueFactory = _ => "float32" };
        var criterionOption = new Option<string>("--criterion") { Description = "Label-free criterion that selects each run's best step: " + string.Join(", ", Criteria.Keys) + $" (default {CriterionName(new MonitoringOptions().Criterion)}, the library's default)" };
        var sweepOption = new Option<bool>("--sweep") { Description = "Instead of the five arms: the trade-off sweep — replay ratio {0, 0.1, 0.25, 0.5, 1} × mixing {off, on} and the selection rules (coverage, target-nearest, class-balanced) at --replay-ratio × mixing — with sweep.md (Pareto front, rules vs uniform, automatic choice) and sweep.png. About 4 min a run on 2 CPU cores: hours; each finished run is saved and the same command continues" };
        var sweepPartOption = new Option<string>("--sweep-part") { Description = "all (default), grid (ratio × mixing only) or rules (selection rules only)", DefaultValueFactory = _ => "all" };
        var renderOption = new Option<bool>("--render-only") { Description = $"Instead of running: read {RenderedReport} from --out and write the report again with the current code — report.md/csv/json, report.png, report-monitoring.csv/png — and print its table; seconds, no training. The experiment options are ignored (the numbers come from the file)" };
        var studyOption = new Option<bool>("--study") { Description = "Also measure target and source kNN at every monitor point and write study.md: how well each label-free signal tracks them (slower; skips the linear probe)" };

        var root = new RootCommand("Unsupervised finetuning, the paper's comparison in miniature")
        {
            pairingOption, seedsOption, targetOption, stepsOption, epochsOption, batchOption, lrOption, ratioOption, alphaOption, mixModeOption, mixComputeOption, outOption, dataOption, deviceOption, precisionOption,
            criterionOption, studyOption, sweepOption, sweepPartOption, renderOption,
        };
        sweepPartOption.Validators.Add(r => { string v = r.GetValueOrDefault<string>() ?? ""; if (v is not ("all" or "grid" or "rules")) { r.AddError($"--sweep-part must be all, grid or rules; got '{v}'."); } });
        criterionOption.Validators.Add(r => { string v = r.GetValueOrDefault<string>() ?? ""; if (!Criteria.ContainsKey(v)) { r.AddError($"--criterion must be one of {string.Join(", ", Criteria.Keys)}; got '{v}'."); } });
        pairingOption.Validators.Add(r => { string v = r.GetValueOrDefault<string>() ?? ""; if (v is not ("far" or "near")) { r.AddError($"--pairing must be far or near; got '{v}'."); } });
        seedsOption.Validators.Add(r =>
        {
            string text = r.GetValueOrDefault<string>() ?? string.Empty;
            string[] parts = text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            if (parts.Length == 0 || parts.Any(s => !long.TryParse(s, NumberStyles.Integer, CultureInfo.InvariantCulture, out _)))
            {
                r.AddError($"--seeds must be a comma-separated list of at least one integer, e.g. 0,1,2; got '{text}'.");
            }
        });
        targetOption.Validators.Add(r => { int v = r.GetValueOrDefault<int>(); if (v < 32 || v > 7000) { r.AddError($"--target-size must be between 32 and 7000; got {v}."); } });
        stepsOption.Validators.Add(r => { int? v = r.GetValueOrDefault<int?>(); if (v < 1) { r.AddError($"--steps must be at least 1; got {v}."); } });
        epochsOption.Validators.Add(r => { int? v = r.GetValueOrDefault<int?>(); if (v < 1) { r.AddError($"--epochs must be at least 1; got {v}."); } });
        dataOption.Validators.Add(r => { var d = r.GetValueOrDefault<DirectoryInfo?>(); if (d is not null && !d.Exists) { r.AddError($"--data {d.FullName} does not exist."); } });
        precisionOption.Validators.Add(r => { string v = r.GetValueOrDefault<string>() ?? ""; if (v is not ("float32" or "bfloat16" or "auto")) { r.AddError($"--precision must be float32, bfloat16 or auto; got '{v}'."); } });
        deviceOption.Validators.Add(r => { string v = r.GetValueOrDefault<string>() ?? ""; if (!TorchDevices.IsValidName(v)) { r.AddError($"--device must be auto, cpu, cuda, cuda:N or mps; got '{v}'."); } });
        batchOption.Validators.Add(r => { int v = r.GetValueOrDefault<int>(); if (v < 2) { r.AddError($"--batch-size must be at least 2; got {v}."); } });
        lrOption.Validators.Add(r => { double? v = r.GetValueOrDefault<double?>(); if (v is not null && !(v > 0 && double.IsFinite(v.Value))) { r.AddError($"--lr must be a finite value > 0; got {v}."); } });
        ratioOption.Validators.Add(r => { double v = r.GetValueOrDefault<double>(); if (!(v > 0 && v <= 10)) { r.AddError($"--replay-ratio must be in (0, 10]; got {v}."); } });
        alphaOption.Validators.Add(r => { double v = r.GetValueOrDefault<double>(); if (!(v > 0 && double.IsFinite(v))) { r.AddError($"--mixing-alpha must be a finite value > 0; got {v}."); } });
        mixModeOption.Validators.Add(r => { string v = r.GetValueOrDefault<string>() ?? ""; if (mixers.Find(v) is null) { r.AddError($"--mixing must be {mixers.Describe()}; got '{v}'."); } });
        mixComputeOption.Validators.Add(r => { string v = r.GetValueOrDefault<string>() ?? ""; if (v is not ("replace" or "add")) { r.AddError($"--mixing-compute must be replace or add; got '{v}'."); } });

        var result = root.Parse(args);
        var errors = result.Errors.Select(e => e.Message).ToList();
        bool helpOrVersion = result.Action is not null && (result.Action.GetType().Name.Contains("Help", StringComparison.Ordinal) || result.Action.GetType().Name.Contains("Version", StringComparison.Ordinal));
        if (errors.Count > 0 || helpOrVersion)
        {
            return new QuickstartCommandLine(result, null, errors);
        }

        // Rules across options: System.CommandLine's per-option validators see one option each.
        int targetSize = result.GetValue(targetOption);
        int batchSize = result.GetValue(batchOption);
        if (result.GetValue(stepsOption) is not null && result.GetValue(epochsOption) is not null)
        {
            errors.Add("Give --steps or --epochs, not both.");
        }

        if (result.GetValue(sweepOption) && result.GetValue(studyOption))
        {
            errors.Add("Give --sweep or --study, not both.");
        }

        bool renderOnly = result.GetValue(renderOption);
        if (renderOnly && (result.GetValue(sweepOption) || result.GetValue(studyOption)))
        {
            errors.Add("--render-only rewrites the five-arm report; give it without --sweep and --study (a sweep redraws itself when its command runs again on the same --out).");
        }

        if (batchSize > targetSize)
        {
            errors.Add($"--batch-size ({batchSize}) must not exceed --target-size ({targetSize}): a step needs a full batch of target images.");
        }

        var data = result.GetValue(dataOption) ?? SampleDataDirectory.Find();
        if (data is null)
        {
            errors.Add("samples/data was not found above the working directory or the program; pass --data <folder>.");
        }

        // The report is written after the whole experiment: find out now whether it can be.
        var output = result.GetValue(outOption)!;
        if (WriteProblem(output) is { } problem)
        {
            errors.Add($"--out {output.FullName}: cannot write there ({problem}).");
        }
        else if (renderOnly && !File.Exists(Path.Combine(output.FullName, RenderedReport)))
        {
            errors.Add($"--render-only: {Path.Combine(output.FullName, RenderedReport)} does not exist; --out must be a folder the Quickstart wrote a report into.");
        }

        if (errors.Count > 0)
        {
            return new QuickstartCommandLine(result, null, errors);
        }

        var pairing = result.GetValue(pairingOption) == "near" ? Pairing.Near : Pairing.Far;
        int steps = result.GetValue(stepsOption)
            ?? (result.GetValue(epochsOption) is int epochs ? (int)Math.Ceiling((double)epochs * targetSize / batchSize) : 500);
        var settings = new Settings(
            pairing,
            result.GetValue(seedsOption)!.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(s => long.Parse(s, CultureInfo.InvariantCulture)).Distinct().ToArray(),
            targetSize,
            steps,
            batchSize,
            result.GetValue(lrOption) ?? (pairing == Pairing.Far ? 0.02 : 0.06),
            result.GetValue(ratioOption),
            result.GetValue(alphaOption),
            result.GetValue(mixModeOption)!,
            result.GetValue(mixComputeOption) == "add" ? MixingCompute.Add : MixingCompute.Replace,
            output,
            data!,
            result.GetValue(deviceOption)!,
            result.GetValue(criterionOption) is { } criterion ? Criteria[criterion] : new MonitoringOptions().Criterion,
            result.GetValue(studyOption),
            result.GetValue(sweepOption) ? result.GetValue(sweepPartOption) : null,
            result.GetValue(precisionOption) switch { "bfloat16" => ComputePrecision.BFloat16, "auto" => ComputePrecision.Auto, _ => ComputePrecision.Float32 },
            renderOnly);
        return new QuickstartCommandLine(result, settings, errors);
    }

    /// <summary>The file --render-only reads in --out.</summary>
    public const string RenderedReport = "report.json";

    /// <summary>The label-free criteria by their command-line names (the library's, as uft takes them).</summary>
    public static IReadOnlyDictionary<string, MonitorCriterion> Criteria => MonitorCriteria.ByName;

    public static string CriterionName(MonitorCriterion criterion) => MonitorCriteria.NameOf(criterion);

    /// <summary>Why files cannot be created in <paramref name="folder"/> (creating it if needed), or null when they can.</summary>
    private static string? WriteProblem(DirectoryInfo folder)
    {
        try
        {
            Directory.CreateDirectory(folder.FullName);
            string probe = Path.Combine(folder.FullName, $".write-test-{Guid.NewGuid():N}");
            File.WriteAllBytes(probe, []);
            File.Delete(probe);
            return null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or NotSupportedException)
        {
            return e.Message;
        }
    }
}
