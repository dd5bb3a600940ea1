using System.CommandLine;
using Spectre.Console;

namespace UnsupervisedFinetuning.Cli;

/// <summary>
/// <c>uft finetune</c>: continues self-supervised training of a pretrained backbone on unlabelled target images,
/// optionally with sparse replay from a source folder and with data mixing. Writes into <c>--out</c>: the
/// engine checkpoint (every <c>--checkpoint-every</c> steps and at the end; <c>--resume</c> continues it), the
/// settings used (<c>options.json</c>, readable by <c>--config</c>), the log (<c>log.txt</c>), the metrics
/// (<c>metrics.csv</c>, <c>monitor.csv</c>), the report (<c>report.md/.csv/.json</c>, the monitoring chart) and the
/// finetuned model (<c>finetuned.model.json</c> with its weights). The options are <see cref="SettingOptions"/>, applied over
/// the settings file; <see cref="FinetuneRun"/> runs what they resolve to.
/// </summary>
internal static class FinetuneCommand
{
    public const string SettingsFile = "options.json";
    public const string LogFile = "log.txt";
    public const string ModelFile = "finetuned.model.json";

    public static Command Create(IAnsiConsole console, CancellationToken stop, UftCatalogs? catalogs = null)
    {
        catalogs ??= UftCatalogs.BuiltIn;
        var settingOptions = new SettingOptions(catalogs);
        var config = new Option<string?>("--config") { Description = "Settings from a JSON file that mirrors the options types (the options.json a run writes is one); options given here override it" };
        var resume = new Option<bool>("--resume") { Description = $"Continue the run in --out from its checkpoint; settings not given come from --out/{SettingsFile}" };
        var threads = ThreadsArgument.Create();
        var command = new Command("finetune", "Finetune a pretrained backbone on unlabelled target images, with optional sparse source replay and data mixing.");
        var all = settingOptions.All.Select(o => o.Option).ToList();
        all.InsertRange(4, [config, resume]); // after the model options, as the help has always listed them
        all.Add(threads);
        foreach (var option in all)
        {
            command.Options.Add(option);
        }

        command.SetAction(parse =>
        {
            bool resuming = parse.GetValue(resume);
            string? outDir = parse.GetValue(settingOptions.Out);
            string? configPath = parse.GetValue(config);
            string? settingsFile = configPath ?? (resuming && outDir is not null && File.Exists(Path.Combine(outDir, SettingsFile)) ? Path.Combine(outDir, SettingsFile) : null);
            var settings = settingsFile is null ? new FinetuneSettings(catalogs) : FinetuneSettings.Read(settingsFile, configPath is not null ? "--config" : "--resume", catalogs);
            var origins = settingsFile is null ? new SettingOrigins() : new SettingOrigins(settingsFile);

            // Command-line options override the file, one by one; a path from the file is named by its field in messages.
            SettingOptions.Apply(settingOptions.All, parse, settings, origins);
            bool replayAsked = settingOptions.Ratio.Given(parse) || settingOptions.Count.Given(parse) || settingOptions.Composition.Given(parse);
            if (replayAsked && settings.Source is null)
            {
                throw new UsageException("--replay-ratio, --replay-count and --composition need --source (the images to replay).");
            }

            bool extend = settingOptions.Steps.Given(parse) || settingOptions.Epochs.Given(parse);
            using var threadCount = ThreadsArgument.Apply(parse.GetValue(threads), out int threadsUsed);
            return FinetuneRun.Run(settings, resuming, extend, console, parse.InvocationConfiguration.Error, stop, parse.Tokens.Select(t => t.Value), origins, threadsUsed);
        });
        return command;
    }
}
