using UnsupervisedFinetuning.IO;

namespace UnsupervisedFinetuning.Tests.IO;

/// <summary>What a <see cref="FaultyFileStore"/> makes fail.</summary>
public enum Fault
{
    /// <summary>Writing stops with ENOSPC after <see cref="FaultyFileStore.BytesBeforeFault"/> bytes.</summary>
    DiskFull,

    /// <summary>Creating the temporary file is refused (EACCES).</summary>
    PermissionDeniedOnCreate,

    /// <summary>Renaming the finished temporary file over the target is refused (EACCES).</summary>
    PermissionDeniedOnReplace,
}

/// <summary>
/// The real file system, except that the <see cref="FailOnWrite"/>-th file created (1-based) fails the way
/// <see cref="Kind"/> says — as a full disk or a refused permission would.
/// </summary>
internal sealed class FaultyFileStore(Fault kind, int failOnWrite, long bytesBeforeFault = 1000) : IFileStore
{
    private int _created;
    private string? _replaceFailsFor;

    public Fault Kind => kind;

    public int FailOnWrite => failOnWrite;

    public long BytesBeforeFault => bytesBeforeFault;

    /// <summary>Files renamed over their targets so far.</summary>
    public int Replaced { get; private set; }

    /// <summary>Whether the fault has been injected.</summary>
    public bool Injected { get; private set; }

    public Stream CreateNew(string path)
    {
        bool failing = ++_created == failOnWrite;
        if (failing && kind == Fault.PermissionDeniedOnCreate)
        {
            Injected = true;
            throw new UnauthorizedAccessException($"Access to the path '{path}' is denied.");
        }

        var stream = PhysicalFileStore.Instance.CreateNew(path);
        if (failing && kind == Fault.DiskFull)
        {
            Injected = true;
            return new DiskFullStream(stream, bytesBeforeFault);
        }

        if (failing)
        {
            _replaceFailsFor = path;
        }

        return stream;
    }

    public void Replace(string source, string destination)
    {
        if (source == _replaceFailsFor)
        {
            Injected = true;
            throw new UnauthorizedAccessException($"Access to the path '{destination}' is denied.");
        }

        PhysicalFileStore.Instance.Replace(source, destination);
        Replaced++;
    }

    public void Delete(string path) => PhysicalFileStore.Instance.Delete(path);

    public IEnumerable<string> Enumerate(string directory, string pattern) => PhysicalFileStore.Instance.Enumerate(directory, pattern);

    /// <summary>Accepts <c>capacity</c> bytes, then fails every write as a full disk does (the bytes before it did reach the file).</summary>
    private sealed class DiskFullStream(Stream inner, long capacity) : Stream
    {
        private long _written;

        public override bool CanRead => false;

        public override bool CanSeek => inner.CanSeek;

        public override bool CanWrite => true;

        public override long Length => inner.Length;

        public override long Position { get => inner.Position; set => inner.Position = value; }

        public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

        public override void Write(ReadOnlySpan<byte> buffer)
        {
            long room = Math.Max(0, capacity - _written);
            if (buffer.Length > room)
            {
                inner.Write(buffer[..(int)room]);
                _written += room;
                throw new IOException("No space left on device", 28);
            }

            inner.Write(buffer);
            _written += buffer.Length;
        }

        public override void Flush() => inner.Flush();

        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        public override long Seek(long offset, SeekOrigin origin) => inner.Seek(offset, origin);

        public override void SetLength(long value) => inner.SetLength(value);

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                inner.Dispose();
            }

            base.Dispose(disposing);
        }
    }
}
