namespace UnsupervisedFinetuning.Fuzzing;

/// <summary>
/// One reader of untrusted files under fuzzing: valid seed files to mutate, how to mutate them, how to read
/// a file the way a user's call would, and the exceptions its documentation promises for a bad file.
/// </summary>
/// <param name="Name">Short name (used on the command line and in reports).</param>
/// <param name="FileName">The name each case's file gets (its extension can matter to the reader).</param>
/// <param name="Seeds">Valid files.</param>
/// <param name="Mutate">Makes a case from a seed.</param>
/// <param name="Read">Reads the file at the path as a user's call would, disposing what it got.</param>
/// <param name="Documented">Exception types the reader documents for a bad file.</param>
internal sealed record FuzzTarget(
    string Name,
    string FileName,
    IReadOnlyList<byte[]> Seeds,
    Func<byte[], Random, byte[]> Mutate,
    Action<string> Read,
    IReadOnlyList<Type> Documented);
