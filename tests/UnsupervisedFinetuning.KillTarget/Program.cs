// Finetunes a small CNN on seeded synthetic images with a checkpoint after every step, continuing from the
// checkpoint in <dir> when there is one, and saves the final backbone to <dir>/final.dat. Prints "step N"
// after each step so that a test can kill it anywhere, including in the middle of a checkpoint write.
//
//   dotnet UnsupervisedFinetuning.KillTarget.dll <dir> <steps>
using System.Globalization;
using UnsupervisedFinetuning;
using UnsupervisedFinetuning.Backbones;
using UnsupervisedFinetuning.Data;
using UnsupervisedFinetuning.Engine;
using UnsupervisedFinetuning.Formats;
using UnsupervisedFinetuning.Methods;
using UnsupervisedFinetuning.Mixing;
using UnsupervisedFinetuning.Replay;
using static TorchSharp.torch;

string dir = args[0];
int steps = int.Parse(args[1], CultureInfo.InvariantCulture);
Directory.CreateDirectory(dir);

// Images: noise with one bright rectangle each; the source set is dimmer. Everything from fixed seeds.
InMemoryImageDataset Images(int n, long seed, int brightness)
{
    var random = new SeededRandom(seed);
    var pixels = new byte[n * 16 * 16];
    for (int i = 0; i < n; i++)
    {
        int h = random.NextInt(3, 8), w = random.NextInt(3, 8), top = random.NextInt(16 - h), left = random.NextInt(16 - w);
        for (int y = 0; y < 16; y++)
        {
            for (int x = 0; x < 16; x++)
            {
                bool inside = y >= top && y < top + h && x >= left && x < left + w;
                pixels[(i * 256) + (y * 16) + x] = (byte)(inside ? brightness - random.NextInt(30) : random.NextInt(40));
            }
        }
    }

    return InMemoryImageDataset.FromBytes(pixels, n, new ImageShape(1, 16, 16));
}

using var target = Images(64, seed: 1, brightness: 220);
using var source = Images(200, seed: 2, brightness: 140);
random.manual_seed(7);
using var backbone = new SmallCnn(1, 32);
var options = new FinetuneOptions
{
    Steps = steps,
    BatchSize = 16,
    LearningRate = 0.05,
    Device = "cpu",
    Seed = 5,
    CheckpointDirectory = dir,
    CheckpointEverySteps = 1,
};
var engine = FinetuneEngine.Create(
    options,
    new MocoV2(new MocoV2Options { ProjectionDimension = 16, ProjectionHiddenDimension = 32 }),
    new SparseSourceReplay(new SparseReplayOptions { Ratio = 0.25 }),
    new Mixup(new MixingOptions { Probability = 0.7 }));
string checkpoint = Path.Combine(dir, FinetuneEngine.CheckpointFileName);
var result = engine.Run(
    new FinetuneRequest { Backbone = backbone, Target = target, Source = source, ResumeFrom = File.Exists(checkpoint) ? checkpoint : null },
    new SynchronousProgress<FinetuneProgress>(p => Console.WriteLine($"step {p.Step}")));
Checkpoint.Save(result.Backbone, Path.Combine(dir, "final.dat"));
result.Head.Dispose();
Console.WriteLine("done");
