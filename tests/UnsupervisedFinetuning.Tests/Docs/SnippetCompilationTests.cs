using System.Reflection;
using System.Text.RegularExpressions;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;

namespace UnsupervisedFinetuning.Tests.Docs;

/// <summary>
/// Every C# snippet of the README, the docs, the package READMEs and the sample READMEs compiles against the
/// library as it is. A snippet that needs context (a variable the prose introduced) carries it in an HTML comment
/// right above the block: <c>&lt;!-- snippet-prelude: var services = new ServiceCollection(); --&gt;</c>. Blocks of one
/// page that declare types (no top-level statements) are compiled with every other block of that page, so a page
/// may define a class in one block and use it in the next.
/// </summary>
[TestFixture]
public sealed partial class SnippetCompilationTests
{
    private static readonly string Root = RepositoryPaths.Root;

    private static IEnumerable<TestCaseData> Pages() =>
        new[] { Path.Combine(Root, "README.md") }
            .Concat(Directory.EnumerateFiles(Path.Combine(Root, "docs"), "*.md", SearchOption.AllDirectories))
            .Concat(Directory.EnumerateFiles(Path.Combine(Root, "src"), "PACKAGE.md", SearchOption.AllDirectories))
            .Concat(Directory.EnumerateFiles(Path.Combine(Root, "samples"), "README.md", SearchOption.AllDirectories))
            .Where(file => !file.Contains($"{Path.DirectorySeparatorChar}bin{Path.DirectorySeparatorChar}", StringComparison.Ordinal) && !file.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}", StringComparison.Ordinal))
            .Select(file => new TestCaseData(Path.GetRelativePath(Root, file)).SetArgDisplayNames(Path.GetRelativePath(Root, file)));

    [TestCaseSource(nameof(Pages))]
    public void EveryCSharpSnippetOfThePage_Compiles(string page)
    {
        var snippets = Extract(File.ReadAllText(Path.Combine(Root, page)));
        var declarations = snippets.Where(s => !HasStatements(s.Code)).ToList();
        var programs = snippets.Where(s => HasStatements(s.Code)).ToList();
        var failures = new List<string>();
        foreach (var program in programs.DefaultIfEmpty())
        {
            if (program is null && declarations.Count == 0)
            {
                break;
            }

            var blocks = declarations.Concat(program is null ? [] : [program]).ToList();
            var trees = blocks.Select(b => CSharpSyntaxTree.ParseText(WithPrelude(b), Parse, path: $"{page}:{b.Line}"))
                .Append(CSharpSyntaxTree.ParseText(ImplicitUsings, Parse, path: "implicit-usings.cs"));
            var compilation = CSharpCompilation.Create(
                "Snippet",
                trees,
                References.Value,
                new CSharpCompilationOptions(program is null ? OutputKind.DynamicallyLinkedLibrary : OutputKind.ConsoleApplication, nullableContextOptions: NullableContextOptions.Enable));
            failures.AddRange(compilation.GetDiagnostics()
                .Where(d => d.Severity == DiagnosticSeverity.Error)
                .Select(d => $"{d.Location.SourceTree?.FilePath}(+{d.Location.GetLineSpan().StartLinePosition.Line}): {d.Id} {d.GetMessage()}"));
        }

        TestContext.Out.WriteLine($"{page}: {snippets.Count} C# snippet(s)");
        Assert.That(failures.Distinct(), Is.Empty);
    }

    [Test]
    public void TheReadmeAndGettingStartedHaveSnippets()
    {
        // Guards the extraction itself: these pages are known to hold C# blocks.
        Assert.That(Extract(File.ReadAllText(Path.Combine(Root, "README.md"))), Has.Count.GreaterThanOrEqualTo(2));
        Assert.That(Extract(File.ReadAllText(Path.Combine(Root, "docs", "getting-started.md"))), Has.Count.GreaterThanOrEqualTo(2));
    }

    private sealed record Snippet(int Line, string Code, string? Prelude);

    private static readonly CSharpParseOptions Parse = new(LanguageVersion.Latest);

    // What `dotnet new console` gives with ImplicitUsings enabled.
    private const string ImplicitUsings = "global using System; global using System.Collections.Generic; global using System.IO; global using System.Linq; global using System.Net.Http; global using System.Threading; global using System.Threading.Tasks;";

    private static readonly Lazy<List<MetadataReference>> References = new(() =>
    {
        // The framework, plus the library and what an application using it references.
        _ = typeof(UnsupervisedFinetuning.Engine.FinetuneEngine).Assembly;
        _ = typeof(UnsupervisedFinetuning.Reporting.TransferChart).Assembly;
        _ = typeof(Microsoft.Extensions.DependencyInjection.ServiceCollection).Assembly;
        var paths = ((string)AppContext.GetData("TRUSTED_PLATFORM_ASSEMBLIES")!).Split(Path.PathSeparator)
            .Concat(AppDomain.CurrentDomain.GetAssemblies().Where(a => !a.IsDynamic && a.Location.Length > 0).Select(a => a.Location))
            .Concat(new[] { "TorchSharp", "Microsoft.Extensions.Options", "Microsoft.Extensions.Logging.Abstractions", "Microsoft.Extensions.DependencyInjection.Abstractions" }
                .Select(name => Assembly.Load(name).Location));
        return paths.Distinct(StringComparer.Ordinal).Where(File.Exists).Select(p => (MetadataReference)MetadataReference.CreateFromFile(p)).ToList();
    });

    private static List<Snippet> Extract(string markdown)
    {
        var snippets = new List<Snippet>();
        string[] lines = markdown.Split('\n');
        for (int i = 0; i < lines.Length; i++)
        {
            if (lines[i].TrimEnd() != "```csharp")
            {
                continue;
            }

            string? prelude = null;
            for (int j = i - 1; j >= 0 && lines[j].TrimStart().StartsWith("<!--", StringComparison.Ordinal); j--)
            {
                var match = PreludePattern().Match(lines[j]);
                if (match.Success)
                {
                    prelude = match.Groups[1].Value;
                }
            }

            int start = i + 1;
            int end = start;
            while (end < lines.Length && lines[end].TrimEnd() != "```")
            {
                end++;
            }

            snippets.Add(new Snippet(start + 1, string.Join('\n', lines[start..end]), prelude));
            i = end;
        }

        return snippets;
    }

    private static bool HasStatements(string code) =>
        CSharpSyntaxTree.ParseText(code, Parse).GetCompilationUnitRoot().Members.OfType<GlobalStatementSyntax>().Any();

    // The prelude goes after the block's using directives, before its first statement.
    private static string WithPrelude(Snippet snippet)
    {
        if (snippet.Prelude is null)
        {
            return snippet.Code;
        }

        var lines = snippet.Code.Split('\n').ToList();
        int afterUsings = lines.FindLastIndex(l => l.StartsWith("using ", StringComparison.Ordinal) && !l.Contains('(') && l.TrimEnd().EndsWith(';')) + 1;
        lines.Insert(afterUsings, snippet.Prelude);
        return string.Join('\n', lines);
    }

    [GeneratedRegex("<!--\\s*snippet-prelude:\\s*(.*?)\\s*-->")]
    private static partial Regex PreludePattern();
}
