namespace UnsupervisedFinetuning.IO;

/// <summary>
/// Writes files so that a crash, a full disk or an exception never leaves a torn file in place of a good one:
/// the content goes to <c>&lt;path&gt;.tmp-&lt;guid&gt;</c> beside the target, is flushed to disk, and is renamed
/// over the target. A failed write deletes its temporary file and throws <see cref="IOException"/> naming the
/// target (the operating system's error is the inner exception); the previous file is untouched. A process
/// killed mid-write leaves its temporary file behind; the next write to the same path removes such orphans
/// (one writer per path is assumed, as for any file that is replaced whole).
/// </summary>
internal static class AtomicFile
{
    private const string TemporaryInfix = ".tmp-";

    // Per logical flow, so a test's failing store never leaks into another test running in parallel.
    private static readonly AsyncLocal<IFileStore?> StoreOverride = new();

    /// <summary>The store writes go through (the real file system unless a test substituted one).</summary>
    internal static IFileStore Store => StoreOverride.Value ?? PhysicalFileStore.Instance;

    /// <summary>Routes this flow's writes through <paramref name="store"/> until the returned scope is disposed.</summary>
    internal static IDisposable Use(IFileStore store)
    {
        var previous = StoreOverride.Value;
        StoreOverride.Value = store;
        return new Scope(() => StoreOverride.Value = previous);
    }

    /// <summary>Writes <paramref name="content"/> (UTF-8) to a temporary file beside <paramref name="path"/>, then renames it over the target.</summary>
    public static void WriteAllText(string path, string content) => Write(path, Utf8(content));

    /// <summary>Runs <paramref name="write"/> (which must leave the stream open) on a temporary file beside <paramref name="path"/>, flushes it to disk, then renames it over the target.</summary>
    /// <exception cref="IOException">The file could not be written (disk full, permission denied, …); the previous file is unchanged.</exception>
    public static void Write(string path, Action<Stream> write) => WriteAll([(path, write)]);

    /// <summary>
    /// Writes several small files as one unit: every temporary file is written and flushed first, and only when
    /// all succeeded are they renamed over their targets; if a rename is refused part-way, the files already
    /// renamed get their previous content back. A failure leaves the whole previous set in place (a report's
    /// Markdown, CSV and JSON never disagree). A process killed during the renames can leave a mixed set.
    /// </summary>
    /// <exception cref="IOException">A file could not be written; no target was replaced.</exception>
    public static void WriteAll(IReadOnlyList<(string Path, Action<Stream> Write)> files)
    {
        ArgumentNullException.ThrowIfNull(files);
        var store = Store;
        var pending = new List<(string Temporary, string Target)>(files.Count);
        try
        {
            foreach (var (path, write) in files)
            {
                ArgumentException.ThrowIfNullOrEmpty(path);
                ArgumentNullException.ThrowIfNull(write);
                string full = Path.GetFullPath(path);
                string temporary = full + TemporaryInfix + Guid.NewGuid().ToString("N");
                try
                {
                    Directory.CreateDirectory(Path.GetDirectoryName(full)!);
                    RemoveOrphans(store, full);
                    pending.Add((temporary, full));
                    using var stream = store.CreateNew(temporary);
                    write(stream);
                    Flush(stream);
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException)
                {
                    throw Failed(full, e, files.Count > 1);
                }
            }

            // A set keeps its previous contents in memory (sets are small: a report's text and chart) so that a
            // rename refused part-way can put back the files already replaced.
            var previous = pending.Count > 1 ? pending.Select(p => Previous(p.Target)).ToArray() : null;
            for (int i = 0; i < pending.Count; i++)
            {
                try
                {
                    store.Replace(pending[i].Temporary, pending[i].Target);
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException)
                {
                    var lost = Restore(store, pending, previous, replaced: i);
                    if (lost.Count > 0)
                    {
                        throw new IOException($"{pending[i].Target}: could not be written ({e.Message}); the files renamed before it could not be put back and are new: {string.Join(", ", lost)}.", e);
                    }

                    throw Failed(pending[i].Target, e, files.Count > 1);
                }
            }
        }
        finally
        {
            foreach (var (temporary, _) in pending)
            {
                TryDelete(store, temporary);
            }
        }
    }

    /// <summary>A writer of <paramref name="content"/> as UTF-8 without a byte-order mark.</summary>
    public static Action<Stream> Utf8(string content) => stream =>
    {
        using var writer = new StreamWriter(stream, new System.Text.UTF8Encoding(encoderShouldEmitUTF8Identifier: false), leaveOpen: true);
        writer.Write(content);
    };

    private static byte[]? Previous(string target)
    {
        try
        {
            return File.Exists(target) ? File.ReadAllBytes(target) : null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw Failed(target, e, partOfSet: true);
        }
    }

    /// <summary>
    /// Puts back the previous content of the first <paramref name="replaced"/> files of a set (a new file that had
    /// no predecessor is removed). Returns the files that could not be put back.
    /// </summary>
    private static List<string> Restore(IFileStore store, List<(string Temporary, string Target)> pending, byte[]?[]? previous, int replaced)
    {
        var lost = new List<string>();
        for (int i = 0; i < replaced && previous is not null; i++)
        {
            string target = pending[i].Target;
            if (previous[i] is not { } content)
            {
                TryDelete(store, target);
                continue;
            }

            string temporary = target + TemporaryInfix + Guid.NewGuid().ToString("N");
            try
            {
                using (var stream = store.CreateNew(temporary))
                {
                    stream.Write(content);
                    Flush(stream);
                }

                store.Replace(temporary, target);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                lost.Add(target);
            }
            finally
            {
                TryDelete(store, temporary);
            }
        }

        return lost;
    }

    private static void Flush(Stream stream)
    {
        if (stream is FileStream file)
        {
            file.Flush(flushToDisk: true);
        }
        else
        {
            stream.Flush();
        }
    }

    private static IOException Failed(string path, Exception e, bool partOfSet) =>
        new($"{path}: could not be written ({e.Message}); the previous {(partOfSet ? "files are" : "file is")} unchanged.", e);

    /// <summary>Deletes temporary files an interrupted write to <paramref name="full"/> left behind.</summary>
    private static void RemoveOrphans(IFileStore store, string full)
    {
        foreach (string orphan in store.Enumerate(Path.GetDirectoryName(full)!, Path.GetFileName(full) + TemporaryInfix + "*"))
        {
            TryDelete(store, orphan);
        }
    }

    private static void TryDelete(IFileStore store, string path)
    {
        try
        {
            store.Delete(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Still open elsewhere, or the directory refuses it: the next write to this path retries.
        }
    }

    private sealed class Scope(Action dispose) : IDisposable
    {
        public void Dispose() => dispose();
    }
}
