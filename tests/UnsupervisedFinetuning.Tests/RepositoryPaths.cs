namespace UnsupervisedFinetuning.Tests;

/// <summary>Folders of the repository the tests run from, found above the test binaries.</summary>
internal static class RepositoryPaths
{
    /// <summary>The repository root (the folder holding UnsupervisedFinetuning.sln).</summary>
    public static string Root { get; } = FindRoot();

    /// <summary>samples/data: the shipped datasets and source model.</summary>
    public static string SampleData => Path.Combine(Root, "samples", "data");

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "UnsupervisedFinetuning.sln")))
            {
                return dir.FullName;
            }
        }

        throw new DirectoryNotFoundException("The repository root (UnsupervisedFinetuning.sln) was not found above the test binaries.");
    }
}
