namespace UnsupervisedFinetuning.IO;

/// <summary>
/// The file operations an atomic write is made of. The library writes through <see cref="PhysicalFileStore"/>;
/// tests substitute a store that fails part-way (disk full, permission denied) to prove that a failed save
/// leaves the previous file intact.
/// </summary>
internal interface IFileStore
{
    /// <summary>Creates a new file for writing; fails if it exists.</summary>
    Stream CreateNew(string path);

    /// <summary>Renames <paramref name="source"/> over <paramref name="destination"/> (atomic on one file system).</summary>
    void Replace(string source, string destination);

    /// <summary>Deletes a file if it exists.</summary>
    void Delete(string path);

    /// <summary>The files in <paramref name="directory"/> whose names match <paramref name="pattern"/>.</summary>
    IEnumerable<string> Enumerate(string directory, string pattern);
}

/// <summary>The real file system.</summary>
internal sealed class PhysicalFileStore : IFileStore
{
    public static readonly PhysicalFileStore Instance = new();

    public Stream CreateNew(string path) => new FileStream(path, FileMode.CreateNew, FileAccess.Write);

    public void Replace(string source, string destination) => File.Move(source, destination, overwrite: true);

    public void Delete(string path) => File.Delete(path);

    public IEnumerable<string> Enumerate(string directory, string pattern) => Directory.EnumerateFiles(directory, pattern);
}
