using System.Collections;
using Microsoft.Build.Framework;
using Microsoft.Build.Utilities;
using UnsupervisedFinetuning.Build;

namespace UnsupervisedFinetuning.Tests.Build;

[TestFixture]
public sealed class MarkLibStdCxxVersionsWeakTests
{
    private string _dir = string.Empty;

    [SetUp]
    public void SetUp()
    {
        _dir = Path.Combine(Path.GetTempPath(), "uft-task-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(_dir);
    }

    [TearDown]
    public void TearDown() => Directory.Delete(_dir, recursive: true);

    private (string Library, string SystemLib) WriteLibraries(params string[] systemDefines)
    {
        string library = Path.Combine(_dir, "libLibTorchSharp.so");
        File.WriteAllBytes(library, TinyElf.Build([new TinyElf.Needed("libstdc++.so.6", "GLIBCXX_3.4.30", "GLIBCXX_3.4.32")]).Bytes);
        string system = Path.Combine(_dir, "libstdc++.so.6");
        File.WriteAllBytes(system, TinyElf.Build([], ["libstdc++.so.6", .. systemDefines]).Bytes);
        return (library, system);
    }

    private static (bool Ok, RecordingBuildEngine Engine) Run(string library, string system, params string[] versions)
    {
        var engine = new RecordingBuildEngine();
        var task = new MarkLibStdCxxVersionsWeak
        {
            BuildEngine = engine,
            Files = [new TaskItem(library)],
            VersionNames = versions,
            SystemLibStdCxx = system,
        };
        return (task.Execute(), engine);
    }

    [Test]
    public void Execute_SystemLacksVersion_MarksItWeakAndSaysSoInOneLine()
    {
        var (library, system) = WriteLibraries("GLIBCXX_3.4", "GLIBCXX_3.4.30");

        var (ok, engine) = Run(library, system, "GLIBCXX_3.4.32");

        Assert.That(ok, Is.True);
        Assert.That(engine.Messages, Has.Count.EqualTo(1));
        Assert.That(engine.Messages[0], Does.Contain("marked GLIBCXX_3.4.32 weak in " + library));
        Assert.That(ElfVersionNeeds.ReadRequirements(library).Single(r => r.Name == "GLIBCXX_3.4.32").IsWeak, Is.True);
        Assert.That(ElfVersionNeeds.ReadRequirements(library).Single(r => r.Name == "GLIBCXX_3.4.30").IsWeak, Is.False);
    }

    [Test]
    public void Execute_RunTwice_SecondRunReportsAlreadyWeakAndWritesNothing()
    {
        var (library, system) = WriteLibraries("GLIBCXX_3.4", "GLIBCXX_3.4.30");
        Run(library, system, "GLIBCXX_3.4.32");
        byte[] once = File.ReadAllBytes(library);

        var (ok, engine) = Run(library, system, "GLIBCXX_3.4.32");

        Assert.That(ok, Is.True);
        Assert.That(engine.Messages.Single(), Does.Contain("already weak"));
        Assert.That(File.ReadAllBytes(library), Is.EqualTo(once));
    }

    [Test]
    public void Execute_SystemProvidesVersion_LeavesLibraryUntouched()
    {
        var (library, system) = WriteLibraries("GLIBCXX_3.4", "GLIBCXX_3.4.30", "GLIBCXX_3.4.32");
        byte[] before = File.ReadAllBytes(library);

        var (ok, engine) = Run(library, system, "GLIBCXX_3.4.32");

        Assert.That(ok, Is.True);
        Assert.That(engine.Messages.Single(), Does.Contain("nothing to do"));
        Assert.That(File.ReadAllBytes(library), Is.EqualTo(before));
    }

    [Test]
    public void Execute_MissingVersionNotOnTheAllowedList_WarnsAndDoesNotPatch()
    {
        var (library, system) = WriteLibraries("GLIBCXX_3.4");
        byte[] before = File.ReadAllBytes(library);

        var (ok, engine) = Run(library, system, "GLIBCXX_3.4.32");

        Assert.That(ok, Is.True);
        Assert.That(engine.Warnings.Single(), Does.Contain("GLIBCXX_3.4.30"));
        Assert.That(ElfVersionNeeds.ReadRequirements(library).Single(r => r.Name == "GLIBCXX_3.4.30").IsWeak, Is.False);
        Assert.That(ElfVersionNeeds.ReadRequirements(library).Single(r => r.Name == "GLIBCXX_3.4.32").IsWeak, Is.True);
        Assert.That(File.ReadAllBytes(library), Is.Not.EqualTo(before));
    }

    [Test]
    public void Execute_CorruptLibrary_FailsTheBuildWithTheFileNamedAndLeavesIt()
    {
        var (library, system) = WriteLibraries("GLIBCXX_3.4", "GLIBCXX_3.4.30");
        byte[] truncated = File.ReadAllBytes(library)[..100];
        File.WriteAllBytes(library, truncated);

        var (ok, engine) = Run(library, system, "GLIBCXX_3.4.32");

        Assert.That(ok, Is.False);
        Assert.That(engine.Errors.Single(), Does.Contain(library).And.Contain("left unchanged"));
        Assert.That(File.ReadAllBytes(library), Is.EqualTo(truncated));
    }

    private sealed class RecordingBuildEngine : IBuildEngine
    {
        public List<string> Messages { get; } = [];

        public List<string> Warnings { get; } = [];

        public List<string> Errors { get; } = [];

        public bool ContinueOnError => false;

        public int LineNumberOfTaskNode => 0;

        public int ColumnNumberOfTaskNode => 0;

        public string ProjectFileOfTaskNode => "test.proj";

        public bool BuildProjectFile(string projectFileName, string[] targetNames, IDictionary globalProperties, IDictionary targetOutputs) => throw new NotSupportedException();

        public void LogCustomEvent(CustomBuildEventArgs e) { }

        public void LogErrorEvent(BuildErrorEventArgs e) => Errors.Add(e.Message ?? string.Empty);

        public void LogMessageEvent(BuildMessageEventArgs e) => Messages.Add(e.Message ?? string.Empty);

        public void LogWarningEvent(BuildWarningEventArgs e) => Warnings.Add(e.Message ?? string.Empty);
    }
}
