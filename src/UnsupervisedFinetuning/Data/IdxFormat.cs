using System.Buffers.Binary;
using System.IO.Compression;
using UnsupervisedFinetuning.IO;
using static TorchSharp.torch;

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
        // Labels first: they are small; the image count is compared once the images are read.
        byte[] labelBytes = ReadLabels(labelsPath);
        var images = ReadImagesTensor(imagesPath);
        int count = (int)images.shape[0];
        if (labelBytes.Length != count)
        {
            images.Dispose();
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
            images.Dispose();
            throw new InvalidDataException($"{labelsPath}: {e.Message}", e);
        }

        return new InMemoryLabeledImageDataset(images, labels, classes, classNames);
    }

    /// <summary>Loads images without labels as a grayscale dataset [N,1,H,W].</summary>
    /// <exception cref="InvalidDataException">The file is malformed; the message names the file and what was wrong.</exception>
    public static InMemoryImageDataset LoadImages(string imagesPath)
    {
        return new InMemoryImageDataset(ReadImagesTensor(imagesPath));
    }

    /// <summary>Reads an images file: the pixels [N,H,W] row-major and the three sizes.</summary>
    public static (byte[] Pixels, int Count, int Height, int Width) ReadImages(string path)
    {
        var (data, dims) = Read(path, expectedDimensions: 3, what: "images [N,H,W]", ReadArray);
        return (data, dims[0], dims[1], dims[2]);
    }

    /// <summary>Reads a labels file: one byte per item.</summary>
    public static byte[] ReadLabels(string path) => Read(path, expectedDimensions: 1, what: "labels [N]", ReadArray).Data;

    // The loaders read straight into the dataset's uint8 tensor [N,1,H,W]: the data is held once.
    private static Tensor ReadImagesTensor(string path)
    {
        TorchDevices.EnsureNativeBackend();
        return Read(path, expectedDimensions: 3, what: "images [N,H,W]", (dims, bytes, input) =>
        {
            var images = empty([dims[0], 1, dims[1], dims[2]], ScalarType.Byte);
            try
            {
                images.ReadBytesFromStream(input, bufferSize: 1 << 20); // EndOfStreamException when the data ends early
                return images;
            }
            catch
            {
                images.Dispose();
                throw;
            }
        }).Data;
    }

    private static byte[] ReadArray(int[] dims, long bytes, Stream input)
    {
        byte[] data = new byte[bytes];
        return ReadUpTo(input, data) < bytes ? throw new EndOfStreamException() : data;
    }

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

    /// <summary>
    /// Deflate cannot compress by more than 1032:1, so a gzip stream of n bytes cannot expand to more than
    /// about 1032·n; a header that declares more is refused before anything is allocated for it.
    /// </summary>
    private const long MaxDeflateRatio = 1032;

    // Streams the file: the header is checked against the file's size (raw) or the most its gzip stream can
    // hold before the data is allocated, the data is read straight into its final array, and reading stops
    // one byte past the declared size. Peak memory is the data once (plus the tensor a loader builds from it).
    // A reader throws EndOfStreamException when the data ends before the declared size.
    private static (T Data, int[] Dims) Read<T>(string path, int expectedDimensions, string what, Func<int[], long, Stream, T> readData)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (!File.Exists(path))
        {
            throw new FileNotFoundException($"IDX file not found: {path}", path);
        }

        using var file = File.OpenRead(path);
        long fileLength = file.Length;
        Span<byte> magic = stackalloc byte[2];
        bool gzip = file.Read(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b;
        file.Position = 0;
        using Stream input = gzip ? new GZipStream(file, CompressionMode.Decompress) : file;
        try
        {
            int headerLength = 4 + (4 * expectedDimensions);
            byte[] header = new byte[headerLength];
            int got = ReadUpTo(input, header);
            if (got < headerLength && gzip && GzipEnd(path) is { Cut: true } cut)
            {
                throw new InvalidDataException($"{path}: the gzip stream ends early, after {cut.Bytes} bytes, inside the {headerLength}-byte header of {what} (the file is truncated).");
            }

            CheckMagic(path, header.AsSpan(0, Math.Min(got, 4)), got, expectedDimensions, what);
            if (got < headerLength)
            {
                throw new InvalidDataException($"{path}: {got} bytes is too short for the {headerLength}-byte header of {what} (truncated).");
            }

            var dims = new int[expectedDimensions];
            long expected = 1;
            for (int d = 0; d < expectedDimensions; d++)
            {
                dims[d] = BinaryPrimitives.ReadInt32BigEndian(header.AsSpan(4 + (4 * d)));
                if (dims[d] <= 0)
                {
                    throw new InvalidDataException($"{path}: dimension {d} (offset {4 + (4 * d)}) is {dims[d]}; sizes must be positive.");
                }

                // Saturates: three sizes of up to 2³¹ − 1 can multiply past a long, and any such size is refused below.
                expected = dims[d] > long.MaxValue / expected ? long.MaxValue : expected * dims[d];
            }

            string needs = expected == long.MaxValue ? "more than 2⁶³" : expected.ToString(System.Globalization.CultureInfo.InvariantCulture);
            string declared = $"the header declares {what} of size [{string.Join(",", dims)}], which needs {needs} bytes after the {headerLength}-byte header";
            if (!gzip && fileLength - headerLength != expected)
            {
                long actual = fileLength - headerLength;
                throw new InvalidDataException($"{path}: {declared}, but {actual} bytes follow ({(actual < expected ? "truncated" : "trailing data")}).");
            }

            if (gzip && expected > fileLength * MaxDeflateRatio)
            {
                throw new InvalidDataException($"{path}: {declared}, but a gzip stream of {fileLength} bytes cannot expand to more than {fileLength * MaxDeflateRatio} (truncated or forged header).");
            }

            if (expected > Array.MaxLength)
            {
                throw new InvalidDataException($"{path}: {declared}; at most {Array.MaxLength} bytes fit one array.");
            }

            T data;
            try
            {
                data = readData(dims, expected, input);
            }
            catch (EndOfStreamException e)
            {
                var (decompressed, cutShort) = gzip ? GzipEnd(path) : (0, false);
                string ends = !gzip ? "the data ends before that (truncated)"
                    : cutShort ? $"the gzip stream ends early, after {decompressed - headerLength} of them (the file is truncated)"
                    : $"{decompressed - headerLength} bytes follow (truncated)";
                throw new InvalidDataException($"{path}: {declared}, but {ends}.", e);
            }

            if (input.ReadByte() >= 0)
            {
                (data as IDisposable)?.Dispose();
                throw new InvalidDataException($"{path}: {declared}, but more bytes follow (trailing data).");
            }

            return (data, dims);
        }
        catch (Exception e) when (gzip && IsGzipFailure(e, path))
        {
            throw new InvalidDataException($"{path}: the gzip stream is corrupt or truncated ({e.Message}).", e);
        }
    }

    /// <summary>
    /// How a gzip stream whose data ended early ends: its decompressed bytes, and whether the file is cut. .NET's
    /// GZipStream ends a cut stream silently, as if it were complete; a complete gzip stream ends with its data's size
    /// (ISIZE, modulo 2³²), which the last bytes of a cut file are not (of several concatenated gzip members, only the
    /// last one's size is there: such a file that is also too short is called cut). Only called once the data was found
    /// short, so decompressing it again reads fewer bytes than the header's checked claim.
    /// </summary>
    private static (long Bytes, bool Cut) GzipEnd(string path)
    {
        using var file = File.OpenRead(path);
        long bytes = 0;
        using (var gzip = new GZipStream(file, CompressionMode.Decompress, leaveOpen: true))
        {
            var buffer = new byte[81920];
            int read;
            while ((read = gzip.Read(buffer)) > 0)
            {
                bytes += read;
            }
        }

        if (file.Length < 18)
        {
            return (bytes, true); // shorter than gzip's 10-byte header and 8-byte trailer
        }

        Span<byte> size = stackalloc byte[4];
        file.Position = file.Length - 4;
        file.ReadExactly(size);
        return (bytes, BinaryPrimitives.ReadUInt32LittleEndian(size) != (uint)bytes);
    }

    // GZipStream's own errors (IOException, or InvalidDataException without our file name in front).
    private static bool IsGzipFailure(Exception e, string path) =>
        e is IOException || (e is InvalidDataException && !e.Message.StartsWith(path, StringComparison.Ordinal));

    private static void CheckMagic(string path, ReadOnlySpan<byte> magic, int available, int expectedDimensions, string what)
    {
        if (available < 4)
        {
            throw new InvalidDataException($"{path}: {available} bytes is too short for an IDX header (4 bytes of magic).");
        }

        if (magic[0] != 0 || magic[1] != 0)
        {
            throw new InvalidDataException($"{path}: magic 0x{magic[0]:X2}{magic[1]:X2}{magic[2]:X2}{magic[3]:X2} at offset 0 is not IDX; an IDX file starts with 0x0000 then the type and the number of dimensions (e.g. 0x00000803 for images).");
        }

        if (magic[2] != UnsignedByte)
        {
            throw new InvalidDataException($"{path}: data type 0x{magic[2]:X2} at offset 2 is not 0x08 (unsigned byte), the only type MNIST-style files use.");
        }

        if (magic[3] != expectedDimensions)
        {
            throw new InvalidDataException($"{path}: {magic[3]} dimensions (offset 3, magic 0x0000{magic[2]:X2}{magic[3]:X2}); expected {expectedDimensions} for {what}.");
        }
    }

    /// <summary>Fills <paramref name="buffer"/> as far as the stream goes; returns the bytes read.</summary>
    private static int ReadUpTo(Stream input, Span<byte> buffer)
    {
        int total = 0;
        while (total < buffer.Length)
        {
            int n = input.Read(buffer[total..]);
            if (n == 0)
            {
                break;
            }

            total += n;
        }

        return total;
    }
}
