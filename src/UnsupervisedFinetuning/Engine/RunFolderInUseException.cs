namespace UnsupervisedFinetuning.Engine;

/// <summary>
/// A run folder is locked by another run (<see cref="RunFolderLock"/>); the message names the holder — process,
/// machine, start time and command line. Nothing in the folder was changed.
/// </summary>
public sealed class RunFolderInUseException : IOException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="directory">The folder.</param>
    /// <param name="message">What happened, naming the holder.</param>
    /// <param name="inner">The operating system's refusal, if any.</param>
    public RunFolderInUseException(string directory, string message, Exception? inner = null)
        : base(message, inner)
    {
        Directory = directory;
    }

    /// <summary>The folder another run holds.</summary>
    public string Directory { get; }
}
