using System.Text.Json;
using UnsupervisedFinetuning.Augment;
using UnsupervisedFinetuning.Backbones;
using UnsupervisedFinetuning.Cli;
using UnsupervisedFinetuning.Data;
using UnsupervisedFinetuning.Evaluation;

namespace UnsupervisedFinetuning.Tests.Cli;

/// <summary>
/// <c>uft evaluate</c> where a newcomer's data is not what the command expects: an unlabelled folder given as
/// labelled (refused, not scored as a one-class problem at 100 %), no labels at all (the label-free monitors), and
/// splits too small to mean anything (counted and said).
/// </summary>
[TestFixture]
[NonParallelizable]
public sealed class UftEvaluateTests
{
    private static readonly string Images = Path.Combine(RepositoryPaths.SampleData, "images");
    private TempDirectory _dir = null!;

    [SetUp]
    public void SetUp() => _dir = new TempDirectory();

    [TearDown]
    public void TearDown() => _dir.Dispose();

    /// <summary>The first <paramref name="count"/> images of a shipped digit class copied into <paramref name="folder"/>.</summary>
    private static void CopyDigits(string digit, int count, string folder)
    {
        Directory.CreateDirectory(folder);
        foreach (string file in Directory.GetFiles(Path.Combine(Images, "digits-labelled", digit)).Order(StringComparer.Ordinal).Take(count))
        {
            File.Copy(file, Path.Combine(folder, digit + "-" + Path.GetFileName(file)));
        }
    }

    [Test]
    public void Train_UnlabelledFolderWithOneSubfolder_IsRefusedNamingTheLooseImagesAndTheWayWithoutLabels()
    {
        // The newcomer's layout: photos at the top level and one sub-folder of two. Before, evaluate took the
        // sub-folder as the only class and printed "target kNN (2 images) 100.0 %", exit 0.
        string root = _dir.File("photos");
        CopyDigits("3", 20, root);
        CopyDigits("4", 2, Path.Combine(root, "misc"));

        var outcome = UftTests.Run(null, "evaluate", "--backbone", UftTests.Model, "--train", root);

        Assert.That(outcome.ExitCode, Is.EqualTo(ExitCodes.Usage), outcome.Output);
        Assert.That(outcome.Error, Does.Contain("--train").And.Contain("20 images sit at the top level").And.Contain("'misc'").And.Contain("--unlabelled"));
        Assert.That(outcome.Output, Does.Not.Contain("%"), "no accuracy was printed");
    }

    [Test]
    public void Train_OneClassFolder_IsRefused()
    {
        string root = _dir.File("one");
        CopyDigits("3", 10, Path.Combine(root, "three"));

        var outcome = UftTests.Run(null, "evaluate", "--backbone", UftTests.Model, "--train", root);

        Assert.That(outcome.ExitCode, Is.EqualTo(ExitCodes.Usage));
        Assert.That(outcome.Error, Does.Contain("1 class ('three')").And.Contain("at least 2 classes"));
    }

    [Test]
    public void Train_FlatFolderWithoutSubfolders_IsRefusedWithTheLayout()
    {
        string root = _dir.File("flat");
        CopyDigits("3", 10, root);

        var outcome = UftTests.Run(null, "evaluate", "--backbone", UftTests.Model, "--train", root);

        Assert.That(outcome.ExitCode, Is.EqualTo(ExitCodes.Usage));
        Assert.That(outcome.Error, Does.Contain("10 images but no class sub-folders").And.Contain("<class>/<image>").And.Contain("--unlabelled"));
    }

    [Test]
    public void Unlabelled_Alone_MeasuresTheLabelFreeMonitorsAsTheLibraryDoes()
    {
        string json = _dir.File("out/eval.json"); // the folder does not exist yet: created
        string unlabelled = Path.Combine(Images, "digits");

        var outcome = UftTests.Run(null, "evaluate", "--backbone", UftTests.Model, "--unlabelled", unlabelled, "--seed", "3", "--json", json);

        Assert.That(outcome.ExitCode, Is.EqualTo(ExitCodes.Success), outcome.Error);
        Assert.That(outcome.Output, Does.Contain("RankMe").And.Contain("(300 images)").And.Not.Contain("target kNN"));
        using var document = JsonDocument.Parse(File.ReadAllText(json));
        var measured = document.RootElement.GetProperty("models")[0].GetProperty("evaluation");
        Assert.That(measured.TryGetProperty("targetKnn", out _), Is.False, "no labels, no accuracy");
        Assert.That(document.RootElement.GetProperty("images").GetProperty("monitor").GetInt32(), Is.EqualTo(300));

        // The same measurement through the library, by hand.
        using var model = PretrainedModel.Load(UftTests.Model);
        using var images = ImageFolder.LoadUnlabeled(unlabelled, model.ImageFolderOptions());
        var views = AugmentationPresets.Create(model.AugmentationOptions(), AugmentationPreset.MocoV2, model.Description.Backbone.InputChannels, model.Description.Input.Height);
        var expected = new TransferEvaluator(model.Preprocess, monitorViews: views).MeasureWithoutLabels(model.Backbone, images, seed: 3);
        Assert.That(measured.GetProperty("rankMe").GetDouble(), Is.EqualTo(expected.RankMe).Within(1e-9));
        Assert.That(measured.GetProperty("uniformity").GetDouble(), Is.EqualTo(expected.Uniformity).Within(1e-9));
        Assert.That(measured.GetProperty("alignment").GetDouble(), Is.EqualTo(expected.Alignment!.Value).Within(1e-9));
    }

    [Test]
    public void Unlabelled_WithSourceTest_MeasuresRetentionWithoutTargetLabels()
    {
        string json = _dir.File("eval.json");
        string source = Path.Combine(Images, "fashion0to4-labelled");

        var outcome = UftTests.Run(null, "evaluate", "--backbone", UftTests.Model, "--unlabelled", Path.Combine(Images, "digits"), "--source-test", source, "--json", json);

        Assert.That(outcome.ExitCode, Is.EqualTo(ExitCodes.Success), outcome.Error);
        using var document = JsonDocument.Parse(File.ReadAllText(json));
        double retention = document.RootElement.GetProperty("models")[0].GetProperty("evaluation").GetProperty("sourceKnn").GetDouble();
        using var model = PretrainedModel.Load(UftTests.Model);
        using var labelled = ImageFolder.LoadLabeled(source, model.ImageFolderOptions());
        var halves = DatasetSplits.Stratified(labelled, train: 0.5, validation: 0, test: 0.5, seed: 0);
        double expected = new TransferEvaluator(model.Preprocess).Retention(model.Backbone, halves.Train, halves.Test!);
        Assert.That(retention, Is.EqualTo(expected).Within(1e-12));
        Assert.That(outcome.Output, Does.Contain("retention: source kNN (75 images)"));
    }

    [Test]
    public void SmallSplits_AreCountedAndSaidToBeTooFew()
    {
        // 2 classes × 30 images: 40 % bank (24), 20 % validation (12), 40 % test (24).
        string root = _dir.File("small");
        CopyDigits("3", 30, Path.Combine(root, "three"));
        CopyDigits("4", 30, Path.Combine(root, "four"));
        string json = _dir.File("eval.json");

        var outcome = UftTests.Run(null, "evaluate", "--backbone", UftTests.Model, "--train", root, "--json", json);

        Assert.That(outcome.ExitCode, Is.EqualTo(ExitCodes.Success), outcome.Error);
        Assert.That(outcome.Output, Does.Contain("target kNN (24 images, too few").And.Contain("validation (12 images, too few"));
        Assert.That(outcome.Output, Does.Contain("target kNN is measured on 24 images (fewer than 50): one image moves it 4.2 points"));
        using var document = JsonDocument.Parse(File.ReadAllText(json));
        var images = document.RootElement.GetProperty("images");
        Assert.That((images.GetProperty("targetTest").GetInt32(), images.GetProperty("targetValidation").GetInt32(), images.GetProperty("targetBank").GetInt32()), Is.EqualTo((24, 12, 24)));
        double knn = document.RootElement.GetProperty("models")[0].GetProperty("evaluation").GetProperty("targetKnn").GetDouble();
        double halfWidth = 1.96 * Math.Sqrt(knn * (1 - knn) / 24) * 100;
        Assert.That(outcome.Output, Does.Contain($"about ±{halfWidth.ToString("F1", System.Globalization.CultureInfo.InvariantCulture)} points"));
    }

    [Test]
    public void NeitherTrainNorUnlabelled_IsAUsageError()
    {
        var outcome = UftTests.Run(null, "evaluate", "--backbone", UftTests.Model);

        Assert.That(outcome.ExitCode, Is.EqualTo(ExitCodes.Usage));
        Assert.That(outcome.Error, Does.Contain("--train").And.Contain("--unlabelled"));
    }
}
