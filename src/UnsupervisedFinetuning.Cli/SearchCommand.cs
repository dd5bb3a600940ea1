using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using Spectre.Console;
using UnsupervisedFinetuning.Data;
using UnsupervisedFinetuning.Engine;
using UnsupervisedFinetuning.Replay;
using UnsupervisedFinetuning.Tuning;

namespace UnsupervisedFinetuning.Cli;

/// <summary>
/// <c>uft search</c>: picks the replay ratio and mixing α within a compute budget (<see cref="FinetuneSearch"/>): every
/// combination of <c>--ratios</c> × <c>--mixup-alphas</c> (of <c>--mixing</c>: mixup, or another strategy of the mixing
/// catalog that takes an α) trains an equal share of <c>--budget-steps</c> from the
/// pretrained weights, is scored label-free (or by <c>--validation</c>'s leave-one-out kNN), and the best is printed
/// with the <c>uft finetune</c> options that train it at full length.
/// </summary>
internal static class SearchCommand
{
    public static Command Create(IAnsiConsole console, CancellationToken stop, UftCatalogs? catalogs = null)
    {
        catalogs ??= UftCatalogs.BuiltIn;
        var settingOptions = new SettingOptions(catalogs, search: true);
        var budget = new Option<long?>("--budget-steps") { Description = $"Steps of all trials together; each candidate gets an equal share {ModelArguments.Required}" };
        var ratios = new Option<string>("--ratios") { Description = "Replay ratios to try, comma-separated; 0 = no replay", DefaultValueFactory = _ => "0,0.1,0.25,0.5,1" };
        var alphas = new Option<string>("--mixup-alphas", "--mixing-alphas") { Description = "α values of --mixing to try, comma-separated; none = no mixing", DefaultValueFactory = _ => "none,1" };
        var json = new Option<string?>("--json") { Description = "Also write every trial and the choice to this JSON file" };

        var threads = ThreadsArgument.Create();
        var command = new Command("search", "Choose the replay ratio and mixing α within a compute budget: short trials of every combination, scored without labels (or by a few).");
        var all = settingOptions.Search.Select(o => o.Option).ToList();
        all.InsertRange(all.IndexOf(settingOptions.Source.Option) + 1, [budget, ratios, alphas]);
        all.AddRange([json, threads]);
        foreach (var option in all)
        {
            command.Options.Add(option);
        }

        command.SetAction(parse =>
        {
            var settings = new FinetuneSettings(catalogs);
            SettingOptions.Apply(settingOptions.Search, parse, settings, new SettingOrigins());
            string targetPath = settings.Target ?? throw new UsageException("--target is required: the unlabelled target images (a folder or a manifest).");
            long budgetSteps = parse.GetValue(budget) ?? throw new UsageException("--budget-steps is required: the steps all trials share.");
            var replayOptions = settings.Replay;
            var strategy = settingOptions.Mixing.Given(parse) ? catalogs.MixingStrategy(settings.Mixing) : Mixing.Mixup.Entry;
            if (catalogs.AlphaMixing.Find(strategy.Name) is null)
            {
                throw new UsageException($"--mixing is '{settings.Mixing}'; a search over α needs a strategy that mixes with an α: {catalogs.AlphaMixing.Describe()}.");
            }

            var candidates = FinetuneCandidate.Grid(strategy, ParseList(parse.GetValue(ratios)!, "--ratios", allowNone: false).Select(v => v!.Value),
                ParseList(parse.GetValue(alphas)!, "--mixup-alphas", allowNone: true), replayOptions);
            var search = new FinetuneSearchOptions { BudgetSteps = budgetSteps };
            if (settingOptions.Criterion.Given(parse))
            {
                search.Criterion = settings.Engine.Monitoring.Criterion;
            }

            if (parse.GetValue(json) is { } jsonOut)
            {
                OutputPaths.WritableFile(jsonOut, "--json"); // before the trials run
            }

            using var threadCount = ThreadsArgument.Apply(parse.GetValue(threads), out int threadsUsed);
            using var pretrained = ModelArguments.Load(settings.Backbone, settings.Arch, settings.InputSize, settings.InputChannels, architectures: catalogs.Architectures);
            var options = settings.Engine;
            var views = pretrained.AugmentationOptions();
            options.Augmentation.ImageSize ??= views.ImageSize;
            options.Augmentation.NormalizationMean ??= views.NormalizationMean;
            options.Augmentation.NormalizationStd ??= views.NormalizationStd;
            var imageOptions = pretrained.ImageFolderOptions();
            if (settings.WorkingSize is < 1 or > OptionValues.MaxWorkingSize)
            {
                throw new UsageException($"--working-size is {settings.WorkingSize}; expected 1 to {OptionValues.MaxWorkingSize} pixels.");
            }

            imageOptions.Height = imageOptions.Width = settings.WorkingSize ?? imageOptions.Height;
            imageOptions.DecodeThreads = threadsUsed;
            var logger = Microsoft.Extensions.Logging.Abstractions.NullLogger<FinetuneEngine>.Instance;
            using var targetSet = DataArguments.Unlabeled(targetPath, "--target", imageOptions, logger, sources: catalogs.Sources).LoadIntoMemory();
            IImageDataset? sourceSet = settings.Source is not { } sourcePath ? null
                : OptionValues.NeedsSourceLabels(replayOptions.Selection) ? DataArguments.Labeled(sourcePath, "--source", imageOptions, logger, minimumClasses: 1, sources: catalogs.Sources)
                : DataArguments.Unlabeled(sourcePath, "--source", imageOptions, logger, sources: catalogs.Sources);
            using var labelled = settings.Validation is { } v ? DataArguments.Labeled(v, "--validation", imageOptions, logger, sources: catalogs.Sources).LoadIntoMemory() : null;

            console.MarkupLineInterpolated($"search: {candidates.Count} candidates × {budgetSteps / candidates.Count} steps (budget {budgetSteps}), {targetSet.Count} target images{(sourceSet is null ? "" : $", source {sourceSet.Count:N0} files")}");
            FinetuneSearchResult result;
            try
            {
                result = FinetuneSearch.Run(options, settings.CreateMethod(), candidates,
                    new FinetuneRequest { Backbone = pretrained.Backbone, Head = pretrained.Head, Target = targetSet, Source = sourceSet, Validation = labelled }, search,
                    progress: new SynchronousProgress<FinetuneTrial>(t => console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"trial {t.Candidate.Name}: score {t.Score:F4} ({t.Seconds:F0} s){(t.Failure is null ? "" : " — " + t.Failure)}"))),
                    cancellationToken: stop);
            }
            catch (ArgumentException e) when (e.ParamName is "search" or "candidates")
            {
                // Refused before any trial trained: the budget or the grid the options describe (e.g. a budget too small for it).
                throw new UsageException(ConsoleText.Message(e));
            }

            var table = new Table().Border(TableBorder.Rounded).Title($"scored by {result.Criterion} at the last step (higher is better)")
                .AddColumn("candidate").AddColumn(new TableColumn("score").RightAligned()).AddColumn(new TableColumn("RankMe").RightAligned())
                .AddColumn(new TableColumn("uniformity").RightAligned()).AddColumn(new TableColumn(labelled is null ? "leave-one-out kNN" : $"leave-one-out kNN ({labelled.Count} images)").RightAligned());
            foreach (var t in result.Trials)
            {
                string mark = ReferenceEquals(t, result.Best) ? " ◆" : "";
                table.AddRow(Markup.Escape(t.Candidate.Name + mark), t.Score.ToString("F4", CultureInfo.InvariantCulture), t.Last?.Target.RankMe.ToString("F1", CultureInfo.InvariantCulture) ?? "–",
                    t.Last?.Target.Uniformity.ToString("F3", CultureInfo.InvariantCulture) ?? "–", t.Last?.ValidationKnn is { } knn ? knn.ToString("P1", CultureInfo.InvariantCulture) : "–");
            }

            console.Write(table);
            if (labelled is { Count: < EvaluationCounts.Small } few)
            {
                console.MarkupLineInterpolated($"[yellow]The leave-one-out kNN rests on {few.Count} labelled images (fewer than {EvaluationCounts.Small}): one image moves it {EvaluationCounts.PointsPerImage(few.Count)} points, so trials that differ by a few points are tied.[/]");
            }

            console.MarkupLineInterpolated($"chosen: [bold]{result.Best.Candidate.Name}[/]; train it with: uft finetune {FinetuneArguments(result.Best.Candidate, settings)}");
            if (parse.GetValue(json) is { } jsonPath)
            {
                var document = new
                {
                    criterion = result.Criterion.ToString(),
                    budgetSteps,
                    chosen = result.Best.Candidate.Name,
                    finetuneArguments = FinetuneArguments(result.Best.Candidate, settings),
                    trials = result.Trials.Select(t => new { candidate = t.Candidate.Name, steps = t.Steps, score = Finite(t.Score), rankMe = t.Last is null ? null : Finite(t.Last.Target.RankMe), uniformity = t.Last is null ? null : Finite(t.Last.Target.Uniformity), leaveOneOutKnn = t.Last?.ValidationKnn, failure = t.Failure, seconds = t.Seconds }),
                };
                File.WriteAllText(jsonPath + ".tmp", JsonSerializer.Serialize(document, new JsonSerializerOptions { WriteIndented = true }));
                File.Move(jsonPath + ".tmp", jsonPath, overwrite: true); // whole or not at all
                console.MarkupLineInterpolated($"wrote {jsonPath}");
            }

            return ExitCodes.Success;
        });
        return command;
    }

    private static double? Finite(double value) => double.IsFinite(value) ? value : null;

    /// <summary>The uft finetune options that reproduce a candidate's replay and mixing.</summary>
    internal static string FinetuneArguments(FinetuneCandidate candidate, FinetuneSettings settings)
    {
        // The settings the trials ran with, so the printed command trains what was tried (at full length).
        var parts = new List<string>
        {
            $"--method {settings.Method}",
            string.Create(CultureInfo.InvariantCulture, $"--batch-size {settings.Engine.BatchSize} --lr {settings.Engine.LearningRate} --seed {settings.Engine.Seed}"),
        };
        if (candidate.Replay is SparseSourceReplay replay)
        {
            parts.Add($"--replay-ratio {replay.Settings["Ratio"]}");
            if (replay.Selector.Name != "uniform")
            {
                parts.Add($"--replay-selection {replay.Selector.Name}");
            }
        }

        parts.Add(candidate.Mixing is Mixing.NoMixing ? "--mixing none" : $"--mixing {candidate.Mixing.Name} --mixing-alpha {candidate.Mixing.Settings["Alpha"]}");
        if (settings.Engine.Precision != ComputePrecision.Float32)
        {
            parts.Add($"--precision {settings.Engine.Precision.ToString().ToLowerInvariant()}");
        }

        return string.Join(' ', parts);
    }

    private static List<double?> ParseList(string text, string option, bool allowNone)
    {
        var values = new List<double?>();
        foreach (string part in text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            if (allowNone && part.Equals("none", StringComparison.OrdinalIgnoreCase))
            {
                values.Add(null);
            }
            else if (double.TryParse(part, NumberStyles.Float, CultureInfo.InvariantCulture, out double value) && double.IsFinite(value) && (value > 0 || (!allowNone && value == 0)))
            {
                values.Add(value);
            }
            else
            {
                throw new UsageException($"{option} has '{part}'; expected comma-separated {(allowNone ? "values > 0 or none" : "values ≥ 0")}, e.g. {(allowNone ? "none,1" : "0,0.25,1")}.");
            }
        }

        return values.Count > 0 ? values : throw new UsageException($"{option} is empty; expected at least one value.");
    }
}
