using System.Net;

namespace UnsupervisedFinetuning.Backbones;

/// <summary>
/// A weights file could not be downloaded: the server answered with an error, the transfer ended early, the response
/// was larger than allowed or than the disk has room for. The message names the URL, the file and what was expected.
/// A partial download is kept (beside the file, as <c>&lt;file&gt;.partial</c>) so the next attempt resumes it.
/// </summary>
public class WeightsDownloadException : IOException
{
    /// <summary>A failed download of <paramref name="url"/> into <paramref name="file"/>.</summary>
    /// <param name="message">What went wrong, naming the URL, the file and what was expected.</param>
    /// <param name="url">The address downloaded from.</param>
    /// <param name="file">The file it was to become.</param>
    /// <param name="statusCode">The server's answer, when it was an HTTP error.</param>
    /// <param name="innerException">The underlying error, if any.</param>
    public WeightsDownloadException(string message, Uri url, string file, HttpStatusCode? statusCode = null, Exception? innerException = null)
        : base(message, innerException)
    {
        ArgumentNullException.ThrowIfNull(url);
        ArgumentNullException.ThrowIfNull(file);
        Url = url;
        File = file;
        StatusCode = statusCode;
    }

    /// <summary>The address downloaded from.</summary>
    public Uri Url { get; }

    /// <summary>The file the download was to become.</summary>
    public string File { get; }

    /// <summary>The HTTP status the server answered with; null when the failure was not an HTTP error.</summary>
    public HttpStatusCode? StatusCode { get; }
}

/// <summary>
/// A downloaded (or cached) weights file is not what its publisher states: its digest or size differs. The partial
/// download has been deleted, so a retry starts from the beginning.
/// </summary>
public sealed class WeightsVerificationException : WeightsDownloadException
{
    /// <summary>A file of <paramref name="actual"/> where <paramref name="expected"/> was stated.</summary>
    /// <param name="message">The message, naming the URL, the file and both values.</param>
    /// <param name="url">The address downloaded from.</param>
    /// <param name="file">The file it was to become.</param>
    /// <param name="expected">What the publisher states, e.g. "SHA-256 starting with f37072fd".</param>
    /// <param name="actual">What the download has, e.g. "SHA-256 9b2c…" (the full digest) or "1024 bytes".</param>
    public WeightsVerificationException(string message, Uri url, string file, string expected, string actual)
        : base(message, url, file)
    {
        Expected = expected;
        Actual = actual;
    }

    /// <summary>What the publisher states.</summary>
    public string Expected { get; }

    /// <summary>What the downloaded file has.</summary>
    public string Actual { get; }
}
