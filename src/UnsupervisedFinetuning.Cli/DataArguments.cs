using Microsoft.Extensions.Logging;
using UnsupervisedFinetuning.Data;

namespace UnsupervisedFinetuning.Cli;

/// <summary>
/// Images named on the command line: a folder (every image under it; for labelled data one sub-folder per
/// class) or a manifest file (.txt, .tsv, .csv: one path per line, optional label). Indexed, not decoded: a
/// command decodes what it needs when it needs it.
/// </summary>
internal static class DataArguments
{
    /// <summary>Every image under a folder, or the images a manifest lists.</summary>
    /// <exception cref="UsageException">Nothing at <paramref name="path"/>.</exception>
    /// <exception cref="InvalidDataException">No images there; the message begins with <paramref name="optionName"/>.</exception>
    public static ImageFileDataset Unlabeled(string path, string optionName, ImageFolderOptions options, ILogger logger) =>
        Directory.Exists(path) ? Named(() => ImageFolder.Index(path, options, logger), optionName)
        : File.Exists(path) ? Named(() => ImageManifest.Read(path, options, logger), optionName)
        : throw new UsageException($"{optionName}: no folder or manifest file at {path}.");

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
    /// <exception cref="UsageException">Nothing at <paramref name="path"/>, images outside the class folders, too few classes.</exception>
    public static LabeledImageFileDataset Labeled(string path, string optionName, ImageFolderOptions options, ILogger logger, int minimumClasses = 2, string? withoutLabels = null)
    {
        string hint = withoutLabels is null ? "" : " " + withoutLabels;
        LabeledImageFileDataset data;
        if (Directory.Exists(path))
        {
            int loose = LooseImages(path, options);
            if (loose > 0 && !Directory.EnumerateDirectories(path).Any())
            {
                throw new UsageException($"{optionName} {path}: holds {loose} images but no class sub-folders; labelled images are laid out as {path}/<class>/<image>.{hint}");
            }

            data = Named(() => ImageFolder.IndexLabeled(path, options, logger), optionName);
            if (loose > 0)
            {
                throw new UsageException($"{optionName} {path}: {loose} images sit at the top level, outside the {Classes(data)}; they have no label and would be left out. " +
                    $"Move them into class folders ({path}/<class>/<image>).{hint}");
            }
        }
        else if (File.Exists(path))
        {
            data = Named(() => ImageManifest.ReadLabeled(path, options, logger), optionName);
        }
        else
        {
            throw new UsageException($"{optionName}: no folder or manifest file at {path}.");
        }

        if (data.ClassCount < minimumClasses)
        {
            throw new UsageException($"{optionName} {path}: has {Classes(data)} with {data.Count} images; accuracy needs at least {minimumClasses} classes " +
                $"(a single class is always predicted right).{hint}");
        }

        return data;
    }

    /// <summary>"2 class folders (a, b)": how many classes were found, and the first few names.</summary>
    private static string Classes(LabeledImageFileDataset data)
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
