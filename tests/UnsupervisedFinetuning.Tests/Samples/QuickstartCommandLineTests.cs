using UnsupervisedFinetuning.Engine;
using UnsupervisedFinetuning.Samples.Quickstart;

namespace UnsupervisedFinetuning.Tests.Samples;

/// <summary>The Quickstart's arguments: every bad one is a one-line error before anything runs (the program exits 2).</summary>
[TestFixture]
public sealed class QuickstartCommandLineTests
{
    private TempDirectory _dir = null!;

    [SetUp]
    public void SetUp() => _dir = new TempDirectory();

    [TearDown]
    public void TearDown() => _dir.Dispose();

    private QuickstartCommandLine Parse(params string[] args) => QuickstartCommandLine.Parse([.. args, "--out", Path.Combine(_dir.Path, "out")]);

    [Test]
    public void Defaults_GiveTheDocumentedSettings()
    {
        var parsed = Parse();

        Assert.That(parsed.Errors, Is.Empty);
        var settings = parsed.Settings!;
        Assert.That(settings.Pairing, Is.EqualTo(Pairing.Far));
        Assert.That(settings.Seeds, Is.EqualTo(new long[] { 0 }));
        Assert.That((settings.TargetSize, settings.Steps, settings.BatchSize, settings.LearningRate), Is.EqualTo((300, 500, 128, 0.02)));
        Assert.That(settings.MixingCompute, Is.EqualTo(MixingCompute.Replace));
        Assert.That(settings.Precision, Is.EqualTo(ComputePrecision.Float32), "the published numbers are float32");
        Assert.That(Directory.Exists(Path.Combine(settings.Data.FullName, "fashion-mnist")), Is.True);
    }

    [TestCase(",")]
    [TestCase(" , ,")]
    [TestCase("")]
    [TestCase("0,x")]
    public void Seeds_WithoutAnInteger_AreAnError(string seeds)
    {
        // Regression: "--seeds ," passed validation and crashed with a stack trace (exit 134).
        var parsed = Parse("--seeds", seeds);

        Assert.That(parsed.Settings, Is.Null);
        Assert.That(parsed.Errors, Has.One.Contains("--seeds must be a comma-separated list of at least one integer"));
    }

    [Test]
    public void Pairing_Unknown_NamesTheChoices()
    {
        // Regression: the error named an internal enum type.
        var parsed = Parse("--pairing", "middle");

        Assert.That(parsed.Errors, Is.EqualTo(new[] { "--pairing must be far or near; got 'middle'." }));
        Assert.That(Parse("--pairing", "near").Settings!.LearningRate, Is.EqualTo(0.06), "near takes its own learning rate");
    }

    [Test]
    public void Precision_IsFloat32BFloat16OrAuto_FromTheCommandLine()
    {
        Assert.That(Parse("--precision", "half").Errors, Is.EqualTo(new[] { "--precision must be float32, bfloat16 or auto; got 'half'." }));
        var settings = Parse("--precision", "bfloat16").Settings!;
        Assert.That(settings.Precision, Is.EqualTo(ComputePrecision.BFloat16));
        Assert.That(Parse("--precision", "auto").Settings!.Precision, Is.EqualTo(ComputePrecision.Auto));
    }

    [Test]
    public void Out_ThatCannotBeWritten_IsAnErrorBeforeTheExperiment()
    {
        // Regression: an unwritable --out was found only when the report was written, after the whole run.
        string file = Path.Combine(_dir.Path, "a-file");
        File.WriteAllText(file, "not a folder");

        var parsed = QuickstartCommandLine.Parse(["--out", Path.Combine(file, "report")]);

        Assert.That(parsed.Settings, Is.Null);
        Assert.That(parsed.Errors, Has.One.StartsWith($"--out {Path.Combine(file, "report")}: cannot write there"));
        Assert.That(Directory.GetFiles(_dir.Path), Is.EqualTo(new[] { file }), "the probe leaves nothing behind");
    }

    [Test]
    public void RulesAcrossOptions_AreReportedTogether()
    {
        var parsed = Parse("--steps", "10", "--epochs", "2", "--batch-size", "400", "--target-size", "300");

        Assert.That(parsed.Errors, Is.EquivalentTo(new[]
        {
            "Give --steps or --epochs, not both.",
            "--batch-size (400) must not exceed --target-size (300): a step needs a full batch of target images.",
        }));
    }

    [Test]
    public void Epochs_BecomeStepsOverTheTargetSet()
    {
        Assert.That(Parse("--epochs", "3", "--target-size", "300", "--batch-size", "128").Settings!.Steps, Is.EqualTo(8), "⌈3 × 300 / 128⌉");
    }

    [Test]
    public void Help_GivesNoSettingsAndNoErrors()
    {
        var parsed = Parse("--help");

        Assert.That(parsed.Settings, Is.Null);
        Assert.That(parsed.Errors, Is.Empty);
    }
}
