using System.Globalization;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using UnsupervisedFinetuning.IO;

namespace UnsupervisedFinetuning.Data;

/// <summary>
/// Reads a manifest — a text file listing one image per line — into a file-backed dataset, without decoding.
/// </summary>
/// <remarks>
/// <para>Format (UTF-8): each line is a path, optionally followed by a label after a tab (or, in a file whose
/// name ends in <c>.csv</c>, after the last comma): <c>images/0001.jpg\tscrew</c>. Relative paths are relative to
/// the manifest's folder. Blank lines and lines starting with <c>#</c> are skipped; a CSV's first line is
/// skipped when it reads <c>path,label</c> (any case).</para>
/// <para>Classes are the distinct labels in ordinal order — or in numeric order when every label is an
/// integer, so <c>2</c> comes before <c>10</c>.</para>
/// </remarks>
public static class ImageManifest
{
    /// <summary>The longest line accepted, in characters: a manifest is paths, not data.</summary>
    public const int MaxLineLength = 4096;

    /// <summary>Reads the manifest as unlabelled images (a label column, if present, is ignored).</summary>
    /// <exception cref="FileNotFoundException">The manifest, or a listed image (unless <see cref="ImageFolderOptions.SkipUnreadable"/>), does not exist; the message names the line.</exception>
    /// <exception cref="InvalidDataException">The manifest lists no images, a line is too long or holds a NUL, a listed path
    /// is not a regular file (FIFO, device, dangling link; unless skipping), or — with
    /// <see cref="ImageFolderOptions.ConfineManifestPaths"/> — leads outside the manifest's folder; the message names the line.</exception>
    public static ImageFileDataset Read(string path, ImageFolderOptions? options = null, ILogger? logger = null)
    {
        var checkedOptions = ImageFolderOptions.Checked(options);
        logger ??= NullLogger.Instance;
        var entries = ReadEntries(path, requireLabels: false, checkedOptions, logger);
        return new ImageFileDataset(entries.Select(e => e.File).ToArray(), checkedOptions, logger);
    }

    /// <summary>Reads the manifest as labelled images: every line needs a label.</summary>
    /// <exception cref="FileNotFoundException">The manifest, or a listed image (unless skipping), does not exist; the message names the line.</exception>
    /// <exception cref="InvalidDataException">A line has no label, the manifest lists no images, or a line is too long; the message names the line.</exception>
    public static LabeledImageFileDataset ReadLabeled(string path, ImageFolderOptions? options = null, ILogger? logger = null)
    {
        var checkedOptions = ImageFolderOptions.Checked(options);
        logger ??= NullLogger.Instance;
        var entries = ReadEntries(path, requireLabels: true, checkedOptions, logger);
        string[] names = entries.Select(e => e.Label!).Distinct(StringComparer.Ordinal).ToArray();
        names = names.All(n => long.TryParse(n, NumberStyles.Integer, CultureInfo.InvariantCulture, out _))
            ? [.. names.OrderBy(n => long.Parse(n, CultureInfo.InvariantCulture))]
            : [.. names.OrderBy(n => n, StringComparer.Ordinal)];
        var classOf = names.Select((n, i) => (n, i)).ToDictionary(p => p.n, p => p.i, StringComparer.Ordinal);
        int[] labels = entries.Select(e => classOf[e.Label!]).ToArray();
        var images = new ImageFileDataset(entries.Select(e => e.File).ToArray(), checkedOptions, logger);
        return new LabeledImageFileDataset(images, labels, names);
    }

    private static List<(string File, string? Label)> ReadEntries(string path, bool requireLabels, ImageFolderOptions options, ILogger logger)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (!File.Exists(path))
        {
            throw new FileNotFoundException($"Manifest not found: {path}", path);
        }

        string folder = Path.GetDirectoryName(Path.GetFullPath(path))!;
        bool csv = path.EndsWith(".csv", StringComparison.OrdinalIgnoreCase);
        var entries = new List<(string File, string? Label)>();
        using var reader = new StreamReader(path, System.Text.Encoding.UTF8, detectEncodingFromByteOrderMarks: true);
        var buffer = new char[MaxLineLength + 1];
        int number = 0;
        while (ReadLine(reader, buffer, path, number + 1) is { } line)
        {
            number++;
            string text = line.Trim();
            if (text.Length == 0 || text.StartsWith('#') || (csv && number == 1 && text.Equals("path,label", StringComparison.OrdinalIgnoreCase)))
            {
                continue;
            }

            int split = text.LastIndexOf('\t');
            if (split < 0 && csv)
            {
                split = text.LastIndexOf(',');
            }

            string file = (split < 0 ? text : text[..split]).Trim();
            string? label = split < 0 ? null : text[(split + 1)..].Trim();
            if (file.Length == 0)
            {
                throw new InvalidDataException($"{path}:{number}: the line has a label but no path.");
            }

            if (string.IsNullOrEmpty(label))
            {
                if (requireLabels)
                {
                    throw new InvalidDataException($"{path}:{number}: '{file}' has no label; a labelled manifest gives one per line after a tab{(csv ? " or comma" : "")}.");
                }

                label = null;
            }

            if (file.Contains('\0'))
            {
                throw new InvalidDataException($"{path}:{number}: the path contains a NUL character ('{ExceptionText.Printable(file, 200)}'); a manifest line is a path, optionally a tab and a label.");
            }

            string full = Path.GetFullPath(Path.IsPathRooted(file) ? file : Path.Combine(folder, file));
            if (options.ConfineManifestPaths && OutsideFolder(full, folder) is { } escape)
            {
                throw new InvalidDataException($"{path}:{number}: '{ExceptionText.Printable(file, 200)}' {escape}; ImageFolderOptions.ConfineManifestPaths admits only files inside the manifest's folder {folder}.");
            }

            var kind = FileSystemFacts.KindOf(full);
            if (kind != PathKind.Regular)
            {
                string why = FileSystemFacts.WhyNotAnImage(full)!;
                if (!options.SkipUnreadable)
                {
                    throw kind == PathKind.Missing
                        ? new FileNotFoundException($"{path}:{number}: image not found: {ExceptionText.Printable(full, 400)}", full)
                        : new InvalidDataException($"{path}:{number}: {ExceptionText.Printable(full, 400)} {why}.");
                }

                ImageFileDataset.LogSkipped(logger, ExceptionText.Printable(full, 400), $"listed at {path}:{number} but {why}");
                continue;
            }

            entries.Add((full, label));
        }

        if (options.SkipUnreadable)
        {
            var readable = ImageFileDataset.Readable(entries.Select(e => e.File).ToArray(), options, logger).ToHashSet(StringComparer.Ordinal);
            entries = entries.Where(e => readable.Contains(e.File)).ToList();
        }

        return entries.Count > 0 ? entries : throw new InvalidDataException($"{path}: lists no {(options.SkipUnreadable ? "readable " : "")}images.");
    }

    /// <summary>
    /// Null when <paramref name="full"/> lies inside <paramref name="folder"/> after symbolic links are resolved,
    /// otherwise how it escapes: by its path (<c>../</c>, an absolute path) or through a link.
    /// </summary>
    private static string? OutsideFolder(string full, string folder)
    {
        static bool Inside(string path, string root) =>
            path.StartsWith(Path.TrimEndingDirectorySeparator(root) + Path.DirectorySeparatorChar, OperatingSystem.IsWindows() ? StringComparison.OrdinalIgnoreCase : StringComparison.Ordinal);

        if (!Inside(full, folder))
        {
            return "lies outside the manifest's folder";
        }

        string? realFolder = FileSystemFacts.RealPath(folder);
        string? realFile = FileSystemFacts.RealPath(full);
        return realFolder is null || realFile is null || Inside(realFile, realFolder) ? null : $"is a symbolic link (or inside one) to {ExceptionText.Printable(realFile, 200)}, outside the manifest's folder";
    }

    /// <summary>One line, read without ever holding more than <see cref="MaxLineLength"/> characters of it.</summary>
    private static string? ReadLine(StreamReader reader, char[] buffer, string path, int number)
    {
        int length = 0;
        while (true)
        {
            int next = reader.Read();
            if (next < 0)
            {
                return length == 0 ? null : new string(buffer, 0, length); // the last line may lack its newline
            }

            if (next == '\n')
            {
                return new string(buffer, 0, length > 0 && buffer[length - 1] == '\r' ? length - 1 : length);
            }

            if (length == MaxLineLength)
            {
                throw new InvalidDataException($"{path}:{number}: the line is longer than {MaxLineLength} characters; a manifest holds one image path (and label) per line.");
            }

            buffer[length++] = (char)next;
        }
    }
}
