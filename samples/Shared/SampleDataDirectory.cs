namespace UnsupervisedFinetuning.Samples;

/// <summary>
/// Finds the repository's <c>samples/data</c> folder (the one holding <c>fashion-mnist</c>) above the working
/// directory or above the program, so the samples run from the repository root, their own folder or bin/.
/// Compiled into every sample (samples/Directory.Build.props).
/// </summary>
internal static class SampleDataDirectory
{
    /// <summary>The folder, or <see langword="null"/> when none was found.</summary>
    public static DirectoryInfo? Find()
    {
        foreach (string start in new[] { Directory.GetCurrentDirectory(), AppContext.BaseDirectory })
        {
            for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
            {
                string candidate = Path.Combine(dir.FullName, "samples", "data");
                if (Directory.Exists(Path.Combine(candidate, "fashion-mnist")))
                {
                    return new DirectoryInfo(candidate);
                }
            }
        }

        return null;
    }
}
