using System.Runtime.InteropServices;
using Spectre.Console;
using UnsupervisedFinetuning.Cli;

// Ctrl+C (SIGINT) and SIGTERM ask the command to stop at the next step boundary: a finetuning run then writes
// its checkpoint and exits with code 130. A second Ctrl+C ends the process at once.
using var stop = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) =>
{
    if (!stop.IsCancellationRequested)
    {
        e.Cancel = true;
        stop.Cancel();
    }
};
using var terminate = PosixSignalRegistration.Create(PosixSignal.SIGTERM, context =>
{
    context.Cancel = true;
    stop.Cancel();
});

return Uft.Run(args, AnsiConsole.Console, Console.Error, stop.Token);
