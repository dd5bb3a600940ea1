using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace UnsupervisedFinetuning.Augment;

/// <summary>
/// Crops a random region of each image and resizes it to a fixed size, with torchvision's semantics:
/// the crop's *area* is a fraction of the image drawn uniformly from <see cref="Scale"/>, its aspect
/// ratio is log-uniform in <see cref="Ratio"/>, up to 10 tries, then a centre crop of the nearest
/// allowed ratio. Every sample gets its own crop; all crops are resampled (bilinear, half-pixel centres,
/// like F.interpolate with align_corners=False) in one batched grid_sample.
/// </summary>
/// <remarks>No anti-aliasing is applied when a crop is shrunk; at the 28–96 px sizes this library
/// targets crops are mostly enlarged.</remarks>
public sealed class RandomResizedCrop : IBatchTransform
{
    private const int Attempts = 10;

    /// <summary>Creates the transform.</summary>
    /// <param name="height">Output height in pixels.</param>
    /// <param name="width">Output width in pixels.</param>
    /// <param name="scaleMin">Smallest crop area as a fraction of the image (torchvision default 0.08).</param>
    /// <param name="scaleMax">Largest crop area fraction (default 1).</param>
    /// <param name="ratioMin">Smallest aspect ratio width/height (default 3/4).</param>
    /// <param name="ratioMax">Largest aspect ratio (default 4/3).</param>
    /// <exception cref="ArgumentOutOfRangeException">A size is not positive, or a range is empty or out of bounds.</exception>
    public RandomResizedCrop(int height, int width, double scaleMin = 0.08, double scaleMax = 1.0, double ratioMin = 3.0 / 4.0, double ratioMax = 4.0 / 3.0)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(height);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(width);
        if (!(scaleMin > 0 && scaleMin <= scaleMax && scaleMax <= 1))
        {
            throw new ArgumentOutOfRangeException(nameof(scaleMin), $"RandomResizedCrop scale must satisfy 0 < min ≤ max ≤ 1; got ({scaleMin}, {scaleMax}).");
        }

        if (!(ratioMin > 0 && ratioMin <= ratioMax && double.IsFinite(ratioMax)))
        {
            throw new ArgumentOutOfRangeException(nameof(ratioMin), $"RandomResizedCrop ratio must satisfy 0 < min ≤ max < ∞; got ({ratioMin}, {ratioMax}).");
        }

        Height = height;
        Width = width;
        Scale = (scaleMin, scaleMax);
        Ratio = (ratioMin, ratioMax);
    }

    /// <summary>Output height.</summary>
    public int Height { get; }

    /// <summary>Output width.</summary>
    public int Width { get; }

    /// <summary>Range of the crop's area fraction.</summary>
    public (double Min, double Max) Scale { get; }

    /// <summary>Range of the crop's aspect ratio (width / height).</summary>
    public (double Min, double Max) Ratio { get; }

    /// <summary>Draws one crop box for an image of the given size (torchvision's get_params).</summary>
    public CropBox SampleBox(int imageHeight, int imageWidth, SeededRandom random)
    {
        ArgumentNullException.ThrowIfNull(random);
        double area = (double)imageHeight * imageWidth;
        double logMin = Math.Log(Ratio.Min);
        double logMax = Math.Log(Ratio.Max);
        for (int attempt = 0; attempt < Attempts; attempt++)
        {
            double targetArea = area * random.Uniform(Scale.Min, Scale.Max);
            double aspect = Math.Exp(random.Uniform(logMin, logMax));
            int w = (int)Math.Round(Math.Sqrt(targetArea * aspect), MidpointRounding.ToEven);
            int h = (int)Math.Round(Math.Sqrt(targetArea / aspect), MidpointRounding.ToEven);
            if (w > 0 && w <= imageWidth && h > 0 && h <= imageHeight)
            {
                int top = random.NextInt(imageHeight - h + 1);
                int left = random.NextInt(imageWidth - w + 1);
                return new CropBox(top, left, h, w);
            }
        }

        // Fallback: the whole image, trimmed to the nearest allowed aspect ratio, centred.
        double inRatio = (double)imageWidth / imageHeight;
        int fw = imageWidth;
        int fh = imageHeight;
        if (inRatio < Ratio.Min)
        {
            fh = (int)Math.Round(fw / Ratio.Min, MidpointRounding.ToEven);
        }
        else if (inRatio > Ratio.Max)
        {
            fw = (int)Math.Round(fh * Ratio.Max, MidpointRounding.ToEven);
        }

        return new CropBox((imageHeight - fh) / 2, (imageWidth - fw) / 2, fh, fw);
    }

    /// <inheritdoc />
    public Tensor Apply(Tensor images, SeededRandom random)
    {
        ArgumentNullException.ThrowIfNull(images);
        int batch = (int)images.shape[0];
        int imageHeight = (int)images.shape[2];
        int imageWidth = (int)images.shape[3];
        var boxes = new CropBox[batch];
        for (int i = 0; i < batch; i++)
        {
            boxes[i] = SampleBox(imageHeight, imageWidth, random);
        }

        return Resample(images, boxes, Height, Width);
    }

    /// <summary>
    /// Resamples each image's box to <paramref name="height"/>×<paramref name="width"/>, exactly as cropping
    /// the box and resizing it with F.interpolate(bilinear, align_corners=False) would: output pixel k reads
    /// source position left + (k + ½)·w/width − ½, clamped to the box's first and last pixel centres (so no
    /// pixel outside the box leaks in). All samples go through one grid_sample.
    /// </summary>
    public static Tensor Resample(Tensor images, IReadOnlyList<CropBox> boxes, int height, int width)
    {
        ArgumentNullException.ThrowIfNull(images);
        ArgumentNullException.ThrowIfNull(boxes);
        long batch = images.shape[0];
        if (boxes.Count != batch)
        {
            throw new ArgumentException($"{boxes.Count} crop boxes for a batch of {batch} images.", nameof(boxes));
        }

        using var scope = NewDisposeScope();
        var xs = SourceCoordinates(boxes.Select(b => (b.Left, b.Width)).ToArray(), width, images.shape[3]);  // [B, width]
        var ys = SourceCoordinates(boxes.Select(b => (b.Top, b.Height)).ToArray(), height, images.shape[2]); // [B, height]
        var grid = stack([xs.unsqueeze(1).expand(batch, height, width), ys.unsqueeze(2).expand(batch, height, width)], 3); // [B,h,w,2] as (x, y)
        return F.grid_sample(images, grid.to(images.device).to(images.dtype), GridSampleMode.Bilinear, GridSamplePaddingMode.Border, align_corners: false)
            .MoveToOuterDisposeScope();
    }

    // Normalised grid_sample coordinates [B, outSize] of the output pixels along one axis.
    private static Tensor SourceCoordinates((int Start, int Length)[] spans, int outSize, long inSize)
    {
        var start = tensor(spans.Select(s => (double)s.Start).ToArray()).unsqueeze(1);                // [B,1]
        var length = tensor(spans.Select(s => (double)s.Length).ToArray()).unsqueeze(1);              // [B,1]
        var k = arange(outSize, ScalarType.Float64).unsqueeze(0) + 0.5;                                 // [1,out]
        var pixel = start + (k * (length / outSize)) - 0.5;                                            // source pixel positions
        pixel = minimum(maximum(pixel, start), start + length - 1);
        return (((2.0 * pixel) + 1.0) / inSize) - 1.0;                                                   // align_corners=False normalisation
    }
}
