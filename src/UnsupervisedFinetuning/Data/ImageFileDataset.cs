using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using UnsupervisedFinetuning.IO;
using static TorchSharp.torch;

namespace UnsupervisedFinetuning.Data;

/// <summary>
/// Images that stay on disk: an index of files, decoded on demand by <see cref="GetBatch"/> — in parallel
/// across cores, at the working size of <see cref="ImageFolderOptions"/> (see <see cref="ImageFolder"/> for
/// the resize and colour policy). Memory holds the file list (≈ 115 bytes a file), not the pixels, so a
/// source set of a million images opens in seconds; sparse replay decodes only its chosen subset, once.
/// Create one with <see cref="ImageFolder.Index"/>, <see cref="ImageManifest.Read"/> or <see cref="FromFiles"/>;
/// call <see cref="LoadIntoMemory"/> for a small set read every epoch (a target set).
/// </summary>
/// <remarks>
/// A file that cannot be decoded when its batch is gathered throws <see cref="InvalidDataException"/> naming
/// it — or, with <see cref="ImageFolderOptions.SkipUnreadable"/>, is replaced in that batch by the next
/// readable image in index order and logged once (warning, event 1003); <see cref="ReplacedFiles"/> lists them.
/// The files must not change while the dataset is in use: the index does not notice.
/// </remarks>
public sealed partial class ImageFileDataset : INamedImageDataset
{
    private readonly string[] _files;
    private readonly ILogger _logger;
    private readonly object _gate = new();
    private readonly HashSet<int> _unreadable = [];

    internal ImageFileDataset(string[] files, ImageFolderOptions options, ILogger logger)
    {
        _files = files;
        Options = options;
        _logger = logger;
        Shape = new ImageShape(ImageDecoder.Channels(options), options.Height, options.Width);
    }

    /// <summary>
    /// Indexes the given image files, in the given order; nothing is decoded. The options are copied.
    /// </summary>
    /// <exception cref="ArgumentException">The list is empty or holds an empty path.</exception>
    /// <exception cref="FileNotFoundException">A file does not exist (unless <see cref="ImageFolderOptions.SkipUnreadable"/>, which leaves it out and logs it).</exception>
    /// <exception cref="InvalidDataException">A path is not a regular file (a FIFO, device, directory or dangling link; unless skipping), or with <see cref="ImageFolderOptions.SkipUnreadable"/> no file is left.</exception>
    public static ImageFileDataset FromFiles(IEnumerable<string> files, ImageFolderOptions? options = null, ILogger? logger = null)
    {
        ArgumentNullException.ThrowIfNull(files);
        var checkedOptions = ImageFolderOptions.Checked(options);
        logger ??= NullLogger.Instance;
        string[] list = files.ToArray();
        if (list.Length == 0)
        {
            throw new ArgumentException("An image file dataset needs at least one file; the list is empty.", nameof(files));
        }

        int empty = Array.FindIndex(list, string.IsNullOrEmpty);
        if (empty >= 0)
        {
            throw new ArgumentException($"File {empty} of the list is an empty path.", nameof(files));
        }

        var kept = new List<string>(list.Length);
        foreach (string file in list)
        {
            var kind = FileSystemFacts.KindOf(file);
            if (kind == PathKind.Regular)
            {
                kept.Add(file);
            }
            else if (checkedOptions.SkipUnreadable)
            {
                LogSkipped(logger, ExceptionText.Printable(file, 400), FileSystemFacts.WhyNotAnImage(file)!);
            }
            else
            {
                throw kind == PathKind.Missing
                    ? new FileNotFoundException($"Image not found: {file}", file)
                    : new InvalidDataException($"{ExceptionText.Printable(file, 400)}: {FileSystemFacts.WhyNotAnImage(file)}.");
            }
        }

        string[] readable = Readable([.. kept], checkedOptions, logger);
        return readable.Length > 0
            ? new ImageFileDataset(readable, checkedOptions, logger)
            : throw new InvalidDataException($"None of the {list.Length} listed files is a readable image.");
    }

    /// <inheritdoc />
    public int Count => _files.Length;

    /// <inheritdoc />
    public ImageShape Shape { get; }

    /// <summary>The indexed files; image i is <c>Files[i]</c>.</summary>
    public IReadOnlyList<string> Files => _files;

    /// <inheritdoc />
    /// <returns>The full path of image <paramref name="index"/>'s file (<c>Files[index]</c>).</returns>
    public string GetName(int index) => (uint)index < (uint)_files.Length
        ? _files[index]
        : throw new ArgumentOutOfRangeException(nameof(index), index, $"Index {index} is outside the dataset's {_files.Length} images.");

    /// <summary>How the files are decoded (a copy of the options the dataset was created with; do not change).</summary>
    public ImageFolderOptions Options { get; }

    /// <summary>Files that failed to decode in a batch and were replaced (only with <see cref="ImageFolderOptions.SkipUnreadable"/>).</summary>
    public IReadOnlyList<string> ReplacedFiles
    {
        get
        {
            lock (_gate)
            {
                return _unreadable.Order().Select(i => _files[i]).ToArray();
            }
        }
    }

    /// <inheritdoc />
    /// <exception cref="InvalidDataException">A file could not be decoded (the message names it) and
    /// <see cref="ImageFolderOptions.SkipUnreadable"/> is off, or no indexed file is readable.</exception>
    public Tensor GetBatch(ReadOnlySpan<int> indices)
    {
        int[] rows = indices.ToArray();
        foreach (int index in rows)
        {
            if ((uint)index >= (uint)_files.Length)
            {
                throw new ArgumentOutOfRangeException(nameof(indices), index, $"Index {index} is outside the dataset's {_files.Length} images.");
            }
        }

        var batch = empty(Shape.BatchShape(rows.Length), ScalarType.Byte);
        try
        {
            DecodeInto(batch, rows, replaceUnreadable: Options.SkipUnreadable);
            return batch;
        }
        catch
        {
            batch.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Decodes every image into one in-memory dataset (Count·C·H·W bytes), in parallel, batch by batch. With
    /// <see cref="ImageFolderOptions.SkipUnreadable"/> a file that fails to decode is left out (and logged);
    /// otherwise it throws.
    /// </summary>
    /// <exception cref="InvalidDataException">A file could not be decoded (named), or none could.</exception>
    /// <exception cref="InsufficientMemoryException">The decoded images would not fit in the memory available (Linux: MemAvailable); nothing was decoded.</exception>
    public InMemoryImageDataset LoadIntoMemory() => new(DecodeAll().Images);

    /// <summary>
    /// A new index of the files that decode, in order, each decoded once now (<see cref="DatasetExtensions.WithoutUnreadable"/>).
    /// </summary>
    /// <exception cref="ArgumentException">No file decodes.</exception>
    internal ImageFileDataset Decodable() => FromFiles(_files.Where(CanDecode), Options, _logger);

    private bool CanDecode(string file)
    {
        try
        {
            ImageFolder.Decode(file, Options);
            return true;
        }
        catch (InvalidDataException)
        {
            return false;
        }
    }

    /// <summary>
    /// Decodes every image into one uint8 tensor; returns it with the indices it holds (all, unless files were
    /// skipped). The labelled dataset uses the indices to keep its labels in step.
    /// </summary>
    internal (Tensor Images, int[] Kept) DecodeAll()
    {
        long plane = ImageDecoder.PlaneBytes(Options);
        DatasetExtensions.CheckFitsInMemory(Count, Shape, plane);

        // Chunks of at most 256 images and 1 GB: a chunk is decoded through one span, which cannot pass 2 GB.
        int chunk = DatasetExtensions.LoadChunk(plane);
        var all = empty(Shape.BatchShape(Count), ScalarType.Byte);
        var failed = new List<int>();
        try
        {
            for (int start = 0; start < Count; start += chunk)
            {
                int count = Math.Min(chunk, Count - start);
                using var rows = all.narrow(0, start, count); // a view: contiguous, so it decodes in place
                failed.AddRange(DecodeInto(rows, Enumerable.Range(start, count).ToArray(), replaceUnreadable: false, collectFailures: Options.SkipUnreadable));
            }

            if (failed.Count == 0)
            {
                return (all, Enumerable.Range(0, Count).ToArray());
            }

            int[] kept = Enumerable.Range(0, Count).Except(failed).ToArray();
            if (kept.Length == 0)
            {
                throw new InvalidDataException($"None of the {Count} images could be decoded (first: {_files[0]}).");
            }

            using var keep = tensor(kept.Select(i => (long)i).ToArray(), ScalarType.Int64);
            var compact = all.index_select(0, keep);
            all.Dispose();
            return (compact, kept);
        }
        catch
        {
            all.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Decodes <paramref name="indices"/> into the rows of <paramref name="destination"/> (contiguous uint8
    /// [n,C,H,W]), in parallel. Failures are gathered per row, so the file named is the first failing one in
    /// batch order whatever the thread timing. Returns the failing indices when <paramref name="collectFailures"/>.
    /// </summary>
    private unsafe List<int> DecodeInto(Tensor destination, int[] indices, bool replaceUnreadable, bool collectFailures = false)
    {
        int plane = ImageDecoder.PlaneBytes(Options);
        var errors = new Exception?[indices.Length];
        fixed (byte* start = destination.bytes)
        {
            nint at = (nint)start;
            try
            {
                Parallel.For(0, indices.Length, new ParallelOptions { MaxDegreeOfParallelism = Options.EffectiveDecodeThreads }, row =>
                {
                    try
                    {
                        ImageDecoder.DecodeInto(_files[indices[row]], Options, new Span<byte>((byte*)at + ((long)row * plane), plane));
                    }
                    catch (Exception e) when (e is InvalidDataException or FileNotFoundException)
                    {
                        errors[row] = e;
                    }
                });
            }
            catch (AggregateException e) when (e.InnerExceptions.Count >= 1)
            {
                // Anything but an unreadable file (out of memory, say) surfaces as itself, not wrapped.
                System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(e.InnerExceptions[0]).Throw();
                throw;
            }

            var failures = new List<int>();
            for (int row = 0; row < indices.Length; row++)
            {
                if (errors[row] is not { } error)
                {
                    continue;
                }

                if (collectFailures)
                {
                    LogSkipped(_logger, _files[indices[row]], error.Message);
                    failures.Add(indices[row]);
                }
                else if (replaceUnreadable)
                {
                    Replace(indices[row], error, new Span<byte>((byte*)at + ((long)row * plane), plane));
                }
                else
                {
                    throw error is FileNotFoundException missing
                        ? new FileNotFoundException(missing.Message, missing.FileName, missing)
                        : ImageDecoder.Unreadable(_files[indices[row]], error.Message, error);
                }
            }

            return failures;
        }
    }

    /// <summary>
    /// Fills a failed row with the next readable image in index order (wrapping round), remembering every
    /// unreadable file so each is tried and logged once. Deterministic: which files are unreadable is a
    /// property of the files, not of thread timing.
    /// </summary>
    private void Replace(int index, Exception error, Span<byte> row)
    {
        lock (_gate)
        {
            if (_unreadable.Add(index))
            {
                LogReplaced(_logger, _files[index], error.Message);
            }
        }

        for (int step = 1; step < _files.Length; step++)
        {
            int candidate = (index + step) % _files.Length;
            lock (_gate)
            {
                if (_unreadable.Contains(candidate))
                {
                    continue;
                }
            }

            try
            {
                ImageDecoder.DecodeInto(_files[candidate], Options, row);
                return;
            }
            catch (Exception e) when (e is InvalidDataException or FileNotFoundException)
            {
                lock (_gate)
                {
                    if (_unreadable.Add(candidate))
                    {
                        LogReplaced(_logger, _files[candidate], e.Message);
                    }
                }
            }
        }

        throw new InvalidDataException($"None of the {_files.Length} indexed images can be decoded (first failure: {error.Message}).", error);
    }

    /// <summary>
    /// With <see cref="ImageFolderOptions.SkipUnreadable"/>, the files whose header does not open (read in
    /// parallel; a header is a few hundred bytes) are left out and logged; otherwise all are kept unread.
    /// </summary>
    internal static string[] Readable(string[] files, ImageFolderOptions options, ILogger logger)
    {
        if (!options.SkipUnreadable)
        {
            return files;
        }

        var problems = new string?[files.Length];
        Parallel.For(0, files.Length, new ParallelOptions { MaxDegreeOfParallelism = options.EffectiveDecodeThreads }, i => problems[i] = ImageDecoder.CheckHeader(files[i], options));
        var kept = new List<string>(files.Length);
        for (int i = 0; i < files.Length; i++)
        {
            if (problems[i] is { } problem)
            {
                LogSkipped(logger, files[i], problem);
            }
            else
            {
                kept.Add(files[i]);
            }
        }

        return [.. kept];
    }

    [LoggerMessage(EventId = 1001, Level = LogLevel.Warning, Message = "Skipped unreadable image {File}: {Reason}")]
    internal static partial void LogSkipped(ILogger logger, string file, string reason);

    [LoggerMessage(EventId = 1003, Level = LogLevel.Warning, Message = "Unreadable image {File} is replaced by the next readable one wherever it is drawn: {Reason}")]
    private static partial void LogReplaced(ILogger logger, string file, string reason);
}
