using Microsoft.Extensions.Logging;

namespace UnsupervisedFinetuning.Data;

/// <summary>
/// The places images are read from, by name: a folder (<see cref="ImageFolder"/>) and a manifest file
/// (<see cref="ImageManifest"/>). A path resolves to a dataset through a catalog of these — the first entry that
/// claims the path opens it — so a host (and <c>uft</c>) reads any source the catalog holds, not one concrete type.
/// </summary>
public static class ImageSourceCatalog
{
    /// <summary>Every image under an existing folder (sub-folders included); labelled: <c>root/&lt;class&gt;/&lt;image&gt;</c>.</summary>
    public static ImageSourceEntry Folder { get; } = ImageSourceEntry.Create(
        "folder",
        "Every image under a folder, sub-folders included; with labels, one sub-folder per class (root/<class>/<image>).",
        "folder",
        Directory.Exists,
        (path, options, logger) => ImageFolder.Index(path, options, logger),
        (path, options, logger) => ImageFolder.IndexLabeled(path, options, logger));

    /// <summary>
    /// Any other existing file, read as a manifest (.txt, .tsv, .csv: one image path per line, optionally a label). It
    /// claims every file, so a source of a file type of its own goes before it in a catalog.
    /// </summary>
    public static ImageSourceEntry Manifest { get; } = ImageSourceEntry.Create(
        "manifest",
        "A text file (.txt, .tsv, .csv) listing one image path per line, optionally followed by a label.",
        "manifest file",
        File.Exists,
        (path, options, logger) => ImageManifest.Read(path, options, logger),
        (path, options, logger) => ImageManifest.ReadLabeled(path, options, logger));

    /// <summary>The built-in sources, in the order they are tried: <see cref="Folder"/>, <see cref="Manifest"/>.</summary>
    public static Catalog<ImageSourceEntry> BuiltIn { get; } = new([Folder, Manifest]);

    /// <summary>The first source of <paramref name="sources"/> that claims <paramref name="path"/>.</summary>
    /// <exception cref="FileNotFoundException">None does; the message names the path and what was expected ("no folder or manifest file at photos/.").</exception>
    public static ImageSourceEntry Resolve(this Catalog<ImageSourceEntry> sources, string path)
    {
        ArgumentNullException.ThrowIfNull(sources);
        ArgumentException.ThrowIfNullOrEmpty(path);
        return sources.FirstOrDefault(s => s.CanOpen(path))
            ?? throw new FileNotFoundException($"no {Expected(sources)} at {path}.", path);
    }

    /// <summary>Opens <paramref name="path"/> as unlabelled images with the first source that claims it.</summary>
    /// <exception cref="FileNotFoundException">No source claims the path (see <see cref="Resolve"/>).</exception>
    /// <exception cref="InvalidDataException">The source found no readable images there; the message names the path or file.</exception>
    public static IImageDataset Open(this Catalog<ImageSourceEntry> sources, string path, ImageFolderOptions? options = null, ILogger? logger = null) =>
        sources.Resolve(path).Open(path, options, logger);

    /// <summary>Opens <paramref name="path"/> as labelled images with the first source that claims it.</summary>
    /// <exception cref="FileNotFoundException">No source claims the path (see <see cref="Resolve"/>).</exception>
    /// <exception cref="NotSupportedException">The source that claims it has no labels.</exception>
    /// <exception cref="InvalidDataException">The source found no labelled images there; the message names the path or file.</exception>
    public static ILabeledImageDataset OpenLabeled(this Catalog<ImageSourceEntry> sources, string path, ImageFolderOptions? options = null, ILogger? logger = null) =>
        sources.Resolve(path).OpenLabeled(path, options, logger);

    /// <summary>"folder or manifest file": what the sources open, for the message when none claims a path.</summary>
    private static string Expected(Catalog<ImageSourceEntry> sources) => sources.Count switch
    {
        0 => "image source",
        1 => sources[0].Expected,
        _ => string.Join(", ", sources.Take(sources.Count - 1).Select(s => s.Expected)) + " or " + sources[^1].Expected,
    };
}
