using System.Globalization;
using System.Security.Cryptography;

namespace UnsupervisedFinetuning.Backbones;

/// <summary>How a downloaded weights file is checked: the kind of <see cref="WeightsIntegrity"/>.</summary>
public enum WeightsIntegrityKind
{
    /// <summary>The file's SHA-256, in full or as the prefix the publisher states.</summary>
    Sha256,

    /// <summary>The file's MD5, in full or as the prefix the publisher states (integrity against a broken transfer, not against tampering).</summary>
    Md5,

    /// <summary>The file's size in bytes, when the publisher states no digest.</summary>
    Size,

    /// <summary>The publisher states nothing to check the file against; only a complete transfer is checked.</summary>
    Unpublished,
}

/// <summary>
/// What the publisher of a weights file states about its content, and where that came from: a SHA-256 or MD5 digest
/// (full, or the prefix torchvision's file names and MoCo's README carry), a byte size, or nothing.
/// <see cref="WeightsCache"/> checks a download against it before the file is moved into place, and checks a cached
/// file again before trusting it. Values are taken from the publisher only, never computed from a file we downloaded.
/// </summary>
/// <remarks>
/// A prefix of 8 hex digits (32 bits) catches a torn or garbled transfer as surely as a full digest, but it is no
/// defence against a deliberately altered file; the download is over HTTPS from the publisher's own host.
/// </remarks>
public sealed class WeightsIntegrity
{
    private const int MinimumPrefixDigits = 8;

    private WeightsIntegrity(WeightsIntegrityKind kind, string? digest, long? bytes, string source)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(source);
        Kind = kind;
        ExpectedDigest = digest;
        ExpectedBytes = bytes;
        Source = source;
    }

    /// <summary>What is checked.</summary>
    public WeightsIntegrityKind Kind { get; }

    /// <summary>The expected digest in lower-case hex (a prefix when <see cref="IsPrefix"/>); null for a size or nothing.</summary>
    public string? ExpectedDigest { get; }

    /// <summary>The expected size in bytes; null unless <see cref="Kind"/> is <see cref="WeightsIntegrityKind.Size"/>.</summary>
    public long? ExpectedBytes { get; }

    /// <summary>True when <see cref="ExpectedDigest"/> is only the first digits of the digest.</summary>
    public bool IsPrefix => ExpectedDigest is { } d && d.Length < FullDigits(Kind);

    /// <summary>Where the value came from (e.g. "torchvision 0.14 resnet.py: the URL's file name, as torch.hub's check_hash reads it").</summary>
    public string Source { get; }

    /// <summary>The file's SHA-256 is, or starts with, <paramref name="hex"/>.</summary>
    /// <param name="hex">64 hex digits, or a prefix of at least 8.</param>
    /// <param name="source">Where the publisher states it.</param>
    /// <exception cref="ArgumentException">The digest is not hex, shorter than 8 digits or longer than 64.</exception>
    public static WeightsIntegrity Sha256(string hex, string source) => new(WeightsIntegrityKind.Sha256, Hex(hex, WeightsIntegrityKind.Sha256), null, source);

    /// <summary>The file's MD5 is, or starts with, <paramref name="hex"/>.</summary>
    /// <param name="hex">32 hex digits, or a prefix of at least 8.</param>
    /// <param name="source">Where the publisher states it.</param>
    /// <exception cref="ArgumentException">The digest is not hex, shorter than 8 digits or longer than 32.</exception>
    public static WeightsIntegrity Md5(string hex, string source) => new(WeightsIntegrityKind.Md5, Hex(hex, WeightsIntegrityKind.Md5), null, source);

    /// <summary>The file is <paramref name="bytes"/> long.</summary>
    /// <param name="bytes">The size the publisher states.</param>
    /// <param name="source">Where the publisher states it.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="bytes"/> is not positive.</exception>
    public static WeightsIntegrity Size(long bytes, string source)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(bytes);
        return new(WeightsIntegrityKind.Size, null, bytes, source);
    }

    /// <summary>The publisher states no digest and no size: only a transfer as long as the server announced is accepted.</summary>
    /// <param name="source">What was looked at and found silent (e.g. "facebookresearch/dinov2 README and hubconf: no hash").</param>
    public static WeightsIntegrity Unpublished(string source) => new(WeightsIntegrityKind.Unpublished, null, null, source);

    /// <summary>What is expected, for messages: "SHA-256 starting with f37072fd", "MD5 a04e…", "44 bytes", "nothing published".</summary>
    public override string ToString() => Kind switch
    {
        WeightsIntegrityKind.Size => $"{ExpectedBytes} bytes",
        WeightsIntegrityKind.Unpublished => "nothing published to check against",
        _ => $"{Name(Kind)} {(IsPrefix ? "starting with " : "")}{ExpectedDigest}",
    };

    // Null when the file matches; otherwise the actual value, for the message (the full digest, or the size).
    internal async Task<string?> MismatchAsync(string file, CancellationToken cancellationToken)
    {
        switch (Kind)
        {
            case WeightsIntegrityKind.Size:
                long length = new FileInfo(file).Length;
                return length == ExpectedBytes ? null : $"{length} bytes";
            case WeightsIntegrityKind.Unpublished:
                return null;
            default:
                using (HashAlgorithm hash = Kind == WeightsIntegrityKind.Sha256 ? SHA256.Create() : MD5.Create())
                {
                    await using var stream = new FileStream(file, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, FileOptions.Asynchronous | FileOptions.SequentialScan);
                    byte[] digest = await hash.ComputeHashAsync(stream, cancellationToken).ConfigureAwait(false);
                    string actual = Convert.ToHexStringLower(digest);
                    return actual.StartsWith(ExpectedDigest!, StringComparison.Ordinal) ? null : $"{Name(Kind)} {actual}";
                }
        }
    }

    internal static string Name(WeightsIntegrityKind kind) => kind == WeightsIntegrityKind.Sha256 ? "SHA-256" : "MD5";

    private static int FullDigits(WeightsIntegrityKind kind) => kind switch
    {
        WeightsIntegrityKind.Sha256 => 64,
        WeightsIntegrityKind.Md5 => 32,
        _ => 0,
    };

    private static string Hex(string hex, WeightsIntegrityKind kind)
    {
        ArgumentNullException.ThrowIfNull(hex);
        int full = FullDigits(kind);
        if (hex.Length < MinimumPrefixDigits || hex.Length > full || !hex.All(char.IsAsciiHexDigit))
        {
            throw new ArgumentException($"'{IO.ExceptionText.Printable(hex)}' is not a {Name(kind)} digest: expected {MinimumPrefixDigits} to {full} hex digits.", nameof(hex));
        }

        return hex.ToLower(CultureInfo.InvariantCulture);
    }
}
