using System.Buffers.Binary;
using System.IO.Compression;

namespace UnsupervisedFinetuning.Data;

/// <summary>
/// Reads and writes the IDX format of MNIST and Fashion-MNIST (raw or gzip-compressed, detected from
/// the content): a 4-byte magic (0, 0, type 0x08 = unsigned byte, number of dimensions), one big-endian
/// 32-bit size per dimension, then the values. Images are [N,H,W], labels [N].
/// </summary>
public static class IdxFormat
{
    private const byte UnsignedByte = 0x08;

    /// <summary>Loads images (and, when <paramref name="labelsPath"/> is given, labels) as a grayscale dataset [N,1,H,W].</summary>
    /// <param name="imagesPath">An IDX file of unsigned bytes with 3 dimensions.</param>
    /// <param name="labelsPath">An IDX file of unsigned bytes with 1 dimension and N entries.</param>
    /// <param name="classCount">Number of classes; by default the largest label + 1.</param>
    /// <param name="classNames">Optional display names, one per class.</param>
    /// <exception cref="InvalidDataException">A file is malformed; the message names the file and what was wrong.</exception>
    public static InMemoryLabeledImageDataset LoadLabeled(string imagesPath, string labelsPath, int? classCount = null, IReadOnlyList<string>? classNames = null)
    {
        var (pixels, count, height, width) = ReadImages(imagesPath);
        byte[] labelBytes = ReadLabels(labelsPath);
        if (labelBytes.Length != count)
        {
            throw new InvalidDataException($"{labelsPath}: holds {labelBytes.Length} labels but {imagesPath} holds {count} images.");
        }

        int[] labels = Array.ConvertAll(labelBytes, b => (int)b);
        int classes = classCount ?? (labels.Max() + 1);
        try
        {
            InMemoryLabeledImageDataset.ValidateLabels(labels, count, classes);
        }
        catch (ArgumentException e)
        {
            throw new InvalidDataException($"{labelsPath}: {e.Message}", e);
        }

        return InMemoryLabeledImageDataset.FromBytes(pixels, new ImageShape(1, height, width), labels, classes, classNames);
    }

    /// <summary>Loads images without labels as a grayscale dataset [N,1,H,W].</summary>
    /// <exception cref="InvalidDataException">The file is malformed; the message names the file and what was wrong.</exception>
    public static InMemoryImageDataset LoadImages(string imagesPath)
    {
        var (pixels, count, height, width) = ReadImages(imagesPath);
        return InMemoryImageDataset.FromBytes(pixels, count, new ImageShape(1, height, width));
    }

    /// <summary>Reads an images file: the pixels [N,H,W] row-major and the three sizes.</summary>
    public static (byte[] Pixels, int Count, int Height, int Width) ReadImages(string path)
    {
        var (data, dims) = Read(path, expectedDimensions: 3, what: "images [N,H,W]");
        return (data, dims[0], dims[1], dims[2]);
    }

    /// <summary>Reads a labels file: one byte per item.</summary>
    public static byte[] ReadLabels(string path) => Read(path, expectedDimensions: 1, what: "labels [N]").Data;

    /// <summary>Writes images [N,H,W] (row-major bytes) as IDX, gzip-compressed when <paramref name="gzip"/> is set.</summary>
    public static void WriteImages(string path, ReadOnlySpan<byte> pixels, int count, int height, int width, bool gzip)
    {
        if ((long)count * height * width != pixels.Length)
        {
            throw new ArgumentException($"{count} images of {height}x{width} need {(long)count * height * width} bytes; got {pixels.Length}.", nameof(pixels));
        }

        Write(path, pixels, [count, height, width], gzip);
    }

    /// <summary>Writes labels as a one-dimensional IDX file.</summary>
    public static void WriteLabels(string path, ReadOnlySpan<byte> labels, bool gzip) => Write(path, labels, [labels.Length], gzip);

    private static void Write(string path, ReadOnlySpan<byte> data, int[] dims, bool gzip)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        byte[] header = new byte[4 + (4 * dims.Length)];
        header[2] = UnsignedByte;
        header[3] = (byte)dims.Length;
        for (int d = 0; d < dims.Length; d++)
        {
            BinaryPrimitives.WriteInt32BigEndian(header.AsSpan(4 + (4 * d)), dims[d]);
        }

        byte[] body = data.ToArray();
        AtomicFile.Write(path, file =>
        {
            if (!gzip)
            {
                file.Write(header);
                file.Write(body);
                return;
            }

            using var output = new GZipStream(file, CompressionLevel.SmallestSize, leaveOpen: true);
            output.Write(header);
            output.Write(body);
        });
    }

    private static (byte[] Data, int[] Dims) Read(string path, int expectedDimensions, string what)
    {
        byte[] bytes = ReadMaybeGzip(path);
        if (bytes.Length < 4)
        {
            throw new InvalidDataException($"{path}: {bytes.Length} bytes is too short for an IDX header (4 bytes of magic).");
        }

        if (bytes[0] != 0 || bytes[1] != 0)
        {
            throw new InvalidDataException($"{path}: magic 0x{bytes[0]:X2}{bytes[1]:X2}{bytes[2]:X2}{bytes[3]:X2} at offset 0 is not IDX; an IDX file starts with 0x0000 then the type and the number of dimensions (e.g. 0x00000803 for images).");
        }

        if (bytes[2] != UnsignedByte)
        {
            throw new InvalidDataException($"{path}: data type 0x{bytes[2]:X2} at offset 2 is not 0x08 (unsigned byte), the only type MNIST-style files use.");
        }

        if (bytes[3] != expectedDimensions)
        {
            throw new InvalidDataException($"{path}: {bytes[3]} dimensions (offset 3, magic 0x0000{bytes[2]:X2}{bytes[3]:X2}); expected {expectedDimensions} for {what}.");
        }

        int headerLength = 4 + (4 * expectedDimensions);
        if (bytes.Length < headerLength)
        {
            throw new InvalidDataException($"{path}: {bytes.Length} bytes is too short for the {headerLength}-byte header of {what} (truncated).");
        }

        var dims = new int[expectedDimensions];
        long expected = 1;
        for (int d = 0; d < expectedDimensions; d++)
        {
            dims[d] = BinaryPrimitives.ReadInt32BigEndian(bytes.AsSpan(4 + (4 * d)));
            if (dims[d] <= 0)
            {
                throw new InvalidDataException($"{path}: dimension {d} (offset {4 + (4 * d)}) is {dims[d]}; sizes must be positive.");
            }

            expected *= dims[d];
        }

        long actual = bytes.Length - headerLength;
        if (actual != expected)
        {
            throw new InvalidDataException(
                $"{path}: the header declares {what} of size [{string.Join(",", dims)}], which needs {expected} bytes after the {headerLength}-byte header, " +
                $"but {actual} bytes follow ({(actual < expected ? "truncated" : "trailing data")}).");
        }

        return (bytes.AsSpan(headerLength).ToArray(), dims);
    }

    private static byte[] ReadMaybeGzip(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (!File.Exists(path))
        {
            throw new FileNotFoundException($"IDX file not found: {path}", path);
        }

        byte[] raw = File.ReadAllBytes(path);
        if (raw.Length < 2 || raw[0] != 0x1f || raw[1] != 0x8b)
        {
            return raw;
        }

        try
        {
            using var gzip = new GZipStream(new MemoryStream(raw), CompressionMode.Decompress);
            using var output = new MemoryStream();
            gzip.CopyTo(output);
            return output.ToArray();
        }
        catch (Exception e) when (e is InvalidDataException or EndOfStreamException or IOException)
        {
            throw new InvalidDataException($"{path}: the gzip stream is corrupt or truncated ({e.Message}).", e);
        }
    }
}
