using static TorchSharp.torch;

namespace UnsupervisedFinetuning.Mixing;

/// <summary>
/// CutMix on query views (Yun et al. 2019): a box of area ≈ (1 − λ_i)·H·W, centred at a uniformly drawn pixel
/// and clipped to the image, is pasted from x_π(i) into x_i; λ_i is then recomputed as the share of pixels
/// actually kept, so the loss weights match the image.
/// </summary>
public sealed class CutMix : IMixingStrategy
{
    private readonly MixingOptions _options;

    /// <summary>Creates the strategy.</summary>
    /// <param name="options">Its options (copied); the defaults when null.</param>
    /// <exception cref="Microsoft.Extensions.Options.OptionsValidationException">An option is out of range (every failure is named).</exception>
    public CutMix(MixingOptions? options = null)
    {
        _options = new MixingOptionsValidator().ThrowIfInvalid(options?.Clone() ?? new MixingOptions());
        Settings = StrategySettings.Of(_options);
    }

    /// <summary>The catalog entry of CutMix.</summary>
    public static MixingEntry Entry { get; } = MixingEntry.For<MixingOptions>("cutmix", "CutMix: a box of a partner's query view pasted in (area share 1 − λ, λ ~ Beta(α, α)), the loss weighted by the area shares.", o => new CutMix(o));

    /// <inheritdoc />
    public string Name => "cutmix";

    /// <inheritdoc />
    public IReadOnlyDictionary<string, string> Settings { get; }

    /// <inheritdoc />
    public MixResult Mix(Tensor queries, IReadOnlyList<bool> isSource, SeededRandom random) =>
        MixingDraw.Mix(_options, queries, isSource, random, Combine);

    /// <summary>The box pasted for a drawn λ in an image of <paramref name="height"/>×<paramref name="width"/>: rows [Y1, Y2), columns [X1, X2).</summary>
    internal static (int Y1, int Y2, int X1, int X2) Box(double lambda, int height, int width, SeededRandom random)
    {
        ArgumentNullException.ThrowIfNull(random);
        double cut = Math.Sqrt(1 - lambda);
        int cutW = (int)(width * cut);
        int cutH = (int)(height * cut);
        int cx = random.NextInt(width);
        int cy = random.NextInt(height);
        int x1 = Math.Clamp(cx - (cutW / 2), 0, width);
        int x2 = Math.Clamp(cx + (cutW / 2), 0, width);
        int y1 = Math.Clamp(cy - (cutH / 2), 0, height);
        int y2 = Math.Clamp(cy + (cutH / 2), 0, height);
        return (y1, y2, x1, x2);
    }

    private static (Tensor Mixed, float[] Lambda) Combine(Tensor queries, int[] partner, float[] lambda, SeededRandom random)
    {
        int batch = (int)queries.shape[0];
        int height = (int)queries.shape[2];
        int width = (int)queries.shape[3];
        var bounds = new long[batch * 4];
        var actual = new float[batch];
        for (int i = 0; i < batch; i++)
        {
            if (lambda[i] >= 1f)
            {
                actual[i] = 1f; // an unmixed sample: empty box
                continue;
            }

            var (y1, y2, x1, x2) = Box(lambda[i], height, width, random);
            bounds[(i * 4) + 0] = y1;
            bounds[(i * 4) + 1] = y2;
            bounds[(i * 4) + 2] = x1;
            bounds[(i * 4) + 3] = x2;
            actual[i] = 1f - ((float)((y2 - y1) * (x2 - x1)) / (height * width));
        }

        var device = queries.device;
        var b = tensor(bounds, [batch, 4], ScalarType.Int64).to(device);
        var rows = arange(height, ScalarType.Int64, device).view(1, height, 1);                     // [1,H,1]
        var cols = arange(width, ScalarType.Int64, device).view(1, 1, width);                       // [1,1,W]
        var inRows = rows.ge(b[TensorIndex.Colon, 0].view(-1, 1, 1)).logical_and(rows.lt(b[TensorIndex.Colon, 1].view(-1, 1, 1)));
        var inCols = cols.ge(b[TensorIndex.Colon, 2].view(-1, 1, 1)).logical_and(cols.lt(b[TensorIndex.Colon, 3].view(-1, 1, 1)));
        var mask = inRows.logical_and(inCols).unsqueeze(1);                                          // [B,1,H,W]
        var partners = tensor(partner.Select(p => (long)p).ToArray(), ScalarType.Int64).to(device);
        return (where(mask, queries.index_select(0, partners), queries), actual);
    }
}
