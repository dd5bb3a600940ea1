using SkiaSharp;

namespace UnsupervisedFinetuning.Tests.Data;

/// <summary>Writes real PNG/JPEG files for the image-reading tests.</summary>
internal static class TestImageFiles
{
    /// <summary>Pixel (x, y) of the test pattern: distinct, position-dependent RGB values.</summary>
    public static (byte R, byte G, byte B) Pattern(int x, int y, int seed) => ((byte)((x * 16) + seed), (byte)((y * 16) + (2 * seed)), (byte)(((x + y) * 8) + 100));

    /// <summary>Encodes a width × height image whose pixel (x, y) is <paramref name="pixel"/>(x, y) (alpha 255 unless given) to <paramref name="path"/>.</summary>
    public static string Write(string path, int width, int height, SKEncodedImageFormat format, Func<int, int, (byte R, byte G, byte B)> pixel, byte alpha = 255, int quality = 95)
    {
        using var bitmap = new SKBitmap(new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Unpremul));
        for (int y = 0; y < height; y++)
        {
            for (int x = 0; x < width; x++)
            {
                var (r, g, b) = pixel(x, y);
                bitmap.SetPixel(x, y, new SKColor(r, g, b, alpha));
            }
        }

        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        using var data = bitmap.Encode(format, quality);
        File.WriteAllBytes(path, data.ToArray());
        return path;
    }

    /// <summary>
    /// A copy of a JPEG with an EXIF APP1 segment carrying only the orientation tag (0x0112) right after SOI:
    /// "Exif\0\0", a little-endian TIFF header, one IFD with one SHORT entry, no next IFD.
    /// </summary>
    public static byte[] WithExifOrientation(byte[] jpeg, int orientation)
    {
        byte[] tiff =
        [
            (byte)'I', (byte)'I', 0x2A, 0x00, 0x08, 0x00, 0x00, 0x00, // byte order, magic 42, first IFD at 8
            0x01, 0x00,                                               // one entry
            0x12, 0x01, 0x03, 0x00, 0x01, 0x00, 0x00, 0x00,           // tag 0x0112 Orientation, SHORT, count 1
            (byte)orientation, 0x00, 0x00, 0x00,                      // the value, left-aligned in 4 bytes
            0x00, 0x00, 0x00, 0x00,                                   // no next IFD
        ];
        byte[] payload = [.. "Exif\0\0"u8.ToArray(), .. tiff];
        int length = payload.Length + 2; // the length field counts itself
        byte[] segment = [0xFF, 0xE1, (byte)(length >> 8), (byte)length, .. payload];
        return [.. jpeg.AsSpan(0, 2), .. segment, .. jpeg.AsSpan(2)];
    }
}
