using System.Diagnostics;

namespace UnsupervisedFinetuning.Benchmarks;

/// <summary>
/// Runs this benchmark program again as a child process (so each measurement has its own peak resident
/// memory and a fresh heap) and returns its standard output.
/// </summary>
internal static class ChildProcess
{
    /// <summary>The child's whole standard output; throws, with that output, when the child fails.</summary>
    public static string Run(IReadOnlyList<string> arguments)
    {
        var start = new ProcessStartInfo(Environment.ProcessPath!) { RedirectStandardOutput = true, UseShellExecute = false };
        if (!Environment.ProcessPath!.EndsWith("UnsupervisedFinetuning.Benchmarks", StringComparison.Ordinal))
        {
            start.ArgumentList.Add(typeof(ChildProcess).Assembly.Location); // run through the dotnet host
        }

        foreach (string argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        using var process = Process.Start(start)!;
        string output = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        return process.ExitCode == 0 ? output : throw new InvalidOperationException($"{string.Join(' ', arguments)} failed (exit {process.ExitCode}): {output}");
    }

    /// <summary>The fields after "result" on the child's last line that starts with it; throws, with the output, when there is none.</summary>
    public static string[] ResultFields(IReadOnlyList<string> arguments)
    {
        string output = Run(arguments);
        string line = output.Split('\n').LastOrDefault(l => l.StartsWith("result ", StringComparison.Ordinal))
            ?? throw new InvalidOperationException($"{arguments[0]} printed no result: {output}");
        return line.Split(' ')[1..];
    }
}
