namespace UnsupervisedFinetuning.Cli;

/// <summary>The command line (or the <c>--config</c> file) asks for something that cannot be done; exit code 2.</summary>
internal sealed class UsageException(string message, Exception? inner = null) : Exception(message, inner);
