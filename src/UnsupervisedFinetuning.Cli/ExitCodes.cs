namespace UnsupervisedFinetuning.Cli;

/// <summary>What <c>uft</c> returns to the shell.</summary>
internal static class ExitCodes
{
    /// <summary>The command did what was asked.</summary>
    public const int Success = 0;

    /// <summary>It failed; the cause was printed (a file that cannot be read, a run that diverged, …).</summary>
    public const int Failure = 1;

    /// <summary>The arguments are wrong; the message names the option.</summary>
    public const int Usage = 2;

    /// <summary>Stopped by Ctrl+C or SIGTERM (128 + SIGINT, the shell convention); a finetuning run left a checkpoint to resume.</summary>
    public const int Interrupted = 130;
}
