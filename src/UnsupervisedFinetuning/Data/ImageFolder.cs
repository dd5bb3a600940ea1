using Microsoft.Extensions.Logging;
using System.IO.Enumeration;
using Microsoft.Extensions.Logging.Abstractions;
using UnsupervisedFinetuning.IO;

namespace UnsupervisedFinetuning.Data;

/// <summary>
/// Reads folders of PNG/JPEG files (decoded with SkiaSharp): <c>root/&lt;class&gt;/*.png</c> for labelled data
/// (classes are the sub-folder names in ordinal order, like torchvision's ImageFolder), or every image under
/// <c>root</c> for unlabelled data. Files are taken in ordinal path order, so the result does not depend on
/// the file system. <c>Index…</c> lists the files and decodes on demand (<see cref="ImageFileDataset"/>: a
/// source set of any size); <c>Load…</c> decodes everything into memory once (a target set).
/// </summary>
/// <remarks>
/// <para><b>Size.</b> Every image is brought to the working size <see cref="ImageFolderOptions.Height"/> ×
/// <see cref="ImageFolderOptions.Width"/>: with <see cref="ImageResizeMode.CenterCrop"/> (default) it is scaled,
/// keeping its aspect ratio, until it covers that size — for a square working size, the shorter side becomes
/// the working size — and the centre is cut (torchvision's Resize + CenterCrop). Training views are then drawn
/// from the working image by the engine's RandomResizedCrop, as torchvision's recipe draws 224² crops from
/// images resized to 256. Choose a working size a little above the training crop (e.g. 112 for 96² views).</para>
/// <para><b>Orientation and colour.</b> The EXIF orientation of a JPEG is applied (the image is upright as a
/// viewer shows it). Grayscale and palette images become RGB by replication; alpha is dropped (the stored
/// colour of a transparent pixel is kept, as PIL's <c>convert("RGB")</c> does); <see cref="ImageColorMode.Grayscale"/>
/// takes ITU-R 601-2 luma. Large JPEGs decode at a reduced k/8 scale that still covers the working size.</para>
/// </remarks>
public static partial class ImageFolder
{
    /// <summary>
    /// The <see cref="Exception.Data"/> key under which an <see cref="InvalidDataException"/> about an image file that
    /// cannot be decoded (not PNG/JPEG, truncated, corrupt, too many pixels, not a regular file) carries the file's
    /// path — what tells such a failure from other invalid data, e.g. to suggest <see cref="ImageFolderOptions.SkipUnreadable"/>.
    /// </summary>
    public const string UnreadableImageKey = "UnsupervisedFinetuning.UnreadableImage";

    /// <summary>Loads <c>root/&lt;class&gt;/…</c> as a labelled dataset, decoded into memory (in parallel).</summary>
    /// <exception cref="DirectoryNotFoundException">The root does not exist.</exception>
    /// <exception cref="InvalidDataException">No class folders, an empty class folder, or an unreadable image
    /// (unless <see cref="ImageFolderOptions.SkipUnreadable"/>); the message names the folder or file.</exception>
    public static InMemoryLabeledImageDataset LoadLabeled(string root, ImageFolderOptions? options = null, ILogger? logger = null)
    {
        TorchDevices.EnsureNativeBackend(); // before decoding a whole folder
        return IndexLabeled(root, options, logger).LoadIntoMemory();
    }

    /// <summary>Loads every image under <paramref name="root"/> (sub-folders included) as an unlabelled dataset, decoded into memory.</summary>
    /// <exception cref="DirectoryNotFoundException">The root does not exist.</exception>
    /// <exception cref="InvalidDataException">No readable images, or an unreadable one (unless skipping).</exception>
    public static InMemoryImageDataset LoadUnlabeled(string root, ImageFolderOptions? options = null, ILogger? logger = null)
    {
        TorchDevices.EnsureNativeBackend(); // before decoding a whole folder
        return Index(root, options, logger).LoadIntoMemory();
    }

    /// <summary>
    /// Indexes every image under <paramref name="root"/> (sub-folders included) without decoding: images are
    /// decoded when a batch is gathered. With <see cref="ImageFolderOptions.SkipUnreadable"/> each file's header
    /// is read now and files that do not open are left out (and logged); otherwise nothing is read.
    /// </summary>
    /// <remarks>Symbolic links are followed; each folder is listed once, however many links lead to it (a link back
    /// to an ancestor is skipped and logged, event 1004), so indexing ends and never lists an image twice. Only
    /// regular files are images.</remarks>
    /// <exception cref="DirectoryNotFoundException">The root does not exist.</exception>
    /// <exception cref="InvalidDataException">The folder holds no image files (with the configured extensions), or
    /// an image-named entry is not a regular file — a FIFO, socket or device, a dangling symbolic link, a name that is
    /// not valid UTF-8 — (unless <see cref="ImageFolderOptions.SkipUnreadable"/>, which skips and logs it); the message names it.</exception>
    public static ImageFileDataset Index(string root, ImageFolderOptions? options = null, ILogger? logger = null)
    {
        var checkedOptions = ImageFolderOptions.Checked(options);
        logger ??= NullLogger.Instance;
        CheckRoot(root);
        string[] files = ImageFileDataset.Readable(ListImages(root, checkedOptions, logger, new HashSet<string>(StringComparer.Ordinal)), checkedOptions, logger);
        return files.Length > 0
            ? new ImageFileDataset(files, checkedOptions, logger)
            : throw new InvalidDataException($"{root}: holds no readable {string.Join("/", checkedOptions.Extensions)} images.");
    }

    /// <summary>
    /// Indexes <c>root/&lt;class&gt;/…</c> (images in sub-folders of a class folder count for that class)
    /// without decoding; see <see cref="Index"/>.
    /// </summary>
    /// <exception cref="DirectoryNotFoundException">The root does not exist.</exception>
    /// <exception cref="InvalidDataException">No class folders, a class folder without (readable) images, a class folder
    /// that is a link to the root or to another class, or an image-named entry that is not a regular file (see
    /// <see cref="Index"/>); the message names it.</exception>
    public static LabeledImageFileDataset IndexLabeled(string root, ImageFolderOptions? options = null, ILogger? logger = null)
    {
        var checkedOptions = ImageFolderOptions.Checked(options);
        logger ??= NullLogger.Instance;
        CheckRoot(root);
        string[] classDirs = Directory.GetDirectories(root).OrderBy(d => d, StringComparer.Ordinal).ToArray();
        if (classDirs.Length == 0)
        {
            throw new InvalidDataException($"{root}: has no class sub-folders; a labelled image folder is laid out as root/<class>/<image>.");
        }

        var files = new List<string>();
        var labels = new List<int>();
        // One visited set for the root and every class: a class folder that links to another (or to the root) would
        // give its images two labels; it is skipped and logged instead.
        var visited = new HashSet<string>(StringComparer.Ordinal) { FileSystemFacts.DirectoryIdentity(root) ?? Path.GetFullPath(root) };
        for (int c = 0; c < classDirs.Length; c++)
        {
            if (visited.Contains(FileSystemFacts.DirectoryIdentity(classDirs[c]) ?? Path.GetFullPath(classDirs[c])))
            {
                throw new InvalidDataException($"{ExceptionText.Printable(classDirs[c], 400)}: is a symbolic link to the root or to another class folder; its images would carry two labels. Give each class a folder of its own.");
            }

            string[] found = ImageFileDataset.Readable(ListImages(classDirs[c], checkedOptions, logger, visited), checkedOptions, logger);
            if (found.Length == 0)
            {
                throw new InvalidDataException($"{classDirs[c]}: class folder holds no readable {string.Join("/", checkedOptions.Extensions)} images.");
            }

            files.AddRange(found);
            labels.AddRange(Enumerable.Repeat(c, found.Length));
        }

        string[] loose = Directory.GetFiles(root).OrderBy(f => f, StringComparer.Ordinal).ToArray();
        if (loose.Length > 0)
        {
            LogIgnored(logger, loose.Length, root, "they sit beside the class folders, not in one", string.Join(", ", loose.Take(3).Select(Path.GetFileName)));
        }

        string[] names = classDirs.Select(d => Path.GetFileName(d)).ToArray();
        return new LabeledImageFileDataset(new ImageFileDataset([.. files], checkedOptions, logger), [.. labels], names);
    }

    /// <summary>
    /// Decodes one image file into [C,H,W] bytes of the configured size and colour mode (the policy of the
    /// remarks above).
    /// </summary>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="InvalidDataException">The file is not a decodable image or is truncated; the message names it.</exception>
    public static byte[] Decode(string file, ImageFolderOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        var planes = new byte[ImageDecoder.PlaneBytes(options)];
        ImageDecoder.DecodeInto(file, options, planes);
        return planes;
    }

    // Every file below the folder, sub-folders included; those whose extension is not in the options are
    // left out — and said so, never silently. Symbolic links are followed (a dataset assembled from links is
    // common), but each directory is visited once, by identity: a link back to an ancestor, or a second link to a
    // folder already listed, is skipped and logged, so a walk always ends and never lists an image twice. Only
    // regular files are images: a FIFO, socket or device, a dangling link or a name .NET cannot decode stops
    // indexing with its name (or, with SkipUnreadable, is skipped and logged) — opening a FIFO would block forever.
    // One pass and one sort in place: listing a million files holds the paths once.
    private static string[] ListImages(string directory, ImageFolderOptions options, ILogger logger, HashSet<string> visited)
    {
        var extensions = new HashSet<string>(options.Extensions, StringComparer.OrdinalIgnoreCase).GetAlternateLookup<ReadOnlySpan<char>>();
        var images = new List<string>();
        var other = new List<string>();
        var pending = new Stack<string>();
        if (Visit(directory, visited, logger))
        {
            pending.Push(directory);
        }

        var enumeration = new EnumerationOptions { RecurseSubdirectories = false, AttributesToSkip = 0, IgnoreInaccessible = false, MatchType = MatchType.Simple };
        while (pending.TryPop(out string? folder))
        {
            var subfolders = new List<string>();
            foreach (var (path, isDirectory) in new FileSystemEnumerable<(string, bool)>(folder, (ref FileSystemEntry e) => (e.ToFullPath(), e.IsDirectory), enumeration))
            {
                if (isDirectory)
                {
                    subfolders.Add(path);
                }
                else if (!extensions.Contains(Path.GetExtension(path.AsSpan())))
                {
                    other.Add(path);
                }
                else if (FileSystemFacts.WhyNotAnImage(path) is { } problem)
                {
                    if (!options.SkipUnreadable)
                    {
                        throw new InvalidDataException($"{ExceptionText.Printable(path, 400)}: {problem}.");
                    }

                    ImageFileDataset.LogSkipped(logger, ExceptionText.Printable(path, 400), problem);
                }
                else
                {
                    images.Add(path);
                }
            }

            // Depth first in ordinal order, so which of two links to one folder is kept does not depend on the file system.
            subfolders.Sort(StringComparer.Ordinal);
            for (int i = subfolders.Count - 1; i >= 0; i--)
            {
                if (Visit(subfolders[i], visited, logger))
                {
                    pending.Push(subfolders[i]);
                }
            }
        }

        if (other.Count > 0)
        {
            other.Sort(StringComparer.Ordinal);
            LogIgnored(logger, other.Count, directory, $"their extensions are not in ImageFolderOptions.Extensions ({string.Join(", ", options.Extensions)})", string.Join(", ", other.Take(3).Select(f => ExceptionText.Printable(Path.GetFileName(f)))));
        }

        string[] sorted = [.. images];
        Array.Sort(sorted, StringComparer.Ordinal);
        return sorted;
    }

    /// <summary>Marks a directory visited; false (and a log line) when it was already, under this or another path.</summary>
    private static bool Visit(string folder, HashSet<string> visited, ILogger logger)
    {
        string identity = FileSystemFacts.DirectoryIdentity(folder) ?? Path.GetFullPath(folder);
        if (visited.Add(identity))
        {
            return true;
        }

        LogRevisited(logger, ExceptionText.Printable(folder, 400));
        return false;
    }

    private static void CheckRoot(string root)
    {
        ArgumentException.ThrowIfNullOrEmpty(root);
        if (!Directory.Exists(root))
        {
            throw new DirectoryNotFoundException($"Image folder not found: {root}");
        }
    }

    [LoggerMessage(EventId = 1004, Level = LogLevel.Warning, Message = "Skipped folder {Folder}: it is a folder already listed, reached again through a symbolic link")]
    private static partial void LogRevisited(ILogger logger, string folder);

    [LoggerMessage(EventId = 1002, Level = LogLevel.Information, Message = "Ignored {Count} file(s) in {Folder}: {Why} (e.g. {Examples})")]
    private static partial void LogIgnored(ILogger logger, int count, string folder, string why, string examples);
}
