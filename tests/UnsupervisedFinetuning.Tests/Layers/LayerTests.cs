using ArchUnitNET.Loader;
using UnsupervisedFinetuning.Engine;

namespace UnsupervisedFinetuning.Tests.Layers;

/// <summary>
/// The library's layers, read from the compiled assembly (every type's dependencies, as ArchUnitNET sees them):
/// each folder (namespace) may use only the folders listed for it, and folders form no cycle. A forbidden dependency
/// fails here, naming the type and what it uses.
/// </summary>
/// <remarks>
/// The layers, bottom up: the root namespace (devices, seeds, native checks); IO; file formats (Formats: PyTorch
/// pickles and zips, TorchSharp's format); Data, Augment, Objectives, Mixing;
/// Replay and Backbones; Methods; Evaluation; Monitoring; Engine; Tuning and DependencyInjection on top.
/// </remarks>
public sealed class LayerTests
{
    private const string Root = "UnsupervisedFinetuning";

    /// <summary>What each folder may use besides itself. The root namespace and IO are for everyone below.</summary>
    private static readonly Dictionary<string, string[]> Allowed = new(StringComparer.Ordinal)
    {
        [""] = [],
        ["IO"] = [""],
        ["Formats"] = ["", "IO"],
        ["Data"] = ["", "IO"],
        ["Augment"] = [""],
        ["Objectives"] = [""],
        ["Mixing"] = [""],
        ["Replay"] = ["", "Data"],
        ["Backbones"] = ["", "IO", "Formats", "Data", "Augment"],
        ["Methods"] = ["", "IO", "Augment", "Backbones", "Mixing", "Objectives"],
        ["Evaluation"] = ["", "IO", "Data", "Augment", "Backbones"],
        ["Monitoring"] = ["", "IO", "Data", "Augment", "Backbones", "Evaluation"],
        ["Engine"] = ["", "IO", "Formats", "Data", "Augment", "Mixing", "Replay", "Backbones", "Methods", "Evaluation", "Monitoring"],
        ["Tuning"] = ["", "Augment", "Mixing", "Replay", "Backbones", "Methods", "Evaluation", "Monitoring", "Engine"],
        ["DependencyInjection"] = ["", "Data", "Backbones", "Mixing", "Replay", "Methods", "Engine"],
    };

    private static readonly Lazy<Dictionary<string, Dictionary<string, string>>> Graph = new(ReadGraph);

    /// <summary>Folder → the folders it uses, each with one type-level example ("Data.ImageFolder → Engine.FinetuneEngine").</summary>
    private static Dictionary<string, Dictionary<string, string>> ReadGraph()
    {
        var architecture = new ArchLoader().LoadAssemblies(typeof(FinetuneEngine).Assembly).Build();
        var graph = new Dictionary<string, Dictionary<string, string>>(StringComparer.Ordinal);
        foreach (var type in architecture.Types)
        {
            if (Folder(type.Namespace.FullName) is not { } from)
            {
                continue;
            }

            var uses = graph.TryGetValue(from, out var known) ? known : graph[from] = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (var dependency in type.Dependencies)
            {
                if (dependency.Target?.Namespace?.FullName is { } target && Folder(target) is { } to && to != from)
                {
                    uses.TryAdd(to, $"{type.FullName} → {dependency.Target.FullName}");
                }
            }
        }

        return graph;
    }

    /// <summary>"Engine" for UnsupervisedFinetuning.Engine (and its sub-namespaces), "" for the root, null outside the library.</summary>
    private static string? Folder(string ns) =>
        ns == Root ? ""
        : ns.StartsWith(Root + ".", StringComparison.Ordinal) ? ns[(Root.Length + 1)..].Split('.')[0]
        : null;

    [Test]
    public void EveryFolderOfTheLibrary_HasItsRule()
    {
        Assert.That(Graph.Value.Keys.Where(f => !Allowed.ContainsKey(f)), Is.Empty, "a new folder needs its line in Allowed: which layers may it use?");
    }

    [Test]
    public void EachFolder_UsesOnlyTheFoldersItsLayerAllows()
    {
        var forbidden = Graph.Value
            .SelectMany(folder => folder.Value.Where(use => Allowed.TryGetValue(folder.Key, out var allowed) && !allowed.Contains(use.Key))
                .Select(use => $"{(folder.Key == "" ? "(root)" : folder.Key)} may not use {(use.Key == "" ? "(root)" : use.Key)}: {use.Value}"))
            .ToList();

        Assert.That(forbidden, Is.Empty);
    }

    [Test]
    public void FoldersFormNoCycle()
    {
        var cycles = StronglyConnected(Graph.Value.ToDictionary(f => f.Key, f => f.Value.Keys.ToArray()))
            .Where(component => component.Count > 1)
            .Select(component => string.Join(" ⇄ ", component.Order(StringComparer.Ordinal)))
            .ToList();

        Assert.That(cycles, Is.Empty, "a cycle between folders");
    }

    [Test]
    public void TheRules_CatchAForbiddenDependency()
    {
        // The check itself, on a graph with one dependency the rules forbid: Data using Engine.
        var graph = new Dictionary<string, string[]> { ["Data"] = ["IO", "Engine"], ["Engine"] = ["Data"] };

        Assert.That(graph["Data"].Where(use => !Allowed["Data"].Contains(use)), Is.EqualTo(new[] { "Engine" }));
        Assert.That(StronglyConnected(graph).Single(c => c.Count > 1).Order(StringComparer.Ordinal), Is.EqualTo(new[] { "Data", "Engine" }));
    }

    /// <summary>Tarjan's strongly connected components: a component of more than one folder is a cycle.</summary>
    private static List<List<string>> StronglyConnected(Dictionary<string, string[]> graph)
    {
        var index = new Dictionary<string, int>(StringComparer.Ordinal);
        var low = new Dictionary<string, int>(StringComparer.Ordinal);
        var stack = new Stack<string>();
        var onStack = new HashSet<string>(StringComparer.Ordinal);
        var components = new List<List<string>>();

        void Visit(string node)
        {
            index[node] = low[node] = index.Count;
            stack.Push(node);
            onStack.Add(node);
            foreach (string next in graph.TryGetValue(node, out var uses) ? uses : [])
            {
                if (!index.ContainsKey(next))
                {
                    Visit(next);
                    low[node] = Math.Min(low[node], low[next]);
                }
                else if (onStack.Contains(next))
                {
                    low[node] = Math.Min(low[node], index[next]);
                }
            }

            if (low[node] == index[node])
            {
                var component = new List<string>();
                string member;
                do
                {
                    member = stack.Pop();
                    onStack.Remove(member);
                    component.Add(member);
                }
                while (member != node);
                components.Add(component);
            }
        }

        foreach (string node in graph.Keys.Order(StringComparer.Ordinal))
        {
            if (!index.ContainsKey(node))
            {
                Visit(node);
            }
        }

        return components;
    }
}
