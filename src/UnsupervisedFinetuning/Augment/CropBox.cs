namespace UnsupervisedFinetuning.Augment;

/// <summary>A crop rectangle in pixels: rows [Top, Top+Height), columns [Left, Left+Width).</summary>
/// <param name="Top">First row.</param>
/// <param name="Left">First column.</param>
/// <param name="Height">Rows in the crop.</param>
/// <param name="Width">Columns in the crop.</param>
public readonly record struct CropBox(int Top, int Left, int Height, int Width)
{
    /// <summary>The crop's share of an image of <paramref name="imageHeight"/>×<paramref name="imageWidth"/> pixels.</summary>
    public double AreaFraction(int imageHeight, int imageWidth) => (double)Height * Width / ((double)imageHeight * imageWidth);
}
