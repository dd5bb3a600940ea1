namespace UnsupervisedFinetuning;

/// <summary>Writes files so that a crash or an exception never leaves a torn file in place of a good one.</summary>
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
        string temporary = full + ".tmp-" + Guid.NewGuid().ToString("N");
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
}
