using System.Globalization;
using UnsupervisedFinetuning.Cli;

namespace UnsupervisedFinetuning.Tests.Cli;

/// <summary>
/// uft's messages speak in options, values and files: a bad value says what was expected in words, never a .NET
/// type, and a mistake in the settings file is named by its JSON path, with the field meant for a misspelt one.
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

    [TestCase("""{ "mixingOptions": { "alpah": 2 } }""", "unknown field 'mixingOptions.alpah' (line 1); did you mean 'alpha'?")]
    [TestCase("""{ "engine": { "lerningRate": 0.1 } }""", "unknown field 'engine.lerningRate' (line 1); did you mean 'learningRate'?")]
    [TestCase("{\n  \"engine\": {\n    \"lerningRate\": 0.1\n  }\n}", "unknown field 'engine.lerningRate' (line 3); did you mean 'learningRate'?")]
    [TestCase("""{ "learningRate": 0.1 }""", "unknown field 'learningRate' (line 1); did you mean 'engine.learningRate'?")]
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
}
