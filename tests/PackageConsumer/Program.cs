using System.Globalization;
using UnsupervisedFinetuning;
using UnsupervisedFinetuning.Augment;
using UnsupervisedFinetuning.Backbones;
using UnsupervisedFinetuning.Data;
using UnsupervisedFinetuning.Engine;
using UnsupervisedFinetuning.Evaluation;
using UnsupervisedFinetuning.Formats;
using UnsupervisedFinetuning.Methods;
using UnsupervisedFinetuning.Mixing;
using UnsupervisedFinetuning.Replay;

// Finetunes the repository's shipped source model (SmallCnn, MoCo v2 on Fashion-MNIST classes 0-4) on a few
// hundred MNIST digits for a few steps, with sparse replay of Fashion-MNIST and mixup, then evaluates the
// backbone before and after. Prints the numbers; exits 1 if any is not finite.
// Usage: dotnet run -- <path to samples/data>
if (args.Length != 1 || !Directory.Exists(args[0]))
{
    Console.Error.WriteLine("usage: PackageConsumer <path to the repository's samples/data folder>");
    return 2;
}

string data = args[0];
using var digits = IdxFormat.LoadLabeled(Path.Combine(data, "mnist", "digits-images-idx3-ubyte.gz"), Path.Combine(data, "mnist", "digits-labels-idx1-ubyte.gz"));
using var fashion = IdxFormat.LoadImages(Path.Combine(data, "fashion-mnist", "train-0to4-images-idx3-ubyte.gz"));
var split = DatasetSplits.Stratified(digits, 0.5, 0, 0.5, seed: 0);
var target = DatasetSplits.Sample(split.Train, 256, seed: 0);
var source = DatasetSplits.Sample(fashion, 1024, seed: 0);
var evaluator = new TransferEvaluator(x => AugmentationPresets.SmallImage(28, 1).Evaluate(x, 28, 28));
var sets = new TransferEvaluationSets
{
    TargetTrain = DatasetSplits.Sample(split.Train, 500, seed: 1),
    TargetTest = DatasetSplits.Sample(split.Test!, 500, seed: 1),
    Monitor = target,
};

using var backbone = new SmallCnn(inputChannels: 1, featureDimension: 256);
Checkpoint.LoadTorchSharp(backbone, Path.Combine(data, "pretrained", "smallcnn256-moco-fashion0to4.backbone.dat"));
var before = evaluator.Evaluate(backbone, sets);

var engine = FinetuneEngine.Create(
    new FinetuneOptions { Steps = 5, BatchSize = 32, Device = "cpu", Seed = 0, Precision = ComputePrecision.Auto }, // bfloat16 only where the CPU has it natively
    new MocoV2(new MocoV2Options { QueueSize = 256 }),
    new SparseSourceReplay(new SparseReplayOptions { Ratio = 0.25, Selection = ReplaySelection.Coverage }), // a rule that reads the pretrained features
    new Mixup(new MixingOptions { Alpha = 1.0 }));
var result = engine.Run(new FinetuneRequest { Backbone = backbone, Target = target, Source = source });
result.Head.Dispose();
var after = evaluator.Evaluate(backbone, sets);

double loss = result.History[^1].MeanLoss;
var numbers = new (string Name, double Value)[]
{
    ("target kNN before", before.TargetKnn),
    ("target kNN after", after.TargetKnn),
    ("RankMe before", before.RankMe ?? double.NaN),
    ("RankMe after", after.RankMe ?? double.NaN),
    ("mean loss of the last epoch", loss),
};
foreach (var (name, value) in numbers)
{
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{name}: {value:0.0000}"));
}

Console.WriteLine($"{result.Steps} steps, {result.ReplayedSourceIndices.Count} source images replayed, precision Auto = {ComputePrecisions.Resolve(ComputePrecision.Auto, TorchSharp.torch.CPU)} on this CPU");
bool finite = numbers.All(n => double.IsFinite(n.Value));
Console.WriteLine(finite ? "consumer: all numbers finite" : "consumer: a number is not finite");
return finite ? 0 : 1;
