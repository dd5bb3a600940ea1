using static TorchSharp.torch;

namespace UnsupervisedFinetuning.Tests.Augment;

internal static class AugmentTestData
{
    /// <summary>A float batch [b,c,h,w] in [low, high], seeded.</summary>
    public static Tensor Images(int b, int c, int h, int w, long seed = 0, float low = 0f, float high = 1f)
    {
        var generator = new Generator((ulong)seed);
        return (rand([b, c, h, w], generator: generator) * (high - low)) + low;
    }

    public static bool BitEqual(Tensor a, Tensor b) => a.shape.SequenceEqual(b.shape) && a.eq(b).all().item<bool>();
}
