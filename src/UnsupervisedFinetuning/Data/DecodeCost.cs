using SkiaSharp;

namespace UnsupervisedFinetuning.Data;

/// <summary>
/// The memory one image takes to decode, from its header alone, so that a file is refused before the decoder
/// allocates: the decoded bitmap (4 bytes a pixel at the size it decodes to), its mipmap chain for the trilinear
/// downscale (a third more), an upright copy when an EXIF orientation rotates it, and for a progressive JPEG libjpeg's
/// whole-image coefficient buffers — 2 bytes for each of 64 coefficients of every 8×8 block of every component, at
/// full resolution whatever the output scale. Measured: an 8000² 16-bit PNG with its data, 348 MB (model: 341 MB);
/// lying 8000² headers, progressive CMYK JPEG 524 MB (512 MB of coefficients), progressive YCbCr 397 MB (384 MB).
/// The remainder is libjpeg's and libpng's row buffers, under 16 MB (32 MB allowed).
/// </summary>
internal static class DecodeCost
{
    /// <summary>Row buffers, codec state and allocator slack beyond the model (measured under 16 MB; twice that allowed).</summary>
    public const long Slack = 32L << 20;

    /// <summary>libjpeg's limit on components in a frame: a JPEG's coefficients take at most 2 × 10 bytes a pixel.</summary>
    private const int MaxJpegComponents = 10;

    /// <summary>
    /// Bytes a decode of <paramref name="file"/> to <paramref name="decodeSize"/> allocates, and a description of the
    /// largest part, when that could exceed <paramref name="budget"/>. The JPEG frame header is read (a second open of
    /// the file) only for an image large enough that its coefficients could pass the budget: not for the usual photo,
    /// which a batch decodes without the extra read.
    /// </summary>
    public static (long Bytes, string? Detail) Estimate(string file, SKCodec codec, SKSizeI decodeSize, bool needsUprightCopy, long budget)
    {
        // The decoded bitmap, its mipmap chain for the trilinear downscale (a third more), and an upright copy when rotated.
        long pixels = (long)decodeSize.Width * decodeSize.Height;
        long bitmap = (4 * pixels) + (4 * pixels / 3) + (needsUprightCopy ? 4 * pixels : 0);
        long mostCoefficients = 2L * MaxJpegComponents * codec.Info.Width * codec.Info.Height;
        if (codec.EncodedFormat != SKEncodedImageFormat.Jpeg || bitmap + mostCoefficients + Slack <= budget
            || ProgressiveCoefficientBytes(file) is not { } coefficients)
        {
            return (bitmap + Slack, null);
        }

        return (bitmap + coefficients.Bytes + Slack,
            $"a progressive JPEG of {codec.Info.Width}x{codec.Info.Height} in {coefficients.Components} component(s) keeps every DCT coefficient while it decodes, at any output scale");
    }

    /// <summary>
    /// For a progressive JPEG (SOF2, SOF6, SOF10, SOF14), the bytes of its coefficient buffers and its component
    /// count; null for any other file or when the frame header is not within the first 64 KB.
    /// </summary>
    internal static (long Bytes, int Components)? ProgressiveCoefficientBytes(string file)
    {
        byte[] head = new byte[64 * 1024];
        int length;
        using (var stream = new FileStream(file, FileMode.Open, FileAccess.Read, FileShare.ReadWrite, 1))
        {
            length = stream.ReadAtLeast(head, head.Length, throwOnEndOfStream: false);
        }

        int at = 2; // after SOI
        while (at + 4 <= length)
        {
            if (head[at] != 0xFF)
            {
                return null;
            }

            byte marker = head[at + 1];
            if (marker == 0xFF)
            {
                at++; // fill byte
                continue;
            }

            if (marker is 0x01 or (>= 0xD0 and <= 0xD7))
            {
                at += 2; // no length
                continue;
            }

            int segment = (head[at + 2] << 8) | head[at + 3];
            bool frame = marker is >= 0xC0 and <= 0xCF && marker is not (0xC4 or 0xC8 or 0xCC);
            if (frame)
            {
                if (marker is not (0xC2 or 0xC6 or 0xCA or 0xCE) || at + 10 > length)
                {
                    return null; // sequential: decoded row by row
                }

                int height = (head[at + 5] << 8) | head[at + 6];
                int width = (head[at + 7] << 8) | head[at + 8];
                int components = head[at + 9];
                if (components == 0 || at + 10 + (3 * components) > length)
                {
                    return null;
                }

                int maxH = 1, maxV = 1;
                for (int c = 0; c < components; c++)
                {
                    byte sampling = head[at + 11 + (3 * c)];
                    maxH = Math.Max(maxH, sampling >> 4);
                    maxV = Math.Max(maxV, sampling & 0xF);
                }

                long bytes = 0;
                for (int c = 0; c < components; c++)
                {
                    byte sampling = head[at + 11 + (3 * c)];
                    int h = Math.Max(1, sampling >> 4), v = Math.Max(1, sampling & 0xF);
                    // Blocks of this component, padded to whole MCUs as libjpeg allocates them.
                    long columns = DivideUp(DivideUp(width * (long)h, maxH), 8 * h) * h;
                    long rows = DivideUp(DivideUp(height * (long)v, maxV), 8 * v) * v;
                    bytes += columns * rows * 64 * 2;
                }

                return (bytes, components);
            }

            if (marker == 0xDA)
            {
                return null; // a scan before any frame header: not a JPEG libjpeg decodes
            }

            at += 2 + segment;
        }

        return null;
    }

    private static long DivideUp(long value, long by) => (value + by - 1) / by;
}
