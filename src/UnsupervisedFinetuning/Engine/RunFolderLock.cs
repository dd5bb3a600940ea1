using System.Globalization;
using System.Text;
using UnsupervisedFinetuning.IO;

namespace UnsupervisedFinetuning.Engine;

/// <summary>
/// An exclusive lock on a run folder, so that two runs never write into one folder: the second would remove the
/// first's temporary files as orphans and leave one run's settings beside the other's checkpoint. The lock is an
/// operating-system lock on <c>run.lock</c> in the folder (<c>flock</c> on Linux and macOS, a deny-all share mode on
/// Windows): it dies with the process that holds it — a killed run leaves nothing stale behind — and the file
/// names the holder (process, machine, start time, command line) for the message a second run gets.
/// </summary>
/// <remarks>
/// <see cref="FinetuneEngine.Run"/> takes it on <see cref="FinetuneOptions.CheckpointDirectory"/> for the whole run.
/// An application that writes its own files into the folder before the run (as <c>uft finetune</c> writes its
/// settings) takes it first; the engine's run inside the same process then shares it. Two runs in one process are
/// still refused. The lock file stays in the folder after the run (deleting it could let two later runs lock two
/// different files of the same name).
/// </remarks>
public sealed partial class RunFolderLock : IDisposable
{
    /// <summary>The lock file's name inside the run folder.</summary>
    public const string FileName = "run.lock";

    private static readonly Dictionary<string, Held> HeldByThisProcess = new(StringComparer.Ordinal);
    private readonly string _key;
    private bool _endsRun;
    private bool _disposed;

    private RunFolderLock(string key, string directory)
    {
        _key = key;
        Directory = directory;
    }

    /// <summary>The folder locked (full path).</summary>
    public string Directory { get; }

    /// <summary>
    /// Locks <paramref name="directory"/> (created if missing) for this process, or joins the lock this process
    /// already holds on it. Dispose to release (the last holder in the process releases the file).
    /// </summary>
    /// <exception cref="RunFolderInUseException">Another process holds the folder; the message names it.</exception>
    /// <exception cref="IOException">The folder or its lock file cannot be created.</exception>
    public static RunFolderLock Acquire(string directory) => Acquire(directory, forRun: false);

    /// <summary>
    /// As <see cref="Acquire(string)"/>, and marks a run as active in the folder: a second run in this process is
    /// refused as well.
    /// </summary>
    internal static RunFolderLock Acquire(string directory, bool forRun)
    {
        ArgumentException.ThrowIfNullOrEmpty(directory);
        string full = Path.GetFullPath(directory);
        System.IO.Directory.CreateDirectory(full);
        string key = FileSystemFacts.DirectoryIdentity(full) ?? full;
        lock (HeldByThisProcess)
        {
            if (HeldByThisProcess.TryGetValue(key, out var held))
            {
                if (forRun && held.RunActive)
                {
                    throw new RunFolderInUseException(full, $"{full}: another run of this process is using this folder; give each run its own folder.");
                }

                held.Count++;
                held.RunActive |= forRun;
                return new RunFolderLock(key, full) { _endsRun = forRun };
            }

            var stream = Open(full);
            HeldByThisProcess[key] = new Held(stream) { Count = 1, RunActive = forRun };
            return new RunFolderLock(key, full) { _endsRun = forRun };
        }
    }

    /// <summary>Releases this hold; the file lock goes when the last hold in the process is released.</summary>
    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        lock (HeldByThisProcess)
        {
            if (!HeldByThisProcess.TryGetValue(_key, out var held))
            {
                return;
            }

            if (_endsRun)
            {
                held.RunActive = false;
            }

            if (--held.Count == 0)
            {
                HeldByThisProcess.Remove(_key);
                held.Stream.Dispose();
            }
        }
    }

    private static FileStream Open(string directory)
    {
        string path = Path.Combine(directory, FileName);
        FileStream stream;
        try
        {
            // FileShare.None: flock(LOCK_EX | LOCK_NB) on Unix, a deny-all share mode on Windows; fails at once when held.
            stream = new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
        }
        catch (IOException e) when (e is not FileNotFoundException and not DirectoryNotFoundException && System.IO.File.Exists(path))
        {
            throw new RunFolderInUseException(directory, $"{directory}: another run is using this folder ({Holder(path)}); wait for it to end, or choose another folder.", e);
        }

        try
        {
            using var process = System.Diagnostics.Process.GetCurrentProcess();
            string holder = string.Create(CultureInfo.InvariantCulture,
                $"process {Environment.ProcessId} on {Environment.MachineName} since {process.StartTime.ToUniversalTime():yyyy-MM-dd HH:mm:ss}Z: {ExceptionText.Printable(Environment.CommandLine, 300)}");
            byte[] text = Encoding.UTF8.GetBytes(holder + "\n");
            stream.SetLength(0);
            stream.Write(text);
            stream.Flush(flushToDisk: false);
            return stream;
        }
        catch
        {
            stream.Dispose();
            throw;
        }
    }

    // The holder's line. .NET's FileStream asks for a shared flock even to read (and so fails while the holder has
    // its exclusive one), so on Unix the file is read with open(2)/read(2), which take no lock. On Windows the
    // holder's deny-all share mode forbids reading: the message then says only that the folder is held.
    private static unsafe string Holder(string path)
    {
        if (OperatingSystem.IsWindows())
        {
            return "its holder cannot be read on Windows while it runs";
        }

        try
        {
            int fd = OpenNative(path, 0 /* O_RDONLY */);
            if (fd < 0)
            {
                return "its holder cannot be read";
            }

            byte* buffer = stackalloc byte[1024];
            nint read;
            try
            {
                read = ReadNative(fd, buffer, 1024);
            }
            finally
            {
                _ = CloseNative(fd);
            }

            string text = read > 0 ? Encoding.UTF8.GetString(buffer, (int)read).Trim() : string.Empty;
            return text.Length > 0 ? "held by " + ExceptionText.Printable(text, 400) : "its holder did not say who it is yet";
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            return "its holder cannot be read";
        }
    }

    [System.Runtime.InteropServices.LibraryImport("libc", EntryPoint = "open", StringMarshalling = System.Runtime.InteropServices.StringMarshalling.Utf8)]
    private static partial int OpenNative(string path, int flags);

    [System.Runtime.InteropServices.LibraryImport("libc", EntryPoint = "read")]
    private static unsafe partial nint ReadNative(int fd, byte* buffer, nint count);

    [System.Runtime.InteropServices.LibraryImport("libc", EntryPoint = "close")]
    private static partial int CloseNative(int fd);

    private sealed class Held(FileStream stream)
    {
        public FileStream Stream { get; } = stream;

        public int Count { get; set; }

        public bool RunActive { get; set; }
    }
}
