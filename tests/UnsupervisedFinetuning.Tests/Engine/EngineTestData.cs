using UnsupervisedFinetuning.Backbones;
using UnsupervisedFinetuning.Data;
using UnsupervisedFinetuning.Engine;
using static TorchSharp.torch;

namespace UnsupervisedFinetuning.Tests.Engine;

/// <summary>Tiny, structured image sets and models that keep engine tests to seconds on a CPU.</summary>
internal static class EngineTestData
{
    /// <summary>
    /// n grayscale images of <paramref name="size"/>² px: dark noise with one bright rectangle whose position
    /// and size vary per image (<paramref name="seed"/>), so that crops and jitter produce meaningful views.
    /// </summary>
    public static InMemoryImageDataset Images(int n, int size = 16, long seed = 0, int brightness = 220)
    {
        var random = new SeededRandom(seed);
        var pixels = new byte[n * size * size];
        for (int i = 0; i < n; i++)
        {
            int h = random.NextInt(3, size / 2);
            int w = random.NextInt(3, size / 2);
            int top = random.NextInt(size - h);
            int left = random.NextInt(size - w);
            for (int y = 0; y < size; y++)
            {
                for (int x = 0; x < size; x++)
                {
                    bool inside = y >= top && y < top + h && x >= left && x < left + w;
                    pixels[(i * size * size) + (y * size) + x] = (byte)(inside ? brightness - random.NextInt(30) : random.NextInt(40));
                }
            }
        }

        return InMemoryImageDataset.FromBytes(pixels, n, new ImageShape(1, size, size));
    }

    /// <summary>A small CNN with weights fixed by <paramref name="seed"/>.</summary>
    public static SmallCnn Model(long seed = 1, int features = 32)
    {
        random.manual_seed(seed);
        return new SmallCnn(1, features);
    }

    public static FinetuneOptions Options(ObjectiveKind objective = ObjectiveKind.MocoV2, int steps = 12) => new()
    {
        Objective = objective,
        Steps = steps,
        BatchSize = 16,
        LearningRate = 0.05,
        Device = "cpu",
        ProjectionDimension = 16,
        ProjectionHiddenDimension = 32,
        PredictorHiddenDimension = 32,
        Seed = 3,
    };

    public static Dictionary<string, Tensor> Snapshot(nn.Module module) =>
        module.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value.detach().clone());

    public static bool BitEqual(Dictionary<string, Tensor> a, Dictionary<string, Tensor> b) =>
        a.Keys.SequenceEqual(b.Keys) && a.Keys.All(k => a[k].shape.SequenceEqual(b[k].shape) && a[k].eq(b[k]).all().item<bool>());
}
