// Self-supervised pretraining of the source model the Quickstart starts from: MoCo v2 on the Fashion-MNIST
// images of classes 0–4 (samples/data/fashion-mnist/train-0to4), with the library's own FinetuneEngine
// (pretraining is finetuning from random weights). Writes the backbone and head weights and a JSON record.
//
//   dotnet run -c Release --project samples/Pretrain              # the shipped model (see README.md here)
//   dotnet run -c Release --project samples/Pretrain -- --epochs 2 --out /tmp/pretrain   # a quick try
using System.CommandLine;
using System.Diagnostics;
using Spectre.Console;
using UnsupervisedFinetuning.Augment;
using UnsupervisedFinetuning.Backbones;
using UnsupervisedFinetuning.Data;
using UnsupervisedFinetuning.Engine;
using UnsupervisedFinetuning.Evaluation;
using UnsupervisedFinetuning.Methods;
using UnsupervisedFinetuning.Samples;
using UnsupervisedFinetuning.Samples.Pretrain;
using TorchSharp;

var dataOption = new Option<DirectoryInfo>("--data") { Description = "The samples/data folder", DefaultValueFactory = _ => (SampleDataDirectory.Find() ?? new DirectoryInfo(Path.Combine("samples", "data"))) };
var outOption = new Option<DirectoryInfo>("--out") { Description = "Where the model (description and weights) goes", DefaultValueFactory = _ => new DirectoryInfo(Path.Combine((SampleDataDirectory.Find() ?? new DirectoryInfo(Path.Combine("samples", "data"))).FullName, "pretrained")) };
var epochsOption = new Option<int>("--epochs") { Description = "Passes over the 15,000 source images", DefaultValueFactory = _ => 120 };
var batchOption = new Option<int>("--batch-size") { Description = "Images per step", DefaultValueFactory = _ => 256 };
var lrOption = new Option<double>("--lr") { Description = "Peak learning rate (SGD, warm-up then cosine)", DefaultValueFactory = _ => 0.06 };
var seedOption = new Option<long>("--seed") { Description = "Seed of every random choice", DefaultValueFactory = _ => 0 };
var resumeOption = new Option<bool>("--resume") { Description = "Continue from the checkpoint in --out" };
var root = new RootCommand("MoCo v2 pretraining of the sample source model on Fashion-MNIST classes 0–4")
{
    dataOption, outOption, epochsOption, batchOption, lrOption, seedOption, resumeOption,
};
epochsOption.Validators.Add(r => { if (r.GetValueOrDefault<int>() < 1) { r.AddError("--epochs must be at least 1."); } });
batchOption.Validators.Add(r => { if (r.GetValueOrDefault<int>() < 2) { r.AddError("--batch-size must be at least 2."); } });
lrOption.Validators.Add(r => { if (!(r.GetValueOrDefault<double>() > 0)) { r.AddError("--lr must be positive."); } });

root.SetAction(p => Pretrainer.Run(
    p.GetValue(dataOption)!, p.GetValue(outOption)!, p.GetValue(epochsOption), p.GetValue(batchOption),
    p.GetValue(lrOption), p.GetValue(seedOption), p.GetValue(resumeOption)));

var parse = root.Parse(args);
if (parse.Errors.Count > 0)
{
    foreach (var error in parse.Errors)
    {
        AnsiConsole.MarkupLineInterpolated($"[red]error:[/] {error.Message}");
    }

    return 2;
}

return parse.Invoke() is int code ? code : 0;

namespace UnsupervisedFinetuning.Samples.Pretrain
{
    /// <summary>The pretraining run.</summary>
    internal static class Pretrainer
    {
        // PretrainedModel.Save writes smallcnn256-moco-fashion0to4.backbone.dat and .head.dat beside it.
        public const string ModelFile = "smallcnn256-moco-fashion0to4.model.json";

        public static int Run(DirectoryInfo data, DirectoryInfo output, int epochs, int batchSize, double learningRate, long seed, bool resume)
        {
            string fashion = Path.Combine(data.FullName, "fashion-mnist");
            using var source = IdxFormat.LoadLabeled(Path.Combine(fashion, "train-0to4-images-idx3-ubyte.gz"), Path.Combine(fashion, "train-0to4-labels-idx1-ubyte.gz"));
            using var test = IdxFormat.LoadLabeled(Path.Combine(fashion, "t10k-images-idx3-ubyte.gz"), Path.Combine(fashion, "t10k-labels-idx1-ubyte.gz"));
            var heldOut = DatasetSplits.OfClasses(test, 0, 1, 2, 3, 4);
            Directory.CreateDirectory(output.FullName);

            var options = new FinetuneOptions
            {
                Epochs = epochs,
                BatchSize = batchSize,
                LearningRate = learningRate,
                WarmupFraction = 0.02,
                WeightDecay = 5e-4,
                Seed = seed,
                Device = TorchDevices.Auto,
                CheckpointDirectory = output.FullName,
                CheckpointEverySteps = 500,
                ProgressEverySteps = 10,
            };
            var method = new MocoV2(new MocoV2Options { Temperature = 0.2, Momentum = 0.99, QueueSize = 4096 });
            // One augmentation for training and for evaluation (its normalisation) at the 28 px of the data.
            var augmentation = AugmentationPresets.SmallImage(28, channels: 1);
            var engine = FinetuneEngine.Create(options, method, augmentation: augmentation);
            torch.random.manual_seed(seed);
            using var backbone = new SmallCnn(inputChannels: 1, featureDimension: 256);
            string checkpoint = Path.Combine(output.FullName, FinetuneEngine.CheckpointFileName);
            var request = new FinetuneRequest
            {
                Backbone = backbone,
                Target = source.WithoutLabels(),
                ResumeFrom = resume && File.Exists(checkpoint) ? checkpoint : null,
            };

            AnsiConsole.MarkupLineInterpolated($"MoCo v2 pretraining of SmallCnn(256) on {source.Count} Fashion-MNIST images of classes 0–4, {epochs} epochs, batch {batchSize}");
            var clock = Stopwatch.StartNew();
            FinetuneResult? result = null;
            AnsiConsole.Progress()
                .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new RemainingTimeColumn(), new SpinnerColumn())
                .Start(context =>
                {
                    var task = context.AddTask("pretraining", maxValue: engine.PlannedSteps(source.Count, 0));
                    var progress = new SynchronousProgress<FinetuneProgress>(p =>
                    {
                        task.Value = p.Step;
                        task.Description = $"epoch {p.Epoch}, loss {p.Loss:F3}, {p.ImagesPerSecond:F0} img/s";
                    });
                    result = engine.Run(request, progress);
                });

            // Retention reference: kNN on held-out Fashion-MNIST classes 0–4, bank = the pretraining images.
            Func<torch.Tensor, torch.Tensor> evaluation = x => augmentation.Evaluate(x, 28, 28);
            var bank = FeatureExtractor.Extract(backbone, source, evaluation);
            var queries = FeatureExtractor.Extract(backbone, heldOut, evaluation);
            double knn = new KnnClassifier().Accuracy(bank, source.GetLabels(), source.ClassCount, queries, heldOut.GetLabels());

            // A self-describing model: the weights and a description (architecture, input, head, provenance)
            // that PretrainedModel.Load rebuilds in one call. Each file is written atomically, the description last.
            var provenance = new Dictionary<string, string>
            {
                ["data"] = "samples/data/fashion-mnist/train-0to4 (15,000 images, 3,000 per class of classes 0-4)",
                ["objective"] = "MoCo v2 (InfoNCE, tau 0.2, queue 4096, EMA 0.99, SGD momentum 0.9, weight decay 5e-4, cosine)",
                ["augmentation"] = "SmallImage preset at 28 px (crop 0.2-1, flip, jitter 0.4/0.4 with p 0.8, normalise 0.5/0.5)",
                ["epochs"] = Invariant(epochs),
                ["batchSize"] = Invariant(batchSize),
                ["learningRate"] = Invariant(learningRate),
                ["seed"] = Invariant(seed),
                ["steps"] = Invariant(result!.Steps),
                ["seconds"] = Invariant(Math.Round(clock.Elapsed.TotalSeconds)),
                ["finalLoss"] = Invariant(result.History.Count > 0 ? result.History[^1].MeanLoss : double.NaN),
                ["heldOutSourceKnn"] = Invariant(knn),
                ["command"] = $"dotnet run -c Release --project samples/Pretrain -- --epochs {epochs} --batch-size {batchSize} --lr {Invariant(learningRate)} --seed {seed}",
                ["machine"] = $"{Environment.ProcessorCount} CPU threads, {System.Runtime.InteropServices.RuntimeInformation.OSDescription}",
                ["date"] = DateTime.UtcNow.ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture),
            };
            PretrainedModel.Save(Path.Combine(output.FullName, ModelFile), backbone, InputDescription.Centered(28, channels: 1), result.Head, provenance);
            File.Delete(checkpoint);
            AnsiConsole.MarkupLineInterpolated($"Done in {clock.Elapsed:hh\\:mm\\:ss}: {result.Steps} steps, final loss {provenance["finalLoss"]}, held-out source kNN {knn:P1}. Model in {Path.Combine(output.FullName, ModelFile)}.");
            return 0;
        }

        private static string Invariant(IFormattable value) => value.ToString(null, System.Globalization.CultureInfo.InvariantCulture);
    }
}
