namespace UnsupervisedFinetuning.Backbones;

/// <summary>Where <see cref="WeightsCache"/> keeps files, how large a download may be, and how it reaches the network.</summary>
public sealed class WeightsCacheOptions
{
    /// <summary>The default <see cref="MaxBytes"/>: 4 GiB (every built-in checkpoint is far below it).</summary>
    public const long DefaultMaxBytes = 4L << 30;

    /// <summary>The cache folder; default <see cref="WeightsCache.DefaultDirectory"/>.</summary>
    public string? Directory { get; set; }

    /// <summary>
    /// The largest file accepted: a response announcing more, or sending more, is refused and nothing is kept
    /// (default <see cref="DefaultMaxBytes"/>). An entry whose <see cref="WeightsIntegrity"/> states a size is held to that size.
    /// </summary>
    public long MaxBytes { get; set; } = DefaultMaxBytes;

    /// <summary>
    /// How long the server may send nothing before the download is abandoned (the partial file is kept to resume);
    /// default one minute. The total duration is not limited: cancel through the token for that.
    /// </summary>
    public TimeSpan StallTimeout { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>
    /// The handler requests go through (a proxy, a test double); default: a <see cref="SocketsHttpHandler"/> that
    /// follows redirects. The cache does not dispose a handler given here.
    /// </summary>
    public HttpMessageHandler? Handler { get; set; }
}
