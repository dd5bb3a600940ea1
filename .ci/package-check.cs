// What the packed packages carry, checked from the .nupkg and .snupkg files themselves (run by .ci/consumer-test):
//
//     dotnet run .ci/package-check.cs -- FEED VERSION REPOSITORY_URL COMMIT
//
// - every package: icon.png, projectUrl and <repository url commit> naming REPOSITORY_URL at COMMIT;
// - the libraries' symbol packages: a PDB whose Source Link maps the sources to raw.githubusercontent.com at COMMIT;
// - the uft tool: a platform-naming package plus one package per runtime identifier it names, each holding its own
//   OS's native libraries only (libtorch, LibTorchSharp, SkiaSharp) and not libtorch's unused Python/test libraries.
// Prints one line per package and "package check: passed"; exits 1 with the reasons otherwise.
using System.IO.Compression;
using System.Reflection.Metadata;
using System.Text.Json;
using System.Xml.Linq;

if (args.Length != 4)
{
    Console.Error.WriteLine("usage: package-check FEED VERSION REPOSITORY_URL COMMIT");
    return 2;
}

string feed = args[0], version = args[1], repositoryUrl = args[2], commit = args[3];
var failures = new List<string>();
void Check(bool ok, string what)
{
    if (!ok)
    {
        failures.Add(what);
    }
}

var repository = new Uri(repositoryUrl);
string rawBase = repository.Host == "github.com"
    ? $"https://raw.githubusercontent.com{repository.AbsolutePath.TrimEnd('/')}/{commit}/*"
    : throw new InvalidOperationException($"{repositoryUrl}: only GitHub repository URLs are checked here.");

foreach (string library in new[] { "UnsupervisedFinetuning", "UnsupervisedFinetuning.Reporting" })
{
    using var package = OpenPackage(library);
    CheckMetadata(package, library);
    using var symbols = ZipFile.OpenRead(Path.Combine(feed, $"{library}.{version}.snupkg"));
    var pdbEntry = symbols.GetEntry($"lib/net10.0/{library}.pdb");
    Check(pdbEntry != null, $"{library}.snupkg: no lib/net10.0/{library}.pdb");
    if (pdbEntry != null)
    {
        var targets = SourceLinkTargets(pdbEntry);
        Check(targets.Contains(rawBase), $"{library}.pdb: Source Link maps to [{string.Join(", ", targets)}], expected {rawBase}");
        Console.WriteLine($"{library}: icon, project and repository URL; Source Link → {string.Join(", ", targets)}");
    }
}

const string Tool = "UnsupervisedFinetuning.Cli";
using (var pointer = OpenPackage(Tool))
{
    CheckMetadata(pointer, Tool);
    var settings = pointer.GetEntry("tools/any/any/DotnetToolSettings.xml");
    Check(settings != null, $"{Tool}: no tools/any/any/DotnetToolSettings.xml (not a RID-specific tool)");
    var rids = settings == null ? [] : XDocument.Load(settings.Open()).Descendants("RuntimeIdentifierPackage")
        .Select(p => (Rid: (string)p.Attribute("RuntimeIdentifier")!, Id: (string)p.Attribute("Id")!)).ToList();
    Check(rids.Count > 0, $"{Tool}: names no runtime identifier packages");
    Check(pointer.Entries.All(e => !e.FullName.EndsWith(".dll", StringComparison.Ordinal)), $"{Tool}: the platform-naming package holds code");
    foreach (var (rid, id) in rids)
    {
        using var package = OpenPackage(id);
        CheckMetadata(package, id);
        string root = $"tools/net10.0/{rid}/";
        var files = package.Entries.Where(e => e.FullName.StartsWith(root, StringComparison.Ordinal)).Select(e => e.FullName[root.Length..]).ToList();
        string nativeSuffix = rid.StartsWith("linux", StringComparison.Ordinal) ? ".so" : rid.StartsWith("osx", StringComparison.Ordinal) ? ".dylib" : ".dll";
        string[] expected = rid.StartsWith("win", StringComparison.Ordinal)
            ? ["torch_cpu.dll", "LibTorchSharp.dll", "libSkiaSharp.dll"]
            : [$"libtorch_cpu{nativeSuffix}", $"libLibTorchSharp{nativeSuffix}", $"libSkiaSharp{nativeSuffix}"];
        foreach (string name in expected)
        {
            Check(files.Contains(name), $"{id}: no {name} in {root}");
        }

        var foreign = files.Where(f => f.StartsWith("runtimes/", StringComparison.Ordinal)
            || (nativeSuffix != ".so" && f.EndsWith(".so", StringComparison.Ordinal))
            || (nativeSuffix != ".dylib" && f.EndsWith(".dylib", StringComparison.Ordinal))).ToList();
        Check(foreign.Count == 0, $"{id}: files of other platforms: {string.Join(", ", foreign.Take(5))}");
        Check(!files.Contains($"libtorch_python{nativeSuffix}"), $"{id}: carries libtorch's Python bindings");
        long bytes = new FileInfo(Path.Combine(feed, $"{id}.{version}.nupkg")).Length;
        long unpacked = package.Entries.Sum(e => e.Length);
        Console.WriteLine($"{id}: {bytes / 1e6:F1} MB packed, {unpacked / 1e6:F1} MB of files, native libraries for {rid} only");
    }
}

foreach (string failure in failures)
{
    Console.Error.WriteLine($"package check: {failure}");
}

Console.WriteLine(failures.Count == 0 ? "package check: passed" : "package check: failed");
return failures.Count == 0 ? 0 : 1;

ZipArchive OpenPackage(string id) => ZipFile.OpenRead(Path.Combine(feed, $"{id}.{version}.nupkg"));

void CheckMetadata(ZipArchive package, string id)
{
    var nuspecEntry = package.Entries.Single(e => e.FullName.EndsWith(".nuspec", StringComparison.Ordinal) && !e.FullName.Contains('/'));
    var metadata = XDocument.Load(nuspecEntry.Open()).Root!.Elements().Single(e => e.Name.LocalName == "metadata");
    string? Value(string name) => metadata.Elements().SingleOrDefault(e => e.Name.LocalName == name)?.Value;
    var repositoryElement = metadata.Elements().SingleOrDefault(e => e.Name.LocalName == "repository");
    Check(Value("projectUrl") == repositoryUrl, $"{id}: projectUrl is '{Value("projectUrl")}', expected {repositoryUrl}");
    Check((string?)repositoryElement?.Attribute("url") == repositoryUrl, $"{id}: <repository url> is '{repositoryElement?.Attribute("url")?.Value}', expected {repositoryUrl}");
    Check((string?)repositoryElement?.Attribute("commit") == commit, $"{id}: <repository commit> is '{repositoryElement?.Attribute("commit")?.Value}', expected {commit}");
    Check(Value("icon") == "icon.png", $"{id}: <icon> is '{Value("icon")}', expected icon.png");
    var icon = package.GetEntry("icon.png");
    Check(icon != null && IsPng(icon), $"{id}: icon.png is missing or not a PNG");
}

static bool IsPng(ZipArchiveEntry entry)
{
    using var stream = entry.Open();
    var header = new byte[8];
    stream.ReadExactly(header);
    return header.SequenceEqual(new byte[] { 0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A });
}

static List<string> SourceLinkTargets(ZipArchiveEntry pdbEntry)
{
    var sourceLinkKind = new Guid("CC110556-A091-4D38-9FEC-25AB9A351A6A");
    var bytes = new MemoryStream();
    using (var stream = pdbEntry.Open())
    {
        stream.CopyTo(bytes);
    }

    bytes.Position = 0;
    using var provider = MetadataReaderProvider.FromPortablePdbStream(bytes);
    var reader = provider.GetMetadataReader();
    foreach (var handle in reader.GetCustomDebugInformation(EntityHandle.ModuleDefinition))
    {
        var information = reader.GetCustomDebugInformation(handle);
        if (reader.GetGuid(information.Kind) == sourceLinkKind)
        {
            using var json = JsonDocument.Parse(reader.GetBlobBytes(information.Value));
            return json.RootElement.GetProperty("documents").EnumerateObject().Select(p => p.Value.GetString()!).ToList();
        }
    }

    return [];
}
