using System.Buffers.Binary;
using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using Spectre.Console;
using UnsupervisedFinetuning.Backbones;
using UnsupervisedFinetuning.Cli;
using UnsupervisedFinetuning.Data;
using UnsupervisedFinetuning.Evaluation;

namespace UnsupervisedFinetuning.Tests.Cli;

/// <summary>
/// The uft tool end to end on the shipped data (samples/data/images, the shipped source model), a few steps at a
/// time: in-process through <see cref="Uft.Run"/>, and as a child process for the exit codes and Ctrl+C.
/// </summary>
[TestFixture]
[NonParallelizable]
public sealed class UftTests
{
    internal static readonly string Model = Path.Combine(RepositoryPaths.SampleData, "pretrained", "smallcnn256-moco-fashion0to4.model.json");
    private static readonly string Images = Path.Combine(RepositoryPaths.SampleData, "images");
    private TempDirectory _dir = null!;

    [SetUp]
    public void SetUp() => _dir = new TempDirectory();

    [TearDown]
    public void TearDown() => _dir.Dispose();

    internal sealed record Outcome(int ExitCode, string Output, string Error);

    /// <summary>Runs uft in-process; <paramref name="stopWhen"/> cancels (as Ctrl+C does) once a line of output contains it.</summary>
    internal static Outcome Run(string? stopWhen = null, params string[] args) => Run(stopWhen, 200, args);

    /// <summary>
    /// Runs uft in-process on a console <paramref name="width"/> columns wide. Every error line it prints is checked to
    /// speak in options, values and files (no .NET type, no C# parameter): each test that provokes an error is a case.
    /// </summary>
    internal static Outcome Run(string? stopWhen, int width, params string[] args) => Run(stopWhen, width, (UftCatalogs?)null, args);

    /// <summary>As <see cref="Run(string?, int, string[])"/>, with catalogs of the host's (null: the built-in ones).</summary>
    internal static Outcome Run(string? stopWhen, int width, UftCatalogs? catalogs, params string[] args)
    {
        using var stop = new CancellationTokenSource();
        var output = new WatchingWriter(stopWhen, stop);
        var console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Out = new AnsiConsoleOutput(output),
            Ansi = AnsiSupport.No,
            ColorSystem = ColorSystemSupport.NoColors,
            Interactive = InteractionSupport.No,
        });
        console.Profile.Width = width;
        var error = new StringWriter();
        int code = Uft.Run(args, console, error, stop.Token, catalogs);
        AssertSpeaksCommandLine(error.ToString());
        return new Outcome(code, output.ToString(), error.ToString());
    }

    /// <summary>What a message of uft must not contain: .NET's words for what the user wrote as options and files.</summary>
    internal static readonly string[] DotNetText =
    [
        "System.", "Exception", "(Parameter '", "`1", "FinetuneOptions", "SparseReplayOptions", "MixingOptions", "MonitoringOptions",
        "MocoV2Options", "FinetuneRequest", "CheckpointKeyMap", "Change the reader options", ".NET member",
    ];

    internal static void AssertSpeaksCommandLine(string error)
    {
        foreach (string line in error.Split('\n').Where(l => l.StartsWith("uft:", StringComparison.Ordinal)))
        {
            Assert.That(DotNetText.Where(t => line.Contains(t, StringComparison.Ordinal)), Is.Empty, line);
        }
    }

    private string[] Finetune(string output, int steps, params string[] extra) =>
        ["finetune", "--backbone", Model, "--target", Path.Combine(Images, "digits"), "--steps", steps.ToString(System.Globalization.CultureInfo.InvariantCulture), "--batch-size", "32", "--out", output, .. extra];

    [Test]
    public void Finetune_WithReplayAndMixing_WritesModelCheckpointSettingsAndLog()
    {
        string output = _dir.File("run");

        var outcome = Run(null, Finetune(output, 3, "--source", Path.Combine(Images, "fashion0to4"), "--mixing", "mixup", "--replay-ratio", "0.5"));

        Assert.That(outcome.ExitCode, Is.EqualTo(ExitCodes.Success), outcome.Error);
        var settings = FinetuneSettings.Read(Path.Combine(output, FinetuneCommand.SettingsFile), "test");
        Assert.That((settings.Engine.Steps, settings.Mixing, settings.Replay.Ratio, settings.Engine.BatchSize), Is.EqualTo((3, "mixup", 0.5, 32)));
        Assert.That(File.ReadAllText(Path.Combine(output, FinetuneCommand.LogFile)), Does.Contain("Checkpoint written").And.Contain("150 replayed"));
        using var start = PretrainedModel.Load(Model);
        using var finetuned = PretrainedModel.Load(Path.Combine(output, FinetuneCommand.ModelFile));
        Assert.That(finetuned.Description.Provenance["replayed"], Is.EqualTo("150"), "round(0.5 × 300) source images");
        Assert.That(finetuned.Head, Is.Not.Null);
        var before = start.Backbone.state_dict();
        var after = finetuned.Backbone.state_dict();
        Assert.That(before.Keys.Count(k => !before[k].equal(after[k]).all().item<bool>()), Is.GreaterThan(0), "training changed the weights");
        Assert.That(File.Exists(Path.Combine(output, FinetuneEngineCheckpointFile)), Is.True);
    }

    private const string FinetuneEngineCheckpointFile = UnsupervisedFinetuning.Engine.FinetuneEngine.CheckpointFileName;

    [Test]
    public void Finetune_RestoreBestByDrift_SavesThePretrainedBackboneAndPrintsEveryPoint()
    {
        // Linear CKA against the start is 1 at step 0 and cannot exceed it, so by source-cka the best point is
        // step 0: the saved backbone must be the pretrained one, bit for bit, though four steps were trained.
        string output = _dir.File("run");

        var outcome = Run(null, Finetune(output, 4, "--source-probe", Path.Combine(Images, "fashion0to4"), "--validation", Path.Combine(Images, "digits-labelled"),
            "--monitor-every", "2", "--criterion", "source-cka", "--restore-best"));

        Assert.That(outcome.ExitCode, Is.EqualTo(ExitCodes.Success), outcome.Error);
        Assert.That(outcome.Output, Does.Contain("monitor step 2: RankMe").And.Contain("monitor step 4: RankMe").And.Contain("source CKA").And.Contain("validation kNN"));
        Assert.That(outcome.Output, Does.Contain("best step by source-cka").And.Contain("0 (saved)"));
        Assert.That(outcome.Output, Does.Contain("validation kNN").And.Contain("% of 300 images"), "an accuracy names its image count");

        // monitor.csv holds every point, the step-0 baseline too, with the numbers the screen rounds.
        string[] rows = File.ReadAllLines(Path.Combine(output, MetricsFiles.MonitorFile));
        Assert.That(rows[0], Does.StartWith("step,rankme,uniformity,alignment,source_cka"));
        var points = rows.Skip(1).Select(r => r.Split(',')).ToList();
        Assert.That(points.Select(p => p[0]), Is.EqualTo(new[] { "0", "2", "4" }));
        foreach (var point in points)
        {
            double rankMe = double.Parse(point[1], System.Globalization.CultureInfo.InvariantCulture);
            Assert.That(outcome.Output, Does.Contain($"monitor step {point[0]}: RankMe {ReportNumbers.Fixed(rankMe, 1)}"));
        }

        Assert.That(double.Parse(points[0][4], System.Globalization.CultureInfo.InvariantCulture), Is.EqualTo(1.0).Within(1e-9), "CKA of the pretrained backbone with itself");
        Assert.That(File.ReadAllLines(Path.Combine(output, MetricsFiles.StepsFile)).Skip(1).Select(r => r.Split(',')[0]), Is.EqualTo(new[] { "1", "2", "3", "4" }));
        using var start = PretrainedModel.Load(Model);
        using var saved = PretrainedModel.Load(Path.Combine(output, FinetuneCommand.ModelFile));
        Assert.That((saved.Description.Provenance["selectedStep"], saved.Description.Provenance["savedStep"], saved.Description.Provenance["steps"]), Is.EqualTo(("0", "0", "4")));
        var before = start.Backbone.state_dict();
        var after = saved.Backbone.state_dict();
        Assert.That(before.Keys.All(k => before[k].equal(after[k]).all().item<bool>()), Is.True);
        var settings = FinetuneSettings.Read(Path.Combine(output, FinetuneCommand.SettingsFile), "test");
        Assert.That((settings.Engine.Monitoring.EverySteps, settings.Engine.Monitoring.Criterion, settings.Engine.Monitoring.RestoreBest), Is.EqualTo(((int?)2, UnsupervisedFinetuning.Monitoring.MonitorCriterion.SourceCka, true)), "options.json keeps the monitoring settings");
    }

    [Test]
    public void Finetune_ClassBalancedSelection_ReplaysEqualSharesOfTheSourceSubFolders()
    {
        // 300 digits × 0.25 = 75 replayed images from 5 class sub-folders: 15 from each.
        string output = _dir.File("run");
        string source = Path.Combine(Images, "fashion0to4-labelled");

        var outcome = Run(null, Finetune(output, 2, "--source", source, "--replay-selection", "class-balanced"));

        Assert.That(outcome.ExitCode, Is.EqualTo(ExitCodes.Success), outcome.Error);
        var labels = ImageFolder.IndexLabeled(source);
        int[] subset = UnsupervisedFinetuning.Engine.EngineCheckpoint.ReadHeader(Path.Combine(output, FinetuneEngineCheckpointFile)).Subset;
        Assert.That(subset.GroupBy(labels.GetLabel).Select(g => g.Count()), Is.EqualTo(Enumerable.Repeat(15, 5)));
        var settings = FinetuneSettings.Read(Path.Combine(output, FinetuneCommand.SettingsFile), "test");
        Assert.That(settings.Replay.Selection, Is.EqualTo(UnsupervisedFinetuning.Replay.ReplaySelection.ClassBalanced), "options.json keeps the rule, so --resume selects nothing new");
    }

    [Test]
    public void Search_TriesEveryCombination_AndPrintsTheChoiceAsFinetuneOptions()
    {
        string json = _dir.File("search.json");

        var outcome = Run(null, "search", "--backbone", Model, "--target", Path.Combine(Images, "digits"), "--source", Path.Combine(Images, "fashion0to4"),
            "--budget-steps", "40", "--ratios", "0,0.25", "--mixup-alphas", "none,1", "--batch-size", "32", "--json", json);

        Assert.That(outcome.ExitCode, Is.EqualTo(ExitCodes.Success), outcome.Error);
        using var document = JsonDocument.Parse(File.ReadAllText(json));
        var trials = document.RootElement.GetProperty("trials").EnumerateArray().ToList();
        Assert.That(trials.Select(t => t.GetProperty("candidate").GetString()), Is.EqualTo(new[] { "replay 0", "replay 0.25", "replay 0 + mixup α 1", "replay 0.25 + mixup α 1" }));
        Assert.That(trials.Select(t => t.GetProperty("steps").GetInt64()), Is.All.EqualTo(10));
        var best = trials.MaxBy(t => t.GetProperty("score").GetDouble());
        Assert.That(document.RootElement.GetProperty("chosen").GetString(), Is.EqualTo(best.GetProperty("candidate").GetString()));
        Assert.That(document.RootElement.GetProperty("criterion").GetString(), Is.EqualTo("Uniformity"), "no labels: the label-free default");
        Assert.That(outcome.Output, Does.Contain("train it with: uft finetune " + document.RootElement.GetProperty("finetuneArguments").GetString()));
    }

    [TestCase("--ratios", "0,-1", "--ratios has '-1'")]
    [TestCase("--mixup-alphas", "0", "--mixup-alphas has '0'")]
    public void Search_BadLists_NameTheOption(string option, string value, string named)
    {
        var outcome = Run(null, "search", "--backbone", Model, "--target", Path.Combine(Images, "digits"), "--budget-steps", "40", option, value);

        Assert.That(outcome.ExitCode, Is.EqualTo(ExitCodes.Usage));
        Assert.That(outcome.Error, Does.Contain(named));
    }

    [TestCase("--precision", "half", "--precision is 'half'")]
    [TestCase("--precision", "float16", "needs dynamic loss scaling")]
    [TestCase("--replay-selection", "nearest", "--replay-selection is 'nearest'")]
    [TestCase("--monitor-every", "often", "--monitor-every is 'often'")]
    [TestCase("--criterion", "loss", "--criterion is 'loss'")]
    public void Finetune_BadMonitoringArguments_NameTheOption(string option, string value, string named)
    {
        var outcome = Run(null, Finetune(_dir.File("run"), 2, option, value));

        Assert.That(outcome.ExitCode, Is.EqualTo(ExitCodes.Usage));
        Assert.That(outcome.Error, Does.Contain(named));
    }

    [Test]
    public void Finetune_StoppedByCtrlCThenResumed_EndsExactlyAsAnUninterruptedRun()
    {
        string whole = _dir.File("whole");
        string stopped = _dir.File("stopped");

        var uninterrupted = Run(null, Finetune(whole, 6));
        var interrupted = Run("step 3/6", Finetune(stopped, 6));
        bool modelAfterStop = File.Exists(Path.Combine(stopped, FinetuneCommand.ModelFile));
        var resumed = Run(null, "finetune", "--out", stopped, "--resume");

        Assert.That(uninterrupted.ExitCode, Is.EqualTo(ExitCodes.Success), uninterrupted.Error);
        Assert.That(interrupted.ExitCode, Is.EqualTo(ExitCodes.Interrupted), interrupted.Error);
        Assert.That(interrupted.Output, Does.Contain("--resume"), "says how to continue");
        Assert.That(modelAfterStop, Is.False, "no finetuned model from a stopped run");
        Assert.That(resumed.ExitCode, Is.EqualTo(ExitCodes.Success), resumed.Error);
        Assert.That(resumed.Output, Does.Contain("step 4/6").And.Not.Contain("step 3/6"), "continues after the last step done");
        using var a = PretrainedModel.Load(Path.Combine(whole, FinetuneCommand.ModelFile));
        using var b = PretrainedModel.Load(Path.Combine(stopped, FinetuneCommand.ModelFile));
        foreach (var (name, value) in a.Backbone.state_dict())
        {
            Assert.That(b.Backbone.state_dict()[name].equal(value).all().item<bool>(), Is.True, name);
        }
    }

    [Test]
    public void Finetune_Config_TakesTheSettingsAndTheCommandLineOverridesThem()
    {
        string config = _dir.File("run.json");
        File.WriteAllText(config, $$"""
            { "backbone": {{JsonSerializer.Serialize(Model)}}, "target": {{JsonSerializer.Serialize(Path.Combine(Images, "digits"))}},
              "method": "simclr", "engine": { "steps": 2, "batchSize": 16, "learningRate": 0.01 } }
            """);
        string output = _dir.File("run");

        var outcome = Run(null, "finetune", "--config", config, "--out", output, "--batch-size", "32");

        Assert.That(outcome.ExitCode, Is.EqualTo(ExitCodes.Success), outcome.Error);
        var used = FinetuneSettings.Read(Path.Combine(output, FinetuneCommand.SettingsFile), "test");
        Assert.That((used.Method, used.Engine.Steps, used.Engine.BatchSize, used.Engine.LearningRate), Is.EqualTo(("simclr", 2, 32, 0.01)));
    }

    [TestCase("--no-such-option", "x", "--no-such-option")]
    [TestCase("--seed", "many", "many")]
    public void BadArguments_ExitWithTwoAndNameTheProblem(string option, string value, string named)
    {
        var outcome = Run(null, [.. Finetune(_dir.File("run"), 2), option, value]);

        Assert.That(outcome.ExitCode, Is.EqualTo(ExitCodes.Usage));
        Assert.That(outcome.Error, Does.Contain(named));
    }

    [Test]
    public void Finetune_MissingTarget_NamesTheOption()
    {
        var outcome = Run(null, "finetune", "--backbone", Model, "--out", _dir.File("run"));

        Assert.That((outcome.ExitCode, outcome.Error), Is.EqualTo((ExitCodes.Usage, outcome.Error)));
        Assert.That(outcome.Error, Does.Contain("--target is required"));
    }

    [Test]
    public void Finetune_ReplayRatioWithoutSource_NamesBoth()
    {
        var outcome = Run(null, Finetune(_dir.File("run"), 2, "--replay-ratio", "0.25"));

        Assert.That(outcome.ExitCode, Is.EqualTo(ExitCodes.Usage));
        Assert.That(outcome.Error, Does.Contain("--replay-ratio").And.Contain("--source"));
    }

    [Test]
    public void Finetune_UnknownMethod_ListsTheKnownOnes()
    {
        var outcome = Run(null, Finetune(_dir.File("run"), 2, "--method", "dino"));

        Assert.That(outcome.ExitCode, Is.EqualTo(ExitCodes.Usage));
        Assert.That(outcome.Error, Does.Contain("'dino'").And.Contain("mocov2, simclr, byol or simsiam"));
    }

    [Test]
    public void Finetune_OptionOutOfRange_ExitsWithTwoNamingTheSetting()
    {
        var outcome = Run(null, [.. Finetune(_dir.File("run"), 2), "--lr", "-1"]);

        Assert.That(outcome.ExitCode, Is.EqualTo(ExitCodes.Usage));
        Assert.That(outcome.Error, Does.StartWith("uft: --lr is -1; expected a finite value > 0."));
    }

    [Test]
    public void Finetune_MisspeltConfigField_IsNamed()
    {
        string config = _dir.File("run.json");
        File.WriteAllText(config, """{ "engine": { "lerningRate": 0.1 } }""");

        var outcome = Run(null, "finetune", "--config", config, "--out", _dir.File("run"));

        Assert.That(outcome.ExitCode, Is.EqualTo(ExitCodes.Usage));
        Assert.That(outcome.Error, Does.Contain("lerningRate"));
    }

    [Test]
    public void Finetune_OutHoldsARun_RefusesToStartOverIt()
    {
        string output = _dir.File("run");
        Assert.That(Run(null, Finetune(output, 1)).ExitCode, Is.EqualTo(ExitCodes.Success));
        byte[] before = File.ReadAllBytes(Path.Combine(output, FinetuneEngineCheckpointFile));

        var again = Run(null, Finetune(output, 1));

        Assert.That(again.ExitCode, Is.EqualTo(ExitCodes.Usage));
        Assert.That(again.Error, Does.Contain("--resume"));
        Assert.That(File.ReadAllBytes(Path.Combine(output, FinetuneEngineCheckpointFile)), Is.EqualTo(before), "the run's checkpoint is untouched");
    }

    [Test]
    public void Finetune_CorruptTargetImage_ExitsWithOneNamingTheFile()
    {
        string target = _dir.File("target");
        Directory.CreateDirectory(target);
        foreach (string file in Directory.GetFiles(Path.Combine(Images, "digits")).Take(40))
        {
            File.Copy(file, Path.Combine(target, Path.GetFileName(file)));
        }

        string broken = Directory.GetFiles(target).Order(StringComparer.Ordinal).ElementAt(7);
        File.WriteAllBytes(broken, File.ReadAllBytes(broken)[..60]);

        var outcome = Run(null, "finetune", "--backbone", Model, "--target", target, "--steps", "1", "--batch-size", "32", "--out", _dir.File("run"));

        Assert.That(outcome.ExitCode, Is.EqualTo(ExitCodes.Failure));
        Assert.That(outcome.Error, Does.Contain(broken));
    }

    [Test]
    public void Evaluate_SameModelTwice_SideBySideIdenticalAndJsonWritten()
    {
        string json = _dir.File("eval.json");

        var outcome = Run(null, "evaluate", "--backbone", Model, "--compare", Model, "--train", Path.Combine(Images, "digits-labelled"),
            "--source-test", Path.Combine(Images, "fashion0to4-labelled"), "--json", json);

        Assert.That(outcome.ExitCode, Is.EqualTo(ExitCodes.Success), outcome.Error);
        Assert.That(outcome.Output, Does.Contain("target kNN (120 images)").And.Contain("retention: source kNN (75 images)").And.Contain("RankMe").And.Contain("alignment"));
        using var document = JsonDocument.Parse(File.ReadAllText(json));
        var models = document.RootElement.GetProperty("models");
        Assert.That(models.GetArrayLength(), Is.EqualTo(2));
        var first = models[0].GetProperty("evaluation");
        Assert.That(models[1].GetProperty("evaluation").ToString(), Is.EqualTo(first.ToString()), "the same backbone and seed give the same numbers");
        var drift = document.RootElement.GetProperty("sourceDrift");
        Assert.That(drift.GetProperty("linearCka").GetDouble(), Is.EqualTo(1.0).Within(1e-9), "a backbone has not drifted from itself");
        Assert.That(drift.GetProperty("neighbourhoodPreservation").GetDouble(), Is.EqualTo(1.0));
        Assert.That(outcome.Output, Does.Contain("linear CKA"));
        foreach (string metric in new[] { "targetKnn", "targetLinearProbe", "sourceKnn" })
        {
            Assert.That(first.GetProperty(metric).GetDouble(), Is.InRange(0.2, 1.0), metric + " (10 and 5 classes: chance is 0.1 and 0.2)");
        }
    }

    [Test]
    public void Embed_Npy_IsTheBackbonesFeaturesInNumpysFormatWithThePathsBeside()
    {
        string output = _dir.File("features.npy");

        var outcome = Run(null, "embed", "--backbone", Model, "--images", Path.Combine(Images, "digits"), "--out", output, "--batch-size", "64");

        Assert.That(outcome.ExitCode, Is.EqualTo(ExitCodes.Success), outcome.Error);
        byte[] bytes = File.ReadAllBytes(output);
        Assert.That(bytes[..8], Is.EqualTo(new byte[] { 0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y', 1, 0 }));
        int headerLength = BinaryPrimitives.ReadUInt16LittleEndian(bytes.AsSpan(8));
        string header = Encoding.ASCII.GetString(bytes, 10, headerLength);
        Assert.That((10 + headerLength) % 64, Is.EqualTo(0), "numpy aligns the data to 64 bytes");
        Assert.That(header, Does.StartWith("{'descr': '<f4', 'fortran_order': False, 'shape': (300, 256), }").And.EndWith("\n"));

        // The naive reference: the library's feature extractor on the same images, in the same order.
        using var model = PretrainedModel.Load(Model);
        var files = File.ReadAllLines(Path.ChangeExtension(output, ".paths.txt"));
        var data = ImageFolder.Index(Path.Combine(Images, "digits"), model.ImageFolderOptions());
        Assert.That(files, Is.EqualTo(data.Files));
        using var expected = FeatureExtractor.Extract(model.Backbone, data, model.Preprocess);
        float[] values = new float[(bytes.Length - 10 - headerLength) / 4];
        for (int i = 0; i < values.Length; i++)
        {
            values[i] = BinaryPrimitives.ReadSingleLittleEndian(bytes.AsSpan(10 + headerLength + (4 * i)));
        }

        Assert.That(values, Is.EqualTo(expected.data<float>().ToArray()));
    }

    [Test]
    public void Embed_InBFloat16_WritesFloat32FeaturesCloseToTheFloat32Ones()
    {
        string exactPath = _dir.File("exact.npy");
        string lowerPath = _dir.File("lower.npy");

        var exact = Run(null, "embed", "--backbone", Model, "--images", Path.Combine(Images, "digits"), "--out", exactPath);
        var lower = Run(null, "embed", "--backbone", Model, "--images", Path.Combine(Images, "digits"), "--out", lowerPath, "--precision", "bfloat16");

        Assert.That(lower.ExitCode, Is.EqualTo(ExitCodes.Success), lower.Error);
        Assert.That(exact.ExitCode, Is.EqualTo(ExitCodes.Success), exact.Error);
        static float[] Values(string path)
        {
            byte[] bytes = File.ReadAllBytes(path);
            int start = 10 + BinaryPrimitives.ReadUInt16LittleEndian(bytes.AsSpan(8));
            return Enumerable.Range(0, (bytes.Length - start) / 4).Select(i => BinaryPrimitives.ReadSingleLittleEndian(bytes.AsSpan(start + (4 * i)))).ToArray();
        }

        using var a = TorchSharp.torch.tensor(Values(exactPath)).reshape(300, 256);
        using var b = TorchSharp.torch.tensor(Values(lowerPath)).reshape(300, 256);
        Assert.That(a.equal(b).all().item<bool>(), Is.False, "bfloat16 was used");
        using var cosine = TorchSharp.torch.nn.functional.cosine_similarity(a, b);
        Assert.That(cosine.min().item<float>(), Is.GreaterThan(0.99), "every image's feature direction");
    }

    [Test]
    public void Finetune_InBFloat16_SavesFloat32WeightsAndSaysSoInOptionsAndLog()
    {
        string output = _dir.File("run");

        var outcome = Run(null, Finetune(output, 2, "--precision", "bfloat16"));

        Assert.That(outcome.ExitCode, Is.EqualTo(ExitCodes.Success), outcome.Error);
        var settings = FinetuneSettings.Read(Path.Combine(output, FinetuneCommand.SettingsFile), "test");
        Assert.That((settings.Engine.Precision, settings.Engine.Monitoring.Precision), Is.EqualTo((UnsupervisedFinetuning.ComputePrecision.BFloat16, UnsupervisedFinetuning.ComputePrecision.BFloat16)), "options.json keeps it, so --resume continues in bfloat16");
        Assert.That(File.ReadAllText(Path.Combine(output, FinetuneCommand.LogFile)), Does.Contain("compute in BFloat16"));
        using var saved = PretrainedModel.Load(Path.Combine(output, FinetuneCommand.ModelFile));
        Assert.That(saved.Backbone.state_dict().Values.All(t => t.dtype is TorchSharp.torch.ScalarType.Float32 or TorchSharp.torch.ScalarType.Int64), Is.True);
    }

    [Test]
    public void Embed_Csv_OneRowPerImageWithItsPath()
    {
        string output = _dir.File("features.csv");

        var outcome = Run(null, "embed", "--backbone", Model, "--images", Path.Combine(Images, "fashion0to4-labelled"), "--out", output);

        Assert.That(outcome.ExitCode, Is.EqualTo(ExitCodes.Success), outcome.Error);
        string[] lines = File.ReadAllLines(output);
        Assert.That(lines, Has.Length.EqualTo(151));
        Assert.That(lines[0], Does.StartWith("path,f0,f1,").And.EndWith(",f255"));
        Assert.That(lines[1].Split(','), Has.Length.EqualTo(257));
        Assert.That(lines[1], Does.StartWith(Path.Combine(Images, "fashion0to4-labelled", "coat")));
    }

    [Test]
    public void Embed_OtherExtension_IsABadArgument()
    {
        var outcome = Run(null, "embed", "--backbone", Model, "--images", Path.Combine(Images, "digits"), "--out", _dir.File("features.parquet"));

        Assert.That(outcome.ExitCode, Is.EqualTo(ExitCodes.Usage));
        Assert.That(outcome.Error, Does.Contain(".npy or .csv"));
    }

    [Test]
    public void Checkpoint_WithoutArch_AsksForIt_AndWithArchImportsIt()
    {
        string weights = Path.Combine(RepositoryPaths.SampleData, "pretrained", "smallcnn256-moco-fashion0to4.backbone.dat");

        var without = Run(null, "embed", "--backbone", weights, "--images", Path.Combine(Images, "digits"), "--out", _dir.File("a.npy"));
        var with = Run(null, "embed", "--backbone", weights, "--arch", "smallcnn", "--images", Path.Combine(Images, "digits"), "--out", _dir.File("b.npy"));
        var described = Run(null, "embed", "--backbone", Model, "--images", Path.Combine(Images, "digits"), "--out", _dir.File("c.npy"));

        Assert.That(without.ExitCode, Is.EqualTo(ExitCodes.Usage));
        Assert.That(without.Error, Does.Contain("--arch"));
        Assert.That(with.ExitCode, Is.EqualTo(ExitCodes.Success), with.Error);
        Assert.That(File.ReadAllBytes(_dir.File("b.npy")), Is.EqualTo(File.ReadAllBytes(_dir.File("c.npy"))), "the imported weights are the described model's");
    }

    [Test]
    public void Embed_CheckpointWithAControlCharacterInAKey_PrintsTheKeyHarmlessly()
    {
        // Regression: the strict import's message named the file's keys as they were: an ANSI escape (red) and a
        // newline reached the terminal.
        const string Header = "{\"\\u001b[31mfeatures.0.conv.weight\\n\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}";
        string weights = _dir.File("evil.safetensors");
        File.WriteAllBytes(weights, [.. BitConverter.GetBytes((long)Header.Length), .. Encoding.ASCII.GetBytes(Header), 0, 0, 0, 0]);

        var outcome = Run(null, "embed", "--backbone", weights, "--arch", "smallcnn", "--images", Path.Combine(Images, "digits"), "--out", _dir.File("x.npy"));

        Assert.That(outcome.ExitCode, Is.EqualTo(ExitCodes.Failure));
        Assert.That(outcome.Error, Does.Contain("unexpected key(s): ?[31mfeatures.0.conv.weight?"));
        Assert.That(OneLine(outcome.Error).Any(char.IsControl), Is.False, "one line, no control character: " + outcome.Error);
    }

    [Test]
    public void ErrorsAndLogEntries_QuotingControlCharacters_ArePrintedHarmlessly()
    {
        // An argument echoed in a usage error, and a log entry quoting a file's name (a Linux file name can hold any
        // control character): one line each, nothing that drives the terminal.
        var usage = Run(null, "embed", "--backbone", _dir.File("\u001b[31mmissing\n.model.json"), "--images", Images, "--out", _dir.File("x.npy"));
        var error = new StringWriter();
        new WarningLogger(error).LogWarning("skipped {File}", "bad\u001b[31m\n.png");
        using (var log = new FileLogger<UftTests>(_dir.File("run.log"), error))
        {
            log.LogWarning("skipped {File}", "bad\u001b[2J\r.png");
        }

        Assert.That(usage.ExitCode, Is.EqualTo(ExitCodes.Usage));
        Assert.That(usage.Error, Does.Contain("?[31mmissing?.model.json"));
        Assert.That(error.ToString().Split(Environment.NewLine), Is.EqualTo(new[] { "warning: skipped bad?[31m?.png", "warning: skipped bad?[2J?.png", "" }));
        Assert.That(File.ReadAllText(_dir.File("run.log")), Does.EndWith("UftTests: skipped bad?[2J?.png" + Environment.NewLine));
        Assert.That(OneLine(usage.Error).Any(char.IsControl), Is.False, usage.Error);
    }

    // The text of an output that must be exactly one line.
    private static string OneLine(string output)
    {
        Assert.That(output, Does.EndWith(Environment.NewLine));
        return output[..^Environment.NewLine.Length];
    }

    // Ctrl+C sends SIGINT; a process started in the background by a non-interactive shell (as CI may start the
    // tests) inherits SIGINT as ignored, and .NET keeps it so. SIGTERM — what `kill` and service managers send —
    // takes the same path in uft (stop at the step boundary, checkpoint, exit 130) and is never inherited ignored.
    [TestCase(15)]
    [Platform("Linux,MacOsX")]
    public void Process_Sigterm_StopsAtAStepBoundaryWithCode130AndAResumableCheckpoint(int signal)
    {
        string output = _dir.File("run");
        var start = new ProcessStartInfo(Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (string argument in (string[])[Path.Combine(AppContext.BaseDirectory, "uft.dll"), .. Finetune(output, 100000, "--checkpoint-every", "100000")])
        {
            start.ArgumentList.Add(argument);
        }

        using var process = Process.Start(start)!;
        var error = process.StandardError.ReadToEndAsync();
        var lines = new List<string>();
        using var deadline = new Timer(_ => process.Kill(entireProcessTree: true), null, TimeSpan.FromMinutes(2), Timeout.InfiniteTimeSpan);
        while (process.StandardOutput.ReadLine() is { } line)
        {
            lines.Add(line);
            if (line.StartsWith("finetune:", StringComparison.Ordinal))
            {
                Thread.Sleep(2000); // into the training loop
                Assert.That(Kill(process.Id, signal), Is.EqualTo(0), "signal sent");
            }
        }

        process.WaitForExit();
        Assert.That(process.ExitCode, Is.EqualTo(ExitCodes.Interrupted), error.Result + string.Join("\n", lines));
        Assert.That(File.Exists(Path.Combine(output, FinetuneEngineCheckpointFile)), Is.True, "a checkpoint at the step boundary, though none was due for 100,000 steps");
        Assert.That(string.Join("\n", lines), Does.Contain("--resume"));
    }

    /// <summary>Runs uft as a child process; returns its exit code, standard output and standard error.</summary>
    internal static (int Code, string Output, string Error) LaunchProcess(params string[] args)
    {
        var start = new ProcessStartInfo(Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (string argument in (string[])[Path.Combine(AppContext.BaseDirectory, "uft.dll"), .. args])
        {
            start.ArgumentList.Add(argument);
        }

        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        string error = process.StandardError.ReadToEnd();
        process.WaitForExit();
        return (process.ExitCode, output.Result, error);
    }

    [Test]
    public void Process_BadOption_ExitCode2_Help_ExitCode0()
    {
        static (int Code, string Output) Launch(params string[] args)
        {
            var (code, output, error) = LaunchProcess(args);
            return (code, output + error);
        }

        var help = Launch("finetune", "--help");
        var bad = Launch("finetune", "--bogus");

        Assert.That(help.Code, Is.EqualTo(ExitCodes.Success));
        Assert.That(help.Output, Does.Contain("--replay-ratio").And.Contain("--resume"));
        Assert.That(bad.Code, Is.EqualTo(ExitCodes.Usage));
        Assert.That(bad.Output, Does.Contain("--bogus"));
    }

    [Test]
    public void Docs_SettingsFileExample_IsReadAsWritten()
    {
        string page = File.ReadAllText(Path.Combine(RepositoryPaths.Root, "docs", "how-to", "command-line.md"));
        int start = page.IndexOf("```json\n", StringComparison.Ordinal) + 8;
        string json = page[start..page.IndexOf("```", start, StringComparison.Ordinal)];
        File.WriteAllText(_dir.File("run.json"), json);

        var settings = FinetuneSettings.Read(_dir.File("run.json"), "--config");

        Assert.That((settings.Arch, settings.Mixing, settings.Engine.Epochs, settings.Engine.CheckpointEverySteps), Is.EqualTo(("resnet50", "mixup", 50, 100)));
        Assert.That((settings.Replay.Composition, settings.MethodOptions<UnsupervisedFinetuning.Methods.MocoV2Options>().QueueSize), Is.EqualTo((UnsupervisedFinetuning.Replay.ReplayComposition.FixedShare, 4096)));
        var monitoring = settings.Engine.Monitoring;
        Assert.That((monitoring.Criterion, monitoring.RestoreBest, monitoring.Patience), Is.EqualTo((UnsupervisedFinetuning.Monitoring.MonitorCriterion.RankMe, true, (int?)5)));
    }

    [Test]
    public void Readme_CommandLineExample_RunsOnTheShippedData()
    {
        // The README's two commands, as written, with 2 steps instead of 300 and the run folder in a temporary place.
        string readme = File.ReadAllText(Path.Combine(RepositoryPaths.Root, "README.md"));
        int section = readme.IndexOf("## Use it from the command line", StringComparison.Ordinal);
        int start = readme.IndexOf("```bash\n", section, StringComparison.Ordinal) + 8;
        string block = readme[start..readme.IndexOf("```", start, StringComparison.Ordinal)].Replace("\\\n", " ", StringComparison.Ordinal);
        string[] commands = block.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        Assert.That(commands, Has.Length.EqualTo(2));
        string runs = _dir.File("runs");
        foreach (string command in commands)
        {
            string[] words = command.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            Assert.That(words[..5], Is.EqualTo(new[] { "dotnet", "run", "-c", "Release", "--project" }));
            string[] args = words[7..]
                .Select(w => w == "300" ? "2" : w.StartsWith("runs/", StringComparison.Ordinal) ? Path.Combine(runs, w[5..]) : w.StartsWith("samples/", StringComparison.Ordinal) ? Path.Combine(RepositoryPaths.Root, w) : w)
                .ToArray();

            var outcome = Run(null, args);

            Assert.That(outcome.ExitCode, Is.EqualTo(ExitCodes.Success), command + "\n" + outcome.Error);
        }
    }

    [DllImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static extern int Kill(int pid, int signal);

    /// <summary>Collects the output; cancels <paramref name="stop"/> once the output contains <paramref name="trigger"/>.</summary>
    private sealed class WatchingWriter(string? trigger, CancellationTokenSource stop) : StringWriter
    {
        public override void Write(char value)
        {
            base.Write(value);
            Check();
        }

        public override void Write(char[] buffer, int index, int count)
        {
            base.Write(buffer, index, count);
            Check();
        }

        public override void Write(ReadOnlySpan<char> buffer)
        {
            base.Write(buffer);
            Check();
        }

        public override void Write(string? value)
        {
            base.Write(value);
            Check();
        }

        private void Check()
        {
            if (trigger is not null && !stop.IsCancellationRequested && ToString().Contains(trigger, StringComparison.Ordinal))
            {
                stop.Cancel();
            }
        }
    }
}
