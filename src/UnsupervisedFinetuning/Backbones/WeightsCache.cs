using System.Net;
using System.Net.Http.Headers;

namespace UnsupervisedFinetuning.Backbones;

/// <summary>
/// Downloads published checkpoints (<see cref="PublishedWeightsEntry"/>) once, into a cache folder, and hands back the
/// local file: the seam between a name like "resnet50-imagenet" and <see cref="PretrainedModel.Import"/>.
/// </summary>
/// <remarks>
/// <para>A file lives at <c>&lt;cache&gt;/&lt;entry name&gt;/&lt;file name&gt;</c> (<see cref="PathOf"/>). It is written
/// as <c>&lt;file&gt;.partial</c>, checked against the entry's <see cref="WeightsIntegrity"/> (digest, size, or at
/// least a transfer as long as the server announced), and only then renamed into place, so a file at the final path
/// was complete and checked when it got there. It is checked again on every <see cref="GetAsync"/>; one that fails is
/// deleted and downloaded again.</para>
/// <para>An interrupted download keeps its <c>.partial</c> file and the next call asks the server for the rest with
/// an HTTP Range request (a server that ignores it sends the whole file again). A file that fails its check is deleted
/// with its partial download, so a retry starts clean.</para>
/// <para>Processes (and threads) sharing a cache folder take turns per file through <c>&lt;file&gt;.lock</c> (an
/// exclusive lock the operating system releases if the holder dies): the second one waits, then finds the file the
/// first one downloaded. The lock file is left in place on purpose; deleting it would let two holders in.</para>
/// </remarks>
/// <example><code>
/// using var cache = new WeightsCache();   // $UFT_CACHE, else ~/.cache/unsupervised-finetuning/weights
/// string file = await cache.GetAsync(PublishedWeights.BuiltIn.Get("resnet50-imagenet"),
///     new SynchronousProgress&lt;long&gt;(bytes => Console.Write($"\r{bytes / 1e6:F1} MB")), cancellationToken);
/// </code></example>
public sealed class WeightsCache : IDisposable
{
    private const int BufferSize = 1 << 16;
    private static readonly TimeSpan LockPollInterval = TimeSpan.FromMilliseconds(100);

    private readonly HttpClient _http;
    private readonly long _maxBytes;
    private readonly TimeSpan _stallTimeout;

    /// <summary>A cache in <paramref name="options"/>' folder (default <see cref="DefaultDirectory"/>).</summary>
    /// <param name="options">Folder, size limit, stall timeout and HTTP handler; defaults when null.</param>
    /// <exception cref="ArgumentOutOfRangeException">The size limit or the stall timeout is not positive.</exception>
    public WeightsCache(WeightsCacheOptions? options = null)
    {
        options ??= new WeightsCacheOptions();
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(options.MaxBytes, nameof(options.MaxBytes));
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(options.StallTimeout, TimeSpan.Zero, nameof(options.StallTimeout));
        Directory = Path.GetFullPath(options.Directory ?? DefaultDirectory);
        _maxBytes = options.MaxBytes;
        _stallTimeout = options.StallTimeout;
        _http = options.Handler is { } handler
            ? new HttpClient(handler, disposeHandler: false)
            : new HttpClient(new SocketsHttpHandler { AllowAutoRedirect = true, AutomaticDecompression = DecompressionMethods.None }, disposeHandler: true);

        // The body of a large file takes as long as it takes; a silent server is caught by the stall timeout instead.
        _http.Timeout = Timeout.InfiniteTimeSpan;
        _http.DefaultRequestHeaders.UserAgent.ParseAdd("UnsupervisedFinetuning");
    }

    /// <summary>
    /// The cache folder used unless told otherwise: <c>$UFT_CACHE</c> when set, else
    /// <c>$XDG_CACHE_HOME/unsupervised-finetuning/weights</c>, else <c>~/.cache/unsupervised-finetuning/weights</c>.
    /// </summary>
    public static string DefaultDirectory =>
        Environment.GetEnvironmentVariable("UFT_CACHE") is { Length: > 0 } own
            ? own
            : Path.Combine(
                Environment.GetEnvironmentVariable("XDG_CACHE_HOME") is { Length: > 0 } xdg
                    ? xdg
                    : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache"),
                "unsupervised-finetuning",
                "weights");

    /// <summary>The cache folder (absolute).</summary>
    public string Directory { get; }

    /// <summary>Where <paramref name="entry"/>'s file is (or will be) kept: <c>&lt;cache&gt;/&lt;entry name&gt;/&lt;file name&gt;</c>.</summary>
    public string PathOf(PublishedWeightsEntry entry)
    {
        ArgumentNullException.ThrowIfNull(entry);
        return Path.Combine(Directory, entry.Name, entry.FileName);
    }

    /// <summary>
    /// The local path of <paramref name="entry"/>'s file: the cached one when it passes its check (no request is
    /// made), otherwise a fresh download, resumed where a previous one stopped and checked before it is moved into place.
    /// </summary>
    /// <param name="entry">The checkpoint.</param>
    /// <param name="progress">Told the bytes the file has so far (counting a resumed part) after every block received; may be null.</param>
    /// <param name="cancellationToken">Stops the download (the partial file is kept to resume) or the wait for another process's.</param>
    /// <returns>The absolute path of the checked file.</returns>
    /// <exception cref="WeightsVerificationException">The download's digest or size is not the published one (both are named); nothing is kept.</exception>
    /// <exception cref="WeightsDownloadException">The server answered with an error status, the transfer ended early or
    /// stalled, the file is larger than allowed, or the disk has no room for it.</exception>
    /// <exception cref="OperationCanceledException">Cancelled.</exception>
    public async Task<string> GetAsync(PublishedWeightsEntry entry, IProgress<long>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(entry);
        string file = PathOf(entry);
        System.IO.Directory.CreateDirectory(Path.GetDirectoryName(file)!);
        using (await LockAsync(file + ".lock", cancellationToken).ConfigureAwait(false))
        {
            if (File.Exists(file))
            {
                if (new FileInfo(file).Length > 0 && await entry.Integrity.MismatchAsync(file, cancellationToken).ConfigureAwait(false) is null)
                {
                    return file;
                }

                // A cached file that fails its check (bit rot, an edit, a different file put there) is not trusted.
                File.Delete(file);
            }

            string partial = PartialPathOf(file);
            await DownloadAsync(entry, file, partial, progress, cancellationToken).ConfigureAwait(false);
            if (await entry.Integrity.MismatchAsync(partial, cancellationToken).ConfigureAwait(false) is { } actual)
            {
                File.Delete(partial);
                throw Mismatch(entry, file, actual);
            }

            File.Move(partial, file, overwrite: true);
            return file;
        }
    }

    /// <inheritdoc/>
    public void Dispose() => _http.Dispose();

    internal static string PartialPathOf(string file) => file + ".partial";

    private async Task DownloadAsync(PublishedWeightsEntry entry, string file, string partial, IProgress<long>? progress, CancellationToken cancellationToken)
    {
        long limit = entry.Integrity.ExpectedBytes is { } stated ? Math.Min(stated, _maxBytes) : _maxBytes;
        for (int attempt = 0; ; attempt++)
        {
            long have = File.Exists(partial) ? new FileInfo(partial).Length : 0;
            if (have >= limit && entry.Integrity.ExpectedBytes is null)
            {
                File.Delete(partial);
                have = 0;
            }

            using var request = new HttpRequestMessage(HttpMethod.Get, entry.Url);
            if (have > 0)
            {
                request.Headers.Range = new RangeHeaderValue(have, null);
            }

            using var response = await SendAsync(entry, file, request, cancellationToken).ConfigureAwait(false);
            if (have > 0 && attempt == 0
                && (response.StatusCode == HttpStatusCode.RequestedRangeNotSatisfiable
                    || (response.StatusCode == HttpStatusCode.PartialContent && response.Content.Headers.ContentRange?.From != have)))
            {
                // The part we hold does not fit what the server has (it may have been the whole file, or the file changed): start over.
                File.Delete(partial);
                continue;
            }

            if (!response.IsSuccessStatusCode)
            {
                throw new WeightsDownloadException(
                    $"The server answered {(int)response.StatusCode} {response.ReasonPhrase} for {entry.Url} (the weights '{entry.Name}', to be saved as {file}).",
                    entry.Url,
                    file,
                    response.StatusCode);
            }

            // 206: the rest after what we have; 200: the whole file (a server that ignores Range), written from the start.
            long start = response.StatusCode == HttpStatusCode.PartialContent ? have : 0;
            long? total = response.StatusCode == HttpStatusCode.PartialContent
                ? response.Content.Headers.ContentRange?.Length ?? start + response.Content.Headers.ContentLength
                : response.Content.Headers.ContentLength;
            CheckAnnounced(entry, file, partial, total, limit, start);
            await ReceiveAsync(entry, file, partial, response, start, total, limit, progress, cancellationToken).ConfigureAwait(false);
            return;
        }
    }

    private async Task<HttpResponseMessage> SendAsync(PublishedWeightsEntry entry, string file, HttpRequestMessage request, CancellationToken cancellationToken)
    {
        try
        {
            return await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken).ConfigureAwait(false);
        }
        catch (HttpRequestException e)
        {
            throw new WeightsDownloadException($"Could not download {entry.Url} (the weights '{entry.Name}', to be saved as {file}): {e.Message}", entry.Url, file, e.StatusCode, e);
        }
    }

    // Refuses, before a byte is written, a response larger than allowed or than the disk has room for.
    private static void CheckAnnounced(PublishedWeightsEntry entry, string file, string partial, long? total, long limit, long start)
    {
        if (total is not { } bytes)
        {
            return;
        }

        if (entry.Integrity.ExpectedBytes is { } stated && bytes != stated)
        {
            File.Delete(partial);
            throw Mismatch(entry, file, $"{bytes} bytes (announced by the server)");
        }

        if (bytes > limit)
        {
            File.Delete(partial);
            throw new WeightsDownloadException(
                $"{entry.Url} announces {bytes} bytes, more than the limit of {limit} bytes for the weights '{entry.Name}' ({file}); raise WeightsCacheOptions.MaxBytes if the file is genuine.",
                entry.Url,
                file);
        }

        if (FreeBytes(Path.GetDirectoryName(file)!) is { } free && bytes - start > free)
        {
            throw new WeightsDownloadException(
                $"Not enough disk space to download {entry.Url}: {bytes - start} bytes are still to come but {Path.GetDirectoryName(file)} has {free} bytes free (the weights '{entry.Name}', {file}).",
                entry.Url,
                file);
        }
    }

    private async Task ReceiveAsync(PublishedWeightsEntry entry, string file, string partial, HttpResponseMessage response, long start, long? total, long limit, IProgress<long>? progress, CancellationToken cancellationToken)
    {
        long received = start;
        string expected = total is { } t ? $"{t} bytes" : "the end of the response";
        try
        {
            await using var body = await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
            await using var output = new FileStream(partial, start > 0 ? FileMode.Append : FileMode.Create, FileAccess.Write, FileShare.None, BufferSize, FileOptions.Asynchronous);
            progress?.Report(received);
            byte[] buffer = new byte[BufferSize];
            using var stall = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            while (true)
            {
                stall.CancelAfter(_stallTimeout);
                int read = await body.ReadAsync(buffer, stall.Token).ConfigureAwait(false);
                if (read == 0)
                {
                    break;
                }

                if (received + read > limit)
                {
                    throw new WeightsDownloadException(
                        $"{entry.Url} sent more than the limit of {limit} bytes for the weights '{entry.Name}' ({file}); raise WeightsCacheOptions.MaxBytes if the file is genuine.",
                        entry.Url,
                        file);
                }

                await output.WriteAsync(buffer.AsMemory(0, read), cancellationToken).ConfigureAwait(false);
                received += read;
                progress?.Report(received);
            }

            await output.FlushAsync(cancellationToken).ConfigureAwait(false);
            output.Flush(flushToDisk: true);
        }
        catch (OperationCanceledException e) when (!cancellationToken.IsCancellationRequested)
        {
            throw new WeightsDownloadException(
                $"{entry.Url} sent nothing for {_stallTimeout.TotalSeconds:0.#} s after {received} of {expected}; {partial} is kept and the next attempt resumes it.",
                entry.Url,
                file,
                innerException: e);
        }
        catch (Exception e) when (e is IOException and not WeightsDownloadException || e is HttpRequestException)
        {
            throw Truncated(entry, file, partial, expected, received, e);
        }

        if (received > limit)
        {
            File.Delete(partial);
            throw new WeightsDownloadException($"{entry.Url} sent {received} bytes, more than the limit of {limit} bytes for the weights '{entry.Name}' ({file}).", entry.Url, file);
        }

        if (total is { } announced && received != announced)
        {
            throw Truncated(entry, file, partial, expected, received, null);
        }
    }

    private static WeightsDownloadException Truncated(PublishedWeightsEntry entry, string file, string partial, string expected, long received, Exception? inner) =>
        new(
            $"The download of {entry.Url} ended early: expected {expected}, got {received} (the weights '{entry.Name}', {file}); {partial} is kept and the next attempt resumes it.",
            entry.Url,
            file,
            innerException: inner);

    private static WeightsVerificationException Mismatch(PublishedWeightsEntry entry, string file, string actual) =>
        new(
            $"The download of {entry.Url} is not the published file: expected {entry.Integrity}, got {actual} (the weights '{entry.Name}', {file}; the expected value is from {entry.Integrity.Source}). It was deleted; a retry downloads it again.",
            entry.Url,
            file,
            entry.Integrity.ToString(),
            actual);

    // Free space on the folder's file system; null where it cannot be read (then the write itself reports a full disk).
    private static long? FreeBytes(string folder)
    {
        try
        {
            return new DriveInfo(folder).AvailableFreeSpace;
        }
        catch (Exception e) when (e is IOException or ArgumentException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    // An exclusive lock on <file>.lock: flock(LOCK_EX | LOCK_NB) on Unix, a deny-all share mode on Windows; polled until free.
    private static async Task<FileStream> LockAsync(string path, CancellationToken cancellationToken)
    {
        while (true)
        {
            try
            {
                return new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
            }
            catch (IOException) when (File.Exists(path))
            {
                await Task.Delay(LockPollInterval, cancellationToken).ConfigureAwait(false);
            }
        }
    }
}
