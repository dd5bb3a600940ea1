using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace UnsupervisedFinetuning.Data;

/// <summary>
/// One kind of place images are read from — a folder, a manifest file — as an entry of <see cref="ImageSourceCatalog"/>:
/// whether a path is one it opens, and how it opens that path as an unlabelled or a labelled dataset. A path resolves
/// to a dataset through the catalog (<see cref="ImageSourceCatalog.Open"/>): the first entry that claims it opens it.
/// </summary>
/// <example><code>
/// var sources = ImageSourceCatalog.BuiltIn.With(ImageSourceEntry.Create("zip", "Images in a .zip archive.", "zip archive",
///     path => path.EndsWith(".zip", StringComparison.OrdinalIgnoreCase) &amp;&amp; File.Exists(path),
///     (path, options, logger) => MyZipDataset.Open(path, options)));
/// IImageDataset images = sources.Open("photos.zip", new ImageFolderOptions { Height = 112, Width = 112 });
/// </code></example>
public sealed class ImageSourceEntry : CatalogEntry
{
    private readonly Func<string, bool> _claims;
    private readonly Func<string, ImageFolderOptions, ILogger, IImageDataset> _open;
    private readonly Func<string, ImageFolderOptions, ILogger, ILabeledImageDataset>? _openLabeled;

    private ImageSourceEntry(string name, string description, string expected, IReadOnlyList<string> aliases, Func<string, bool> claims,
        Func<string, ImageFolderOptions, ILogger, IImageDataset> open, Func<string, ImageFolderOptions, ILogger, ILabeledImageDataset>? openLabeled)
        : base(name, description, aliases)
    {
        Expected = expected;
        _claims = claims;
        _open = open;
        _openLabeled = openLabeled;
    }

    /// <summary>An image source.</summary>
    /// <param name="name">The name users write (lower case, digits, hyphens), e.g. "folder".</param>
    /// <param name="description">One sentence for help texts.</param>
    /// <param name="expected">What a path of this source is, for the message when no source claims a path: "folder", "manifest file".</param>
    /// <param name="claims">Whether a path is one this source opens (e.g. an existing folder); must not throw.</param>
    /// <param name="open">Opens a claimed path as unlabelled images, decoded at the options' working size; the options are never null.</param>
    /// <param name="openLabeled">Opens a claimed path as labelled images; null when the source has no labels.</param>
    /// <param name="aliases">Other names of the source; none by default.</param>
    /// <exception cref="ArgumentException">The name, description or expected text is empty.</exception>
    public static ImageSourceEntry Create(string name, string description, string expected, Func<string, bool> claims,
        Func<string, ImageFolderOptions, ILogger, IImageDataset> open, Func<string, ImageFolderOptions, ILogger, ILabeledImageDataset>? openLabeled = null,
        IReadOnlyList<string>? aliases = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        ArgumentException.ThrowIfNullOrEmpty(description);
        ArgumentException.ThrowIfNullOrEmpty(expected);
        ArgumentNullException.ThrowIfNull(claims);
        ArgumentNullException.ThrowIfNull(open);
        return new ImageSourceEntry(name, description, expected, [.. aliases ?? []], claims, open, openLabeled);
    }

    /// <summary>What a path of this source is ("folder", "manifest file"): the catalog's message when nothing claims a path lists these.</summary>
    public string Expected { get; }

    /// <summary>Whether <see cref="OpenLabeled"/> is supported.</summary>
    public bool HasLabels => _openLabeled is not null;

    /// <summary>Whether <paramref name="path"/> is one this source opens (e.g. for the folder source: an existing folder).</summary>
    public bool CanOpen(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        return _claims(path);
    }

    /// <summary>Opens <paramref name="path"/> as unlabelled images (a label column or class folders, if present, are ignored).</summary>
    /// <param name="path">A path this source claims (<see cref="CanOpen"/>).</param>
    /// <param name="options">Working size, colour mode, extensions, skipping; defaults when null.</param>
    /// <param name="logger">Where left-out files are reported; none when null.</param>
    /// <exception cref="InvalidDataException">The path holds no readable images, or an unreadable one; the message names it (see the source's reader).</exception>
    public IImageDataset Open(string path, ImageFolderOptions? options = null, ILogger? logger = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        return _open(path, options ?? new ImageFolderOptions(), logger ?? NullLogger.Instance);
    }

    /// <summary>Opens <paramref name="path"/> as labelled images (class folders, a manifest's label column).</summary>
    /// <param name="path">A path this source claims (<see cref="CanOpen"/>).</param>
    /// <param name="options">Working size, colour mode, extensions, skipping; defaults when null.</param>
    /// <param name="logger">Where left-out files are reported; none when null.</param>
    /// <exception cref="NotSupportedException">The source has no labels (<see cref="HasLabels"/> is false).</exception>
    /// <exception cref="InvalidDataException">The path holds no labelled images, or an image without a label; the message names it.</exception>
    public ILabeledImageDataset OpenLabeled(string path, ImageFolderOptions? options = null, ILogger? logger = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        var open = _openLabeled ?? throw new NotSupportedException($"The image source '{Name}' has no labels; open {path} without them.");
        return open(path, options ?? new ImageFolderOptions(), logger ?? NullLogger.Instance);
    }
}
