using UnsupervisedFinetuning.Backbones;
using UnsupervisedFinetuning.Data;
using UnsupervisedFinetuning.Engine;
using UnsupervisedFinetuning.Methods;
using UnsupervisedFinetuning.Mixing;
using UnsupervisedFinetuning.Replay;
using static TorchSharp.torch;

namespace UnsupervisedFinetuning.Tests.Engine;

/// <summary>The methods the tests run.</summary>
public enum MethodKind
{
    MocoV2,
    SimClr,
    Byol,
    SimSiam,
}

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

    public static FinetuneOptions Options(int steps = 12) => new()
    {
        Steps = steps,
        BatchSize = 16,
        LearningRate = 0.05,
        Device = "cpu",
        Seed = 3,
    };

    /// <summary>Each method with heads small enough for 16 px images and 32-d features.</summary>
    public static ISelfSupervisedMethod Method(MethodKind kind, MixedLossForm mixedLoss = MixedLossForm.UnMix, double? temperature = null) => kind switch
    {
        MethodKind.MocoV2 => new MocoV2(new MocoV2Options { ProjectionDimension = 16, ProjectionHiddenDimension = 32, Temperature = temperature ?? 0.2, MixedLoss = mixedLoss }),
        MethodKind.SimClr => new SimClr(new SimClrOptions { ProjectionDimension = 16, ProjectionHiddenDimension = 32, Temperature = temperature ?? 0.5 }),
        MethodKind.Byol => new Byol(new ByolOptions { ProjectionDimension = 16, ProjectionHiddenDimension = 32, PredictorHiddenDimension = 32, Momentum = 0.99 }),
        _ => new SimSiam(new SimSiamOptions { ProjectionDimension = 16, ProjectionHiddenDimension = 32, PredictorHiddenDimension = 8 }),
    };

    /// <summary>An engine with the test options, <paramref name="kind"/>'s method and the given strategies.</summary>
    public static FinetuneEngine Engine(FinetuneOptions options, MethodKind kind = MethodKind.MocoV2, IReplaySampler? replay = null, IMixingStrategy? mixing = null) =>
        FinetuneEngine.Create(options, Method(kind), replay, mixing);

    public static Dictionary<string, Tensor> Snapshot(nn.Module module) =>
        module.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value.detach().clone());

    public static bool BitEqual(Dictionary<string, Tensor> a, Dictionary<string, Tensor> b) =>
        a.Keys.SequenceEqual(b.Keys) && a.Keys.All(k => a[k].shape.SequenceEqual(b[k].shape) && a[k].eq(b[k]).all().item<bool>());
}
