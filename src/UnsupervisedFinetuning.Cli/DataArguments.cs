using Microsoft.Extensions.Logging;
using UnsupervisedFinetuning.Data;

namespace UnsupervisedFinetuning.Cli;

/// <summary>
/// Images named on the command line: any path a source of the catalog (<see cref="ImageSourceCatalog.BuiltIn"/> unless the host gives its own) opens — a folder
/// (every image under it; for labelled data one sub-folder per class) or a manifest file (.txt, .tsv, .csv: one path
/// per line, optional label). Indexed, not decoded: a command decodes what it needs when it needs it.
/// </summary>
internal static class DataArguments
{
    /// <summary>The images at <paramref name="path"/>, without labels.</summary>
    /// <exception cref="UsageException">No source opens <paramref name="path"/> (nothing there).</exception>
    /// <exception cref="InvalidDataException">No images there; the message begins with <paramref name="optionName"/>.</exception>
    public static IImageDataset Unlabeled(string path, string optionName, ImageFolderOptions options, ILogger logger, Catalog<ImageSourceEntry>? sources = null)
    {
        var source = Source(path, optionName, sources);
        return Named(() => source.Open(path, options, logger), optionName);
    }

    /// <summary>
    /// Labelled images: <c>root/&lt;class&gt;/&lt;image&gt;</c> or a manifest with labels. Refused rather than read
    /// half: a folder with images beside its class folders (they would be left out), or fewer classes than
    /// <paramref name="minimumClasses"/> — an unlabelled folder with one sub-folder would otherwise be scored as a
    /// one-class problem at 100 %.
    /// </summary>
    /// <param name="path">The folder or manifest.</param>
    /// <param name="optionName">The option it came from, named in every message.</param>
    /// <param name="options">Decoding options.</param>
    /// <param name="logger">Where skipped files are reported.</param>
    /// <param name="minimumClasses">2 for anything scored by accuracy; 1 where classes only balance a draw.</param>
    /// <param name="withoutLabels">What to do instead when the images have no labels (appended to the refusal), if anything.</param>
    /// <param name="sources">The sources a path may open through (default: the built-in folder and manifest).</param>
    /// <exception cref="UsageException">Nothing at <paramref name="path"/>, images outside the class folders, too few classes.</exception>
    public static ILabeledImageDataset Labeled(string path, string optionName, ImageFolderOptions options, ILogger logger, int minimumClasses = 2, string? withoutLabels = null, Catalog<ImageSourceEntry>? sources = null)
    {
        string hint = withoutLabels is null ? "" : " " + withoutLabels;
        var source = Source(path, optionName, sources);
        bool folder = ReferenceEquals(source, ImageSourceCatalog.Folder);
        int loose = folder ? LooseImages(path, options) : 0;
        if (loose > 0 && !Directory.EnumerateDirectories(path).Any())
        {
            throw new UsageException($"{optionName} {path}: holds {loose} images but no class sub-folders; labelled images are laid out as {path}/<class>/<image>.{hint}");
        }

        var data = Named(() => source.OpenLabeled(path, options, logger), optionName);
        if (loose > 0)
        {
            throw new UsageException($"{optionName} {path}: {loose} images sit at the top level, outside the {Classes(data)}; they have no label and would be left out. " +
                $"Move them into class folders ({path}/<class>/<image>).{hint}");
        }

        if (data.ClassCount < minimumClasses)
        {
            throw new UsageException($"{optionName} {path}: has {Classes(data)} with {data.Count} images; accuracy needs at least {minimumClasses} classes " +
                $"(a single class is always predicted right).{hint}");
        }

        return data;
    }

    /// <summary>The source that opens <paramref name="path"/>; "--target: no folder or manifest file at x." when none does.</summary>
    private static ImageSourceEntry Source(string path, string optionName, Catalog<ImageSourceEntry>? sources)
    {
        try
        {
            return (sources ?? ImageSourceCatalog.BuiltIn).Resolve(path);
        }
        catch (FileNotFoundException e)
        {
            throw new UsageException($"{optionName}: {e.Message}");
        }
    }

    /// <summary>"2 class folders (a, b)": how many classes were found, and the first few names.</summary>
    private static string Classes(ILabeledImageDataset data)
    {
        string names = string.Join(", ", data.ClassNames.Take(5).Select(n => $"'{ConsoleText.Printable(n)}'")) + (data.ClassCount > 5 ? ", …" : "");
        return $"{data.ClassCount} class{(data.ClassCount == 1 ? "" : "es")} ({names})";
    }

    /// <summary>Image files directly in <paramref name="root"/>: in a labelled folder they belong to no class.</summary>
    private static int LooseImages(string root, ImageFolderOptions options)
    {
        var extensions = new HashSet<string>(options.Extensions, StringComparer.OrdinalIgnoreCase);
        return Directory.EnumerateFiles(root).Count(f => extensions.Contains(Path.GetExtension(f)));
    }

    /// <summary>The library's messages name the folder or file; on the command line they also name the option.</summary>
    private static T Named<T>(Func<T> read, string optionName)
    {
        try
        {
            return read();
        }
        catch (InvalidDataException e) when (!e.Message.StartsWith(optionName, StringComparison.Ordinal))
        {
            throw new InvalidDataException($"{optionName}: {e.Message}", e);
        }
    }
}
