using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using SkiaSharp;

namespace UnsupervisedFinetuning.Data;

/// <summary>
/// Reads folders of PNG/JPEG files (decoded with SkiaSharp) into in-memory datasets of one fixed size:
/// <c>root/&lt;class&gt;/*.png</c> for labelled data (classes are the sub-folder names in ordinal order,
/// like torchvision's ImageFolder), or every image under <c>root</c> for unlabelled data.
/// Files are read in ordinal path order, so the result does not depend on the file system.
/// </summary>
public static partial class ImageFolder
{
    /// <summary>Loads <c>root/&lt;class&gt;/…</c> as a labelled dataset.</summary>
    /// <exception cref="DirectoryNotFoundException">The root does not exist.</exception>
    /// <exception cref="InvalidDataException">No class folders, an empty class folder, or an unreadable image
    /// (unless <see cref="ImageFolderOptions.SkipUnreadable"/>); the message names the folder or file.</exception>
    public static InMemoryLabeledImageDataset LoadLabeled(string root, ImageFolderOptions? options = null, ILogger? logger = null)
    {
        TorchDevices.EnsureNativeBackend(); // before decoding a whole folder
        options ??= new ImageFolderOptions();
        options.Validate();
        logger ??= NullLogger.Instance;
        CheckRoot(root);
        string[] classDirs = Directory.GetDirectories(root).OrderBy(d => d, StringComparer.Ordinal).ToArray();
        if (classDirs.Length == 0)
        {
            throw new InvalidDataException($"{root}: has no class sub-folders; a labelled image folder is laid out as root/<class>/<image>.");
        }

        var images = new List<byte[]>();
        var labels = new List<int>();
        for (int c = 0; c < classDirs.Length; c++)
        {
            string[] files = ListImages(classDirs[c], options, logger);
            int before = images.Count;
            foreach (string file in files)
            {
                if (TryDecode(file, options, logger) is { } pixels)
                {
                    images.Add(pixels);
                    labels.Add(c);
                }
            }

            if (images.Count == before)
            {
                throw new InvalidDataException($"{classDirs[c]}: class folder holds no readable {string.Join("/", options.Extensions)} images.");
            }
        }

        string[] loose = Directory.GetFiles(root).OrderBy(f => f, StringComparer.Ordinal).ToArray();
        if (loose.Length > 0)
        {
            LogIgnored(logger, loose.Length, root, "they sit beside the class folders, not in one", string.Join(", ", loose.Take(3).Select(Path.GetFileName)));
        }

        string[] names = classDirs.Select(d => Path.GetFileName(d)).ToArray();
        return InMemoryLabeledImageDataset.FromBytes(Concatenate(images), Shape(options), labels, classDirs.Length, names);
    }

    /// <summary>Loads every image under <paramref name="root"/> (sub-folders included) as an unlabelled dataset.</summary>
    /// <exception cref="DirectoryNotFoundException">The root does not exist.</exception>
    /// <exception cref="InvalidDataException">No readable images, or an unreadable one (unless skipping).</exception>
    public static InMemoryImageDataset LoadUnlabeled(string root, ImageFolderOptions? options = null, ILogger? logger = null)
    {
        TorchDevices.EnsureNativeBackend(); // before decoding a whole folder
        options ??= new ImageFolderOptions();
        options.Validate();
        logger ??= NullLogger.Instance;
        CheckRoot(root);
        var images = new List<byte[]>();
        foreach (string file in ListImages(root, options, logger))
        {
            if (TryDecode(file, options, logger) is { } pixels)
            {
                images.Add(pixels);
            }
        }

        if (images.Count == 0)
        {
            throw new InvalidDataException($"{root}: holds no readable {string.Join("/", options.Extensions)} images.");
        }

        return InMemoryImageDataset.FromBytes(Concatenate(images), images.Count, Shape(options));
    }

    /// <summary>
    /// Decodes one PNG/JPEG file into [C,H,W] bytes of the configured size and colour mode.
    /// </summary>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="InvalidDataException">The file is not a decodable image or is truncated; the message names it.</exception>
    public static byte[] Decode(string file, ImageFolderOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (!File.Exists(file))
        {
            throw new FileNotFoundException($"Image not found: {file}", file);
        }

        using var codec = SKCodec.Create(file, out SKCodecResult created);
        if (codec is null)
        {
            throw new InvalidDataException($"{file}: not an image SkiaSharp can decode ({created}); expected PNG or JPEG.");
        }

        // The header's size is checked before the pixels are allocated: a file may declare far more than it holds.
        long declared = (long)codec.Info.Width * codec.Info.Height;
        if (declared > options.MaxDecodedPixels)
        {
            throw new InvalidDataException($"{file}: declares {codec.Info.Width}x{codec.Info.Height} = {declared:N0} pixels; at most ImageFolderOptions.MaxDecodedPixels = {options.MaxDecodedPixels:N0} are decoded.");
        }

        try
        {
            var size = DecodeSize(codec, options);
            var info = new SKImageInfo(size.Width, size.Height, SKColorType.Rgba8888, SKAlphaType.Unpremul);
            using var decoded = new SKBitmap(info);
            SKCodecResult result = codec.GetPixels(info, decoded.GetPixels());
            if (result != SKCodecResult.Success)
            {
                string why = result == SKCodecResult.IncompleteInput ? "the file is truncated" : "decoding failed";
                throw new InvalidDataException($"{file}: {why} ({result}, image declared {info.Width}x{info.Height}).");
            }

            using var sized = Resize(decoded, options, file);
            return ToPlanes(sized, options);
        }
        catch (Exception e) when (e is not InvalidDataException and not OutOfMemoryException)
        {
            // SkiaSharp reports allocation and codec failures as plain exceptions; they are unreadable files all the same.
            throw new InvalidDataException($"{file}: could not be decoded ({UnsupervisedFinetuning.IO.ExceptionText.Brief(e)}).", e);
        }
    }

    /// <summary>
    /// The smallest size the codec decodes to directly that still covers the working size: JPEG decodes at
    /// k/8 of its size (so a large photo never costs its full pixel buffer), PNG only at full size.
    /// </summary>
    private static SKSizeI DecodeSize(SKCodec codec, ImageFolderOptions options)
    {
        var full = new SKSizeI(codec.Info.Width, codec.Info.Height);
        for (int eighths = 1; eighths < 8; eighths++)
        {
            var scaled = codec.GetScaledDimensions(eighths / 8f);
            if (scaled.Width >= options.Width && scaled.Height >= options.Height && scaled.Width <= full.Width && scaled.Height <= full.Height)
            {
                return scaled;
            }
        }

        return full;
    }

    private static byte[]? TryDecode(string file, ImageFolderOptions options, ILogger logger)
    {
        try
        {
            return Decode(file, options);
        }
        catch (InvalidDataException e) when (options.SkipUnreadable)
        {
            LogSkipped(logger, file, e.Message);
            return null;
        }
    }

    private static SKBitmap Resize(SKBitmap source, ImageFolderOptions options, string file)
    {
        int width = options.Width;
        int height = options.Height;
        if (source.Width == width && source.Height == height)
        {
            return source.Copy();
        }

        int scaledWidth = width;
        int scaledHeight = height;
        if (options.Resize == ImageResizeMode.CenterCrop)
        {
            double scale = Math.Max((double)width / source.Width, (double)height / source.Height);
            scaledWidth = Math.Max(width, (int)Math.Round(source.Width * scale));
            scaledHeight = Math.Max(height, (int)Math.Round(source.Height * scale));
        }

        var scaledInfo = new SKImageInfo(scaledWidth, scaledHeight, SKColorType.Rgba8888, SKAlphaType.Unpremul);
        SKBitmap scaled = source.Resize(scaledInfo, new SKSamplingOptions(SKCubicResampler.Mitchell))
            ?? throw new InvalidDataException($"{file}: could not be resized from {source.Width}x{source.Height} to {scaledWidth}x{scaledHeight}.");
        if (scaledWidth == width && scaledHeight == height)
        {
            return scaled;
        }

        using (scaled)
        {
            using var cropped = new SKBitmap(new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Unpremul));
            int left = (scaledWidth - width) / 2;
            int top = (scaledHeight - height) / 2;
            if (!scaled.ExtractSubset(cropped, new SKRectI(left, top, left + width, top + height)))
            {
                throw new InvalidDataException($"{file}: could not cut the central {width}x{height} region.");
            }

            // ExtractSubset shares the scaled bitmap's pixels; the copy owns its own before both are disposed.
            return cropped.Copy();
        }
    }

    private static byte[] ToPlanes(SKBitmap bitmap, ImageFolderOptions options)
    {
        int width = bitmap.Width;
        int height = bitmap.Height;
        int plane = width * height;
        ReadOnlySpan<byte> rgba = bitmap.GetPixelSpan();
        int rowBytes = bitmap.RowBytes;
        bool gray = options.Color == ImageColorMode.Grayscale;
        var planes = new byte[(gray ? 1 : 3) * plane];
        for (int y = 0; y < height; y++)
        {
            for (int x = 0; x < width; x++)
            {
                int at = (y * rowBytes) + (x * 4);
                byte r = rgba[at];
                byte g = rgba[at + 1];
                byte b = rgba[at + 2];
                int p = (y * width) + x;
                if (gray)
                {
                    planes[p] = (byte)Math.Clamp((int)Math.Round((0.299 * r) + (0.587 * g) + (0.114 * b)), 0, 255);
                }
                else
                {
                    planes[p] = r;
                    planes[plane + p] = g;
                    planes[(2 * plane) + p] = b;
                }
            }
        }

        return planes;
    }

    // Every file below the folder, sub-folders included; those whose extension is not in the options are
    // left out — and said so, never silently.
    private static string[] ListImages(string directory, ImageFolderOptions options, ILogger logger)
    {
        var extensions = new HashSet<string>(options.Extensions, StringComparer.OrdinalIgnoreCase);
        var all = Directory.EnumerateFiles(directory, "*", SearchOption.AllDirectories)
            .OrderBy(f => f, StringComparer.Ordinal)
            .ToLookup(f => extensions.Contains(Path.GetExtension(f)));
        string[] other = all[false].ToArray();
        if (other.Length > 0)
        {
            LogIgnored(logger, other.Length, directory, $"their extensions are not in ImageFolderOptions.Extensions ({string.Join(", ", options.Extensions)})", string.Join(", ", other.Take(3).Select(Path.GetFileName)));
        }

        return all[true].ToArray();
    }

    private static void CheckRoot(string root)
    {
        ArgumentException.ThrowIfNullOrEmpty(root);
        if (!Directory.Exists(root))
        {
            throw new DirectoryNotFoundException($"Image folder not found: {root}");
        }
    }

    private static ImageShape Shape(ImageFolderOptions options) =>
        new(options.Color == ImageColorMode.Grayscale ? 1 : 3, options.Height, options.Width);

    private static byte[] Concatenate(List<byte[]> images)
    {
        var all = new byte[images.Sum(i => (long)i.Length)];
        long at = 0;
        foreach (byte[] image in images)
        {
            Array.Copy(image, 0L, all, at, image.Length);
            at += image.Length;
        }

        return all;
    }

    [LoggerMessage(EventId = 1001, Level = LogLevel.Warning, Message = "Skipped unreadable image {File}: {Reason}")]
    private static partial void LogSkipped(ILogger logger, string file, string reason);

    [LoggerMessage(EventId = 1002, Level = LogLevel.Information, Message = "Ignored {Count} file(s) in {Folder}: {Why} (e.g. {Examples})")]
    private static partial void LogIgnored(ILogger logger, int count, string folder, string why, string examples);
}
