namespace UnsupervisedFinetuning.Data;

/// <summary>The shape of one image: channels, height and width (the trailing dimensions of [B,C,H,W]).</summary>
/// <param name="Channels">1 for grayscale, 3 for RGB.</param>
/// <param name="Height">Rows of pixels.</param>
/// <param name="Width">Columns of pixels.</param>
public readonly record struct ImageShape(int Channels, int Height, int Width)
{
    /// <summary>Pixels times channels: the number of values in one image.</summary>
    public long Elements => (long)Channels * Height * Width;

    /// <summary>The tensor shape of a batch of <paramref name="batch"/> such images.</summary>
    public long[] BatchShape(long batch) => [batch, Channels, Height, Width];

    /// <inheritdoc />
    public override string ToString() => $"[{Channels},{Height},{Width}]";
}
