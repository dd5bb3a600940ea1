namespace UnsupervisedFinetuning.Cli;

/// <summary>
/// Checks an output path given on the command line before any work is done, so a path that cannot be written
/// costs a message naming the option — not an hour of training followed by .NET's "Could not find file".
/// Parent folders are created as <c>mkdir -p</c> would; a probe file shows the folder is writable.
/// </summary>
internal static class OutputPaths
{
    /// <summary>Makes sure <paramref name="path"/> is a writable folder (creating it and its parents); returns its full path.</summary>
    /// <exception cref="UsageException">It is a file, cannot be created or cannot be written; the message names <paramref name="option"/>.</exception>
    public static string WritableFolder(string path, string option)
    {
        string full = Full(path, option);
        if (File.Exists(full))
        {
            throw new UsageException($"{option} {path}: is a file; expected a folder (it is created if missing).");
        }

        Create(full, path, option);
        Probe(full, path, option);
        return full;
    }

    /// <summary>
    /// Makes sure <paramref name="path"/> can be written as a file: its folder exists (created if missing) and is
    /// writable, and the path is not a folder. Nothing is written at <paramref name="path"/> itself. Returns its full path.
    /// </summary>
    /// <exception cref="UsageException">The path is a folder, or its folder cannot be created or written; the message names <paramref name="option"/>.</exception>
    public static string WritableFile(string path, string option)
    {
        string full = Full(path, option);
        if (Directory.Exists(full))
        {
            throw new UsageException($"{option} {path}: is a folder; expected a file name.");
        }

        string folder = Path.GetDirectoryName(full) ?? full;
        if (File.Exists(folder))
        {
            throw new UsageException($"{option} {path}: {folder} is a file, so nothing can be written below it.");
        }

        Create(folder, path, option);
        Probe(folder, path, option);
        return full;
    }

    private static string Full(string path, string option)
    {
        if (string.IsNullOrWhiteSpace(path))
        {
            throw new UsageException($"{option} is empty; expected a path.");
        }

        try
        {
            return Path.GetFullPath(path);
        }
        catch (Exception e) when (e is ArgumentException or NotSupportedException or PathTooLongException)
        {
            throw new UsageException($"{option} {ConsoleText.Printable(path)}: is not a valid path ({e.Message}).");
        }
    }

    private static void Create(string folder, string path, string option)
    {
        try
        {
            Directory.CreateDirectory(folder);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new UsageException($"{option} {path}: the folder {folder} cannot be created ({Reason(e)}).");
        }
    }

    // A probe file, because a folder can exist and still refuse writes (read-only mount, permissions, /proc).
    private static void Probe(string folder, string path, string option)
    {
        string probe = Path.Combine(folder, $".uft-write-test-{Guid.NewGuid():N}");
        try
        {
            using (new FileStream(probe, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1, FileOptions.DeleteOnClose))
            {
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new UsageException($"{option} {path}: cannot write in {folder} ({Reason(e)}).");
        }
    }

    private static string Reason(Exception e) => e switch
    {
        UnauthorizedAccessException => "permission denied",
        DirectoryNotFoundException => "a parent folder does not exist and cannot be made",
        _ => e.Message,
    };
}
