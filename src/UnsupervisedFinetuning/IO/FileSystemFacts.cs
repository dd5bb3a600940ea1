using System.Runtime.InteropServices;

namespace UnsupervisedFinetuning.IO;

/// <summary>What a path is, as far as reading images goes.</summary>
internal enum PathKind
{
    /// <summary>A regular file (possibly reached through symbolic links): the only kind read as an image.</summary>
    Regular,

    /// <summary>A directory (possibly reached through symbolic links).</summary>
    Directory,

    /// <summary>A FIFO, socket or device: opening it can block forever or read without end.</summary>
    Special,

    /// <summary>A symbolic link whose target does not exist.</summary>
    DanglingLink,

    /// <summary>Nothing at that path.</summary>
    Missing,

    /// <summary>.NET decoded the name with replacement characters: the bytes on disk are not UTF-8, so it cannot be opened.</summary>
    UndecodableName,
}

/// <summary>
/// File-system facts .NET does not expose: whether a path is a regular file or a FIFO, socket or device (all are
/// "files" to <see cref="File.Exists(string)"/>, and opening a FIFO blocks until a writer comes), and the identity
/// of a directory, so that a walk that follows symbolic links visits each directory once and ends even when links
/// form a loop. On Linux both come from <c>statx</c> (type, device and inode); elsewhere the type is taken from
/// .NET's attributes and the identity from the link-resolved full path.
/// </summary>
internal static partial class FileSystemFacts
{
    private static bool _statxUnavailable = !OperatingSystem.IsLinux();

    /// <summary>What <paramref name="path"/> is, following symbolic links.</summary>
    public static PathKind KindOf(string path)
    {
        if (Stat(path) is { } stat)
        {
            return stat.Mode switch
            {
                ModeRegular => PathKind.Regular,
                ModeDirectory => PathKind.Directory,
                _ => PathKind.Special,
            };
        }

        return Fallback(path);
    }

    /// <summary>
    /// A string equal for two paths exactly when they reach the same directory (device and inode on Linux),
    /// or null when the directory cannot be examined.
    /// </summary>
    public static string? DirectoryIdentity(string path)
    {
        if (Stat(path) is { } stat)
        {
            return $"{stat.DeviceMajor}:{stat.DeviceMinor}:{stat.Inode}";
        }

        try
        {
            var info = new DirectoryInfo(path);
            var target = info.ResolveLinkTarget(returnFinalTarget: true);
            return Path.TrimEndingDirectorySeparator(Path.GetFullPath(target?.FullName ?? info.FullName));
        }
        catch (IOException)
        {
            return null;
        }
    }

    /// <summary>
    /// The absolute path with every symbolic link in it resolved (realpath(3) on Linux and macOS), or null when it
    /// does not exist or the links loop. On Windows, the final target of the path itself.
    /// </summary>
    public static string? RealPath(string path)
    {
        if (OperatingSystem.IsWindows())
        {
            try
            {
                FileSystemInfo info = Directory.Exists(path) ? new DirectoryInfo(path) : new FileInfo(path);
                return info.Exists ? Path.GetFullPath(info.ResolveLinkTarget(returnFinalTarget: true)?.FullName ?? info.FullName) : null;
            }
            catch (IOException)
            {
                return null;
            }
        }

        nint resolved = RealPathNative(path, 0);
        if (resolved == 0)
        {
            return null;
        }

        try
        {
            return Marshal.PtrToStringUTF8(resolved);
        }
        finally
        {
            Free(resolved); // realpath with a null buffer mallocs the result
        }
    }

    /// <summary>Why a path that is not a regular file cannot be an image, for messages (null for a regular file).</summary>
    public static string? WhyNotAnImage(string path) => KindOf(path) switch
    {
        PathKind.Regular => null,
        PathKind.Directory => "is a directory, not an image file",
        PathKind.Special => "is not a regular file (a FIFO, socket or device); only regular files are read as images",
        PathKind.DanglingLink => $"is a symbolic link to {ExceptionText.Printable(SafeLinkTarget(path) ?? "?", 200)}, which does not exist",
        PathKind.UndecodableName => "has a name that is not valid UTF-8, which .NET cannot open; rename the file",
        _ => "does not exist",
    };

    private static PathKind Fallback(string path)
    {
        // FileInfo.Exists is true for a link whose target is gone: ask about the link first.
        bool link = SafeLinkTarget(path) is not null;
        if (link && File.ResolveLinkTarget(path, returnFinalTarget: true) is not { Exists: true })
        {
            return PathKind.DanglingLink;
        }

        if (Directory.Exists(path))
        {
            return PathKind.Directory;
        }

        if (File.Exists(path))
        {
            return PathKind.Regular; // no statx: a FIFO cannot be told from a file here
        }

        return Path.GetFileName(path.AsSpan()).Contains('\uFFFD') ? PathKind.UndecodableName : PathKind.Missing;
    }

    private static string? SafeLinkTarget(string path)
    {
        try
        {
            return new FileInfo(path).LinkTarget;
        }
        catch (IOException)
        {
            return null;
        }
    }

    private const ushort ModeTypeMask = 0xF000;
    private const ushort ModeRegular = 0x8000;
    private const ushort ModeDirectory = 0x4000;

    private readonly record struct StatResult(ushort Mode, ulong Inode, uint DeviceMajor, uint DeviceMinor);

    // statx(2) fills a fixed, architecture-independent struct of 256 bytes: stx_mode is the u16 at offset 28,
    // stx_ino the u64 at 32, stx_dev_major and stx_dev_minor the u32s at 136 and 140.
    private static unsafe StatResult? Stat(string path)
    {
        if (_statxUnavailable)
        {
            return null;
        }

        const int AtFdCwd = -100;
        const uint StatxType = 0x1;
        const uint StatxIno = 0x100;
        byte* buffer = stackalloc byte[256];
        try
        {
            if (Statx(AtFdCwd, path, 0, StatxType | StatxIno, buffer) != 0)
            {
                return null; // missing, dangling, unreadable: the fallback names which
            }
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            _statxUnavailable = true; // glibc before 2.28, or another C library
            return null;
        }

        ushort mode = (ushort)(*(ushort*)(buffer + 28) & ModeTypeMask);
        return new StatResult(mode, *(ulong*)(buffer + 32), *(uint*)(buffer + 136), *(uint*)(buffer + 140));
    }

    [LibraryImport("libc", EntryPoint = "realpath", StringMarshalling = StringMarshalling.Utf8)]
    private static partial nint RealPathNative(string path, nint resolved);

    [LibraryImport("libc", EntryPoint = "free")]
    private static partial void Free(nint pointer);

    [LibraryImport("libc", EntryPoint = "statx", StringMarshalling = StringMarshalling.Utf8)]
    private static unsafe partial int Statx(int directoryFd, string path, int flags, uint mask, byte* buffer);
}
