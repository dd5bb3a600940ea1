namespace UnsupervisedFinetuning.Data;

/// <summary>How decoded images become channels.</summary>
public enum ImageColorMode
{
    /// <summary>Three channels R, G, B (grayscale sources are replicated).</summary>
    Rgb,

    /// <summary>One channel of ITU-R 601-2 luma, 0.299 R + 0.587 G + 0.114 B.</summary>
    Grayscale,
}

/// <summary>How images of other sizes are brought to the dataset's fixed size.</summary>
public enum ImageResizeMode
{
    /// <summary>Scale so the image covers the target, keeping its aspect ratio, then cut the centre (torchvision's Resize + CenterCrop).</summary>
    CenterCrop,

    /// <summary>Scale each side independently to the target size (aspect ratio not kept).</summary>
    Stretch,
}

/// <summary>Options for <see cref="ImageFolder"/>.</summary>
public sealed class ImageFolderOptions
{
    /// <summary>Height every image is brought to, in pixels. Default 32.</summary>
    public int Height { get; set; } = 32;

    /// <summary>Width every image is brought to, in pixels. Default 32.</summary>
    public int Width { get; set; } = 32;

    /// <summary>Channels of the dataset. Default <see cref="ImageColorMode.Rgb"/>.</summary>
    public ImageColorMode Color { get; set; } = ImageColorMode.Rgb;

    /// <summary>How images of another size are resized. Default <see cref="ImageResizeMode.CenterCrop"/>.</summary>
    public ImageResizeMode Resize { get; set; } = ImageResizeMode.CenterCrop;

    /// <summary>
    /// File extensions read (case-insensitive). Default .png, .jpg, .jpeg; SkiaSharp also decodes .bmp, .webp and
    /// .gif (first frame) when they are listed. Other files are left out and logged (Information, event 1002).
    /// </summary>
    public IReadOnlyList<string> Extensions { get; set; } = [".png", ".jpg", ".jpeg"];

    /// <summary>
    /// When set, files that cannot be decoded are skipped and logged as warnings; otherwise (default) the
    /// first such file stops loading with an exception naming it.
    /// </summary>
    public bool SkipUnreadable { get; set; }

    /// <summary>
    /// For manifests from untrusted users (<see cref="ImageManifest"/>): every listed path must lie inside the
    /// manifest's folder — no absolute path elsewhere, no <c>../</c>, no symbolic link leading out — or the manifest
    /// is refused naming the line. Default false: a manifest may list any file the process can read (a manifest is
    /// a program's input, like a command line). Folders (<see cref="ImageFolder"/>) are not affected.
    /// </summary>
    public bool ConfineManifestPaths { get; set; }

    /// <summary>
    /// The most pixels a file may declare (width × height) to be decoded, and with it the memory one decode may take:
    /// what a full-size decode of that many pixels takes, 5⅓ bytes a pixel (the bitmap and its mipmaps for the
    /// downscale), + 32 MB of row buffers. The header is read first, so a file that declares more — a photo above the
    /// limit, or a tiny file that lies about its size — is refused as unreadable before anything is allocated; so is
    /// one whose decode would need more memory than that: a progressive JPEG keeps 128 bytes per 8×8 block of every
    /// component at any output scale (an 8000² progressive CMYK JPEG needs 512 MB), and an EXIF-rotated image needs
    /// an upright copy of its bitmap. Default 64,000,000: a 64-megapixel PNG, 375 MB at most while it is decoded
    /// (measured: 348–355 MB for an 8000² 16-bit PNG).
    /// </summary>
    public long MaxDecodedPixels { get; set; } = 64_000_000;

    /// <summary>
    /// Threads that decode one batch in parallel; 0 (default) uses every core (<see cref="Environment.ProcessorCount"/>).
    /// Decoding runs between training steps, while the network waits, so all cores are free for it.
    /// </summary>
    public int DecodeThreads { get; set; }

    /// <summary>
    /// The memory one decode may take: what a full-size decode of <see cref="MaxDecodedPixels"/> takes — its bitmap and
    /// mipmaps, 5⅓ bytes a pixel — plus row buffers: 375 MB by default.
    /// </summary>
    internal long MaxDecodeBytes => (MaxDecodedPixels * 16 / 3) + DecodeCost.Slack;

    internal int EffectiveDecodeThreads => DecodeThreads == 0 ? Environment.ProcessorCount : DecodeThreads;

    /// <summary>A validated copy: a dataset keeps its own options, so the caller's object may change later.</summary>
    internal static ImageFolderOptions Checked(ImageFolderOptions? options)
    {
        var copy = (ImageFolderOptions)(options ?? new ImageFolderOptions()).MemberwiseClone();
        copy.Extensions = [.. copy.Extensions ?? []];
        copy.Validate();
        return copy;
    }

    /// <summary>Throws when a value is out of range, naming the option.</summary>
    public void Validate()
    {
        if (DecodeThreads < 0 || DecodeThreads > 256)
        {
            throw new ArgumentOutOfRangeException(nameof(DecodeThreads), DecodeThreads, "ImageFolderOptions.DecodeThreads must be in [0, 256]; 0 uses every core.");
        }

        if (MaxDecodedPixels < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(MaxDecodedPixels), MaxDecodedPixels, "ImageFolderOptions.MaxDecodedPixels must be at least 1.");
        }

        if (Height <= 0 || Height > 4096)
        {
            throw new ArgumentOutOfRangeException(nameof(Height), Height, "ImageFolderOptions.Height must be in [1, 4096].");
        }

        if (Width <= 0 || Width > 4096)
        {
            throw new ArgumentOutOfRangeException(nameof(Width), Width, "ImageFolderOptions.Width must be in [1, 4096].");
        }

        if (Extensions is null || Extensions.Count == 0 || Extensions.Any(e => string.IsNullOrWhiteSpace(e) || !e.StartsWith('.')))
        {
            throw new ArgumentException("ImageFolderOptions.Extensions must list at least one extension, each starting with '.', e.g. \".png\".", nameof(Extensions));
        }

        if (!Enum.IsDefined(Color))
        {
            throw new ArgumentOutOfRangeException(nameof(Color), Color, "ImageFolderOptions.Color must be Rgb or Grayscale.");
        }

        if (!Enum.IsDefined(Resize))
        {
            throw new ArgumentOutOfRangeException(nameof(Resize), Resize, "ImageFolderOptions.Resize must be CenterCrop or Stretch.");
        }
    }
}
