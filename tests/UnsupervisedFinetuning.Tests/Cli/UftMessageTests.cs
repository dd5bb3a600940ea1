using System.CommandLine;
using System.Globalization;
using Spectre.Console;
using UnsupervisedFinetuning.Cli;

namespace UnsupervisedFinetuning.Tests.Cli;

/// <summary>
/// uft's messages and help speak in options, values and files: a bad value says what was expected in words, a
/// setting is named as the user wrote it (an option, or the settings file's JSON path), a misspelt field is pointed at
/// with the name meant, and no message names a .NET type (every error of every CLI test is checked for that, in
/// <see cref="UftTests.Run(string?, int, string[])"/>).
/// </summary>
[TestFixture]
[NonParallelizable]
public sealed class UftMessageTests
{
    private static readonly string Model = UftTests.Model;
    private static readonly string Images = Path.Combine(RepositoryPaths.SampleData, "images");
    private static readonly string Digits = Path.Combine(Images, "digits");
    private TempDirectory _dir = null!;

    [SetUp]
    public void SetUp() => _dir = new TempDirectory();

    [TearDown]
    public void TearDown() => _dir.Dispose();

    private static UftTests.Outcome Run(params string[] args) => UftTests.Run(null, args);

    private string[] Finetune(params string[] extra) =>
        ["finetune", "--backbone", Model, "--target", Digits, "--steps", "2", "--batch-size", "32", "--out", _dir.File("run"), .. extra];

    [TestCase("finetune", "--steps", "abc", "--steps is 'abc'; expected a whole number.")]
    [TestCase("finetune", "--steps", "99999999999", "--steps is '99999999999'; expected a whole number from -2147483648 to 2147483647.")]
    [TestCase("finetune", "--seed", "1.5", "--seed is '1.5'; expected a whole number.")]
    [TestCase("evaluate", "--seed", "q", "--seed is 'q'; expected a whole number.")]
    [TestCase("finetune", "--lr", "x", "--lr is 'x'; expected a number.")]
    [TestCase("finetune", "--lr", "1,5", "--lr is '1,5'; expected a number (a point for decimals: 0.5, not 0,5).")]
    [TestCase("finetune", "--skip-unreadable", "maybe", "--skip-unreadable is 'maybe'; expected true or false, or nothing (--skip-unreadable alone is true).")]
    [TestCase("finetune", "--stepz", "3", "--stepz is not an option of 'uft finetune'; did you mean --steps?")]
    [TestCase("finetune", "--learning-rate", "0.1", "--learning-rate is not an option of 'uft finetune'; did you mean --lr?")]
    [TestCase("finetun", "--steps", "3", "'finetun' is not a command; expected finetune, evaluate, embed or search (did you mean 'finetune'?).")]
    public void ParseError_SaysWhatTheValueShouldBe_InWords(string command, string option, string value, string expected)
    {
        var outcome = Run(command, option, value);

        Assert.That(outcome.ExitCode, Is.EqualTo(ExitCodes.Usage));
        Assert.That(outcome.Error.Split(Environment.NewLine), Is.EqualTo(new[] { "uft: " + expected, "Run 'uft --help' or 'uft <command> --help' for the options.", "" }));
    }

    [Test]
    public void ParseError_AnOptionGivenTwiceOrWithoutItsValue_IsSaidSo()
    {
        var twice = Run("finetune", "--steps", "2", "--steps", "0");
        var missing = Run("finetune", "--steps");

        Assert.That(twice.Error, Does.StartWith("uft: --steps is given 2 times ('2', '0'); give it once."));
        Assert.That(missing.Error, Does.StartWith("uft: --steps needs a value: a whole number."));
    }

    [Test]
    public void Numbers_AreReadWithAPointWhateverTheCulture()
    {
        // Under de-DE, System.CommandLine read "--lr 0.05" as 5 (the point is a group separator there).
        var culture = CultureInfo.CurrentCulture;
        CultureInfo.CurrentCulture = new CultureInfo("de-DE");
        try
        {
            var outcome = Run(Finetune("--lr", "0.05", "--mixing", "mixup", "--mixing-alpha", "0.5", "--monitor-every", "off"));

            Assert.That(outcome.ExitCode, Is.EqualTo(ExitCodes.Success), outcome.Error);
        }
        finally
        {
            CultureInfo.CurrentCulture = culture;
        }

        var settings = FinetuneSettings.Read(Path.Combine(_dir.File("run"), FinetuneCommand.SettingsFile), "test");
        Assert.That((settings.Engine.LearningRate, settings.MixingOptions.Alpha), Is.EqualTo((0.05, 0.5)));
    }

    [TestCase(new[] { "--steps", "0" }, "--steps is 0; expected a positive number of steps.")]
    [TestCase(new[] { "--steps", "-3" }, "--steps is -3; expected a positive number of steps.")]
    [TestCase(new[] { "--epochs", "0" }, "--epochs is 0; expected a positive number of epochs when --steps is not given.")]
    [TestCase(new[] { "--monitor-every", "off", "--restore-best" }, "--monitor-every is off; expected a number of steps or auto when --restore-best or --patience is given (they act on monitor points).")]
    [TestCase(new[] { "--source", "SOURCE", "--replay-uniform-fraction", "0.5" }, "--replay-uniform-fraction is 0.5; expected 0 unless --replay-selection is target-nearest (--replay-selection is uniform).")]
    [TestCase(new[] { "--device", "gpu" }, "--device is 'gpu'; expected 'auto', 'cpu', 'cuda', 'cuda:N' or 'mps'.")]
    public void ValidationFailure_NamesTheOptionsGiven(string[] options, string expected)
    {
        string[] args = [.. Finetune(), .. options.Select(o => o == "SOURCE" ? Path.Combine(Images, "fashion0to4") : o)];
        if (options[0] is "--steps" or "--epochs")
        {
            args = [.. args[..5], .. args[7..]]; // without Finetune's own --steps 2
        }

        var outcome = Run(args);

        Assert.That(outcome.ExitCode, Is.EqualTo(ExitCodes.Usage));
        Assert.That(outcome.Error.Trim(), Is.EqualTo("uft: " + expected));
    }

    [Test]
    public void ValidationFailure_OfAValueFromTheSettingsFile_NamesTheFileAndItsJsonPath_UnlessTheCommandLineOverrodeIt()
    {
        string config = _dir.File("run.json");
        File.WriteAllText(config, """{ "engine": { "learningRate": -1, "steps": 2 } }""");

        var fromFile = Run("finetune", "--backbone", Model, "--target", Digits, "--batch-size", "32", "--out", _dir.File("a"), "--config", config);
        var overridden = Run("finetune", "--backbone", Model, "--target", Digits, "--batch-size", "32", "--out", _dir.File("b"), "--config", config, "--lr", "-2");

        Assert.That(fromFile.ExitCode, Is.EqualTo(ExitCodes.Usage));
        Assert.That(fromFile.Error.Trim(), Is.EqualTo($"uft: --config: {config}: engine.learningRate is -1; expected a finite value > 0."));
        Assert.That(overridden.Error.Trim(), Is.EqualTo("uft: --lr is -2; expected a finite value > 0."));
    }

    [TestCase("""{ "mixingOptions": { "alpah": 2 } }""", "unknown field 'mixingOptions.alpah' (line 1); did you mean 'alpha'?")]
    [TestCase("""{ "engine": { "lerningRate": 0.1 } }""", "unknown field 'engine.lerningRate' (line 1); did you mean 'learningRate'?")]
    [TestCase("{\n  \"engine\": {\n    \"lerningRate\": 0.1\n  }\n}", "unknown field 'engine.lerningRate' (line 3); did you mean 'learningRate'?")]
    [TestCase("""{ "learningRate": 0.1 }""", "unknown field 'learningRate' (line 1); did you mean 'engine.learningRate'?")]
    [TestCase("""{ "replay": { "lr": 0.1 } }""", "unknown field 'replay.lr' (line 1); did you mean 'engine.learningRate'?")]
    [TestCase("""{ "mixingOptions": { "zzz": 2 } }""", "unknown field 'mixingOptions.zzz' (line 1); the fields of mixingOptions are alpha, probability, partners, foldLambda.")]
    [TestCase("""{ "engine": { "steps": "ten" } }""", "engine.steps is \"ten\"; expected a whole number (line 1).")]
    [TestCase("""{ "engine": { "steps": 1.5 } }""", "engine.steps is 1.5; expected a whole number (line 1).")]
    [TestCase("""{ "engine": { "batchSize": 99999999999 } }""", "engine.batchSize is 99999999999; expected a whole number from -2147483648 to 2147483647 (line 1).")]
    [TestCase("""{ "skipUnreadable": "yes" }""", "skipUnreadable is \"yes\"; expected true or false (line 1).")]
    [TestCase("""{ "target": 3 }""", "target is 3; expected text in quotes (line 1).")]
    [TestCase("""{ "replay": { "selection": "nearest" } }""", "replay.selection is \"nearest\"; expected one of \"uniform\", \"coverage\", \"targetNearest\" or \"classBalanced\" (line 1).")]
    [TestCase("""{ "engine": { "steps": 2 """, "not valid JSON at line 1, column 26: Expected depth to be zero at the end of the JSON payload. There is an open JSON object or array that should be closed.")]
    public void SettingsFile_AMistake_IsNamedByItsJsonPath(string json, string expected)
    {
        string config = _dir.File("run.json");
        File.WriteAllText(config, json);

        var outcome = Run("finetune", "--config", config, "--out", _dir.File("run"));

        Assert.That(outcome.ExitCode, Is.EqualTo(ExitCodes.Usage));
        Assert.That(outcome.Error.Trim(), Is.EqualTo($"uft: --config: {config}: {expected}"));
    }

    [Test]
    public void SettingsFile_CommentsAndTrailingCommas_AreRead()
    {
        string config = _dir.File("run.json");
        File.WriteAllText(config, """
            {
              // hand-written settings
              "engine": { "steps": 3, "batchSize": 16, },
              "mixing": "mixup",
            }
            """);

        var settings = FinetuneSettings.Read(config, "--config");

        Assert.That((settings.Engine.Steps, settings.Engine.BatchSize, settings.Mixing), Is.EqualTo(((int?)3, 16, "mixup")));
    }

    [Test]
    public void CheckpointOfAnotherArchitecture_SaysWhatToChangeOnTheCommandLine()
    {
        string weights = Path.Combine(RepositoryPaths.SampleData, "pretrained", "smallcnn256-moco-fashion0to4.backbone.dat");

        var names = Run("embed", "--backbone", weights, "--arch", "resnet18", "--images", Digits, "--out", _dir.File("a.npy"));
        var shapes = Run("embed", "--backbone", weights, "--arch", "smallcnn", "--in-channels", "3", "--images", Digits, "--out", _dir.File("b.npy"));

        Assert.That(names.ExitCode, Is.EqualTo(ExitCodes.Failure));
        Assert.That(names.Error, Does.StartWith($"uft: --backbone {weights} does not fit --arch resnet18 with 3 input channel(s), nothing was loaded: 120 missing key(s): conv1.weight")
            .And.Contain("24 unexpected key(s): features.0.bn.bias")
            .And.Contain("Check --arch (resnet18, resnet34, resnet50, smallcnn, vit-b14, vit-b14-reg4, vit-b16, vit-l14, vit-l14-reg4, vit-s14, vit-s14-reg4, vit-s16, vit-t16). If it is right, the file names its tensors in a layout uft does not map: convert it once to a *.model.json (docs/how-to/import-checkpoints.md shows how) and give that to --backbone."));
        Assert.That(shapes.Error.Trim(), Is.EqualTo($"uft: --backbone {weights} does not fit --arch smallcnn with 3 input channel(s), nothing was loaded: shape mismatch 'features.0.conv.weight': checkpoint [32,1,3,3], model [32,3,3,3]. " +
            "The names fit but the shapes do not: check --arch (another depth?) and --in-channels (the file's first convolution says how many)."));
    }

    [TestCase(new[] { "--criterion", "source-cka" }, "--criterion source-cka measures drift on source images, but neither --source-probe nor --source is given.")]
    [TestCase(new[] { "--criterion", "validation-knn" }, "--criterion validation-knn needs a few labelled target images in --validation.")]
    [TestCase(new[] { "--source", "SOURCE", "--replay-count", "75", "--replay-selection-pool", "10" }, "--replay-selection-pool is 10, fewer than the 75 images to replay; expected at least 75.")]
    [TestCase(new[] { "--source", "SOURCE", "--replay-count", "1", "--composition", "fixed-share" }, "--composition fixed-share with 1 replayed images for 300 target images rounds to 0 source images in a batch of 32, so nothing would be replayed; raise --replay-ratio or --batch-size, or use --composition union.")]
    public void LibraryRefusal_IsSaidWithTheOptions_WithoutItsParameterName(string[] options, string expected)
    {
        var outcome = Run([.. Finetune(), .. options.Select(o => o == "SOURCE" ? Path.Combine(Images, "fashion0to4") : o)]);

        Assert.That(outcome.ExitCode, Is.EqualTo(ExitCodes.Failure));
        Assert.That(outcome.Error.Split('\n').Where(l => l.StartsWith("uft:", StringComparison.Ordinal)), Is.EqualTo(new[] { "uft: " + expected }));
    }

    [Test]
    public void ASettingOnlyTheFileCanGive_IsNamedByItsJsonPath()
    {
        string config = _dir.File("run.json");
        File.WriteAllText(config, """{ "mocoV2": { "queueSize": 10 } }""");

        var outcome = Run([.. Finetune(), "--config", config]);

        Assert.That(outcome.ExitCode, Is.EqualTo(ExitCodes.Failure));
        Assert.That(outcome.Error.Split('\n').Where(l => l.StartsWith("uft:", StringComparison.Ordinal)).Single(), Is.EqualTo($"uft: --config: {config}: mocoV2.queueSize is 10; expected at least the batch size (32) so a whole batch of keys fits."));
    }

    [Test]
    public void SettingNames_NameOptionsThatExist_AndFieldsTheSettingsFileHas()
    {
        Command[] commands = [FinetuneCommand.Create(AnsiConsole.Console, CancellationToken.None), SearchCommand.Create(AnsiConsole.Console, CancellationToken.None)];
        var naming = FinetuneSettings.Json.PropertyNamingPolicy!;
        foreach (var (path, option) in SettingNames.OptionOf)
        {
            Assert.That(commands.SelectMany(c => c.Options).Any(o => o.Name == option), Is.True, $"{path} → {option}");
            if (SettingNames.JsonPath(path) is not { } json)
            {
                continue; // FinetuneRequest and FinetuneSearchOptions are not settings of the file
            }

            Type? type = typeof(FinetuneSettings);
            foreach (string field in json.Split('.'))
            {
                type = type?.GetProperties().FirstOrDefault(p => naming.ConvertName(p.Name) == field)?.PropertyType;
            }

            Assert.That(type, Is.Not.Null, $"{path} → {json}");
        }
    }

    [Test]
    public void Help_EveryOptionMarksItsDefaultOneWay_AndTheRequiredOnes()
    {
        var root = new RootCommand
        {
            FinetuneCommand.Create(AnsiConsole.Console, CancellationToken.None),
            EvaluateCommand.Create(AnsiConsole.Console, CancellationToken.None),
            EmbedCommand.Create(AnsiConsole.Console, CancellationToken.None),
            SearchCommand.Create(AnsiConsole.Console, CancellationToken.None),
        };
        var required = new Dictionary<string, string[]>
        {
            ["finetune"] = ["--backbone", "--target", "--out"],
            ["evaluate"] = ["--backbone", "--train"],
            ["embed"] = ["--backbone", "--images", "--out"],
            ["search"] = ["--backbone", "--target", "--budget-steps"],
        };

        foreach (var command in root.Subcommands)
        {
            foreach (var option in command.Options)
            {
                string description = option.Description ?? "";
                Assert.That(description, Does.Not.Contain("(default"), $"{command.Name} {option.Name}: defaults are written [default: …], as the help writes the ones it knows");
                Assert.That(description.Contains("[default:", StringComparison.Ordinal) && option.HasDefaultValue, Is.False, $"{command.Name} {option.Name}: the help adds [default: …] itself");
                bool marked = description.Contains("[required", StringComparison.Ordinal);
                Assert.That(marked, Is.EqualTo(required[command.Name].Contains(option.Name)), $"{command.Name} {option.Name}");
            }
        }

        Assert.That(root.Subcommands.Single(c => c.Name == "finetune").Options.Single(o => o.Name == "--target").Description, Does.EndWith("[required unless --config or --resume gives it]"));
    }

    [TestCase("finetune")]
    [TestCase("evaluate")]
    [TestCase("embed")]
    [TestCase("search")]
    public void Help_At80Columns_FitsThem(string command)
    {
        var outcome = UftTests.Run(null, 80, command, "--help");

        Assert.That(outcome.ExitCode, Is.Zero);
        Assert.That(outcome.Output, Does.Contain("--backbone").And.Contain("[required"));
        Assert.That(outcome.Output.Split('\n').Where(line => line.TrimEnd().Length > 80), Is.Empty);
    }
}
