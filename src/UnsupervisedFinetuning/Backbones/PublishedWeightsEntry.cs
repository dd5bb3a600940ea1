namespace UnsupervisedFinetuning.Backbones;

/// <summary>
/// A well-known public checkpoint, by name (e.g. "resnet50-imagenet", "mocov2-resnet50-800ep", "dinov2-vits14"): where
/// its publisher serves it, what the publisher states about its content (<see cref="Integrity"/>), the architecture of
/// <see cref="ArchitectureCatalog"/> its weights belong to, and the preprocessing it was trained with.
/// <see cref="WeightsCache.GetAsync"/> downloads it once and returns the local file; <see cref="PretrainedModel.Import"/>
/// then reads it as <c>Import(path, entry.GetArchitecture().DefaultBackbone, entry.Input)</c>.
/// </summary>
/// <remarks>
/// An entry may name an architecture the catalog does not have yet (the DINOv2 ViTs, until "vit-s14" and friends are
/// registered): it is listed and can be downloaded, and <see cref="GetArchitecture"/> says so when it is used.
/// </remarks>
/// <example><code>
/// var entry = PublishedWeights.BuiltIn.Get("resnet18-imagenet");
/// using var cache = new WeightsCache();
/// string file = await cache.GetAsync(entry);
/// using var model = PretrainedModel.Import(file, entry.GetArchitecture().DefaultBackbone, entry.Input);
/// </code></example>
public sealed class PublishedWeightsEntry : CatalogEntry
{
    /// <summary>Describes a published checkpoint.</summary>
    /// <param name="name">The name users write (lower-case letters, digits and hyphens).</param>
    /// <param name="description">One sentence: what was trained, how, by whom.</param>
    /// <param name="url">Where the publisher serves the file (absolute http or https).</param>
    /// <param name="fileName">The file's name in the cache: a plain name, no directory.</param>
    /// <param name="architecture">The name of the architecture in <see cref="ArchitectureCatalog"/> (e.g. "resnet50",
    /// "vit-s14"), which need not be registered yet.</param>
    /// <param name="integrity">What the publisher states about the content: digest, size, or nothing.</param>
    /// <param name="input">The preprocessing the weights expect (size and normalisation).</param>
    /// <param name="aliases">Other names for it; none when null.</param>
    /// <exception cref="ArgumentException">A text is empty, the URL is not absolute http(s), or the file name has a directory part.</exception>
    public PublishedWeightsEntry(
        string name,
        string description,
        Uri url,
        string fileName,
        string architecture,
        WeightsIntegrity integrity,
        InputDescription input,
        IEnumerable<string>? aliases = null)
        : base(name, description, aliases)
    {
        ArgumentNullException.ThrowIfNull(url);
        ArgumentException.ThrowIfNullOrWhiteSpace(fileName);
        ArgumentException.ThrowIfNullOrWhiteSpace(architecture);
        ArgumentNullException.ThrowIfNull(integrity);
        ArgumentNullException.ThrowIfNull(input);
        if (!url.IsAbsoluteUri || (url.Scheme != Uri.UriSchemeHttps && url.Scheme != Uri.UriSchemeHttp))
        {
            throw new ArgumentException($"The URL of '{name}' is '{url}'; expected an absolute http or https address.", nameof(url));
        }

        // The file name becomes a path under the cache folder: nothing that climbs out of it or names a folder.
        if (fileName is "." or ".." || fileName.IndexOfAny(['/', '\\', ':', '\0']) >= 0 || fileName != fileName.Trim())
        {
            throw new ArgumentException($"The file name of '{name}' is '{IO.ExceptionText.Printable(fileName)}'; expected a plain file name without a folder.", nameof(fileName));
        }

        Url = url;
        FileName = fileName;
        Architecture = architecture;
        Integrity = integrity;
        Input = input;
    }

    /// <summary>Where the publisher serves the file.</summary>
    public Uri Url { get; }

    /// <summary>The file's name in the cache (the publisher's name for it).</summary>
    public string FileName { get; }

    /// <summary>The architecture's name in <see cref="ArchitectureCatalog"/>, e.g. "resnet50" or "vit-s14".</summary>
    public string Architecture { get; }

    /// <summary>What the publisher states about the file's content, and where.</summary>
    public WeightsIntegrity Integrity { get; }

    /// <summary>The images the weights expect: size and normalisation (ImageNet's, 224², for every built-in entry).</summary>
    public InputDescription Input { get; }

    /// <summary>The architecture <see cref="Architecture"/> names, or null when <paramref name="architectures"/> does not have it (yet).</summary>
    /// <param name="architectures">Where to look (default <see cref="ArchitectureCatalog.BuiltIn"/>).</param>
    public ArchitectureEntry? FindArchitecture(Catalog<ArchitectureEntry>? architectures = null) =>
        (architectures ?? ArchitectureCatalog.BuiltIn).Find(Architecture);

    /// <summary>The architecture <see cref="Architecture"/> names.</summary>
    /// <param name="architectures">Where to look (default <see cref="ArchitectureCatalog.BuiltIn"/>).</param>
    /// <exception cref="NotSupportedException">The catalog does not have it yet; the message names it and the ones there are.</exception>
    public ArchitectureEntry GetArchitecture(Catalog<ArchitectureEntry>? architectures = null)
    {
        var catalog = architectures ?? ArchitectureCatalog.BuiltIn;
        return catalog.Find(Architecture)
            ?? throw new NotSupportedException($"The weights '{Name}' are for the architecture '{Architecture}', which this library does not build yet (the catalog has {catalog.Describe()}); they can be downloaded but not imported.");
    }
}
