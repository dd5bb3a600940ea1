namespace UnsupervisedFinetuning;

/// <summary>
/// Writes files so that a crash or an exception never leaves a torn file in place of a good one: the
/// content goes to <c>&lt;path&gt;.tmp-&lt;guid&gt;</c> beside the target, is flushed to disk, and is renamed over
/// the target. A process killed mid-write leaves its temporary file behind; the next write to the same
/// path removes such orphans (one writer per path is assumed, as for any file that is replaced whole).
/// </summary>
internal static class AtomicFile
{
    /// <summary>Writes <paramref name="content"/> (UTF-8) to a temporary file beside <paramref name="path"/>, then renames it over the target.</summary>
    public static void WriteAllText(string path, string content) => Write(path, stream =>
    {
        using var writer = new StreamWriter(stream, new System.Text.UTF8Encoding(encoderShouldEmitUTF8Identifier: false), leaveOpen: true);
        writer.Write(content);
    });

    /// <summary>Runs <paramref name="write"/> (which must leave the stream open) on a temporary file beside <paramref name="path"/>, flushes it to disk, then renames it over the target.</summary>
    public static void Write(string path, Action<Stream> write)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        ArgumentNullException.ThrowIfNull(write);
        string full = Path.GetFullPath(path);
        Directory.CreateDirectory(Path.GetDirectoryName(full)!);
        RemoveOrphans(full);
        string temporary = full + TemporaryInfix + Guid.NewGuid().ToString("N");
        try
        {
            using (var stream = new FileStream(temporary, FileMode.CreateNew, FileAccess.Write))
            {
                write(stream);
                stream.Flush(flushToDisk: true);
            }

            File.Move(temporary, full, overwrite: true);
        }
        finally
        {
            File.Delete(temporary);
        }
    }

    private const string TemporaryInfix = ".tmp-";

    /// <summary>Deletes temporary files an interrupted write to <paramref name="full"/> left behind.</summary>
    private static void RemoveOrphans(string full)
    {
        string directory = Path.GetDirectoryName(full)!;
        foreach (string orphan in Directory.EnumerateFiles(directory, Path.GetFileName(full) + TemporaryInfix + "*"))
        {
            try
            {
                File.Delete(orphan);
            }
            catch (IOException)
            {
                // Still open elsewhere (a writer that breaks the one-writer rule): leave it to that writer.
            }
        }
    }
}
