namespace UnsupervisedFinetuning.Cli;

/// <summary>
/// Text on its way to the terminal or the log: messages can quote a file's content (a tensor's name in a
/// checkpoint), and a control character there could recolour the terminal, move its cursor or split a log entry.
/// The library makes the text it reads from files printable; this is the tool's own last line of defence, for
/// messages of exceptions that are not the library's.
/// </summary>
internal static class ConsoleText
{
    /// <summary><paramref name="text"/> with every control character (newlines and escapes included) replaced by '?'.</summary>
    public static string Printable(string text) =>
        string.Create(text.Length, text, static (chars, source) =>
        {
            for (int i = 0; i < source.Length; i++)
            {
                chars[i] = char.IsControl(source[i]) ? '?' : source[i];
            }
        });

    /// <summary>
    /// The message of <paramref name="e"/> without what .NET adds for a programmer: an <see cref="ArgumentException"/>'s
    /// "(Parameter 'batchSize')" names a C# parameter the user never wrote (and an out-of-range one adds the value again).
    /// </summary>
    public static string Message(Exception e)
    {
        if (e is ArgumentException { ParamName: { Length: > 0 } name })
        {
            // The suffix as this runtime writes it, in its language: an empty message with the parameter's name.
            string suffix = new ArgumentException(string.Empty, name).Message;
            int at = e.Message.IndexOf(suffix, StringComparison.Ordinal);
            if (at >= 0)
            {
                return e.Message[..at].TrimEnd();
            }
        }

        return e.Message;
    }
}
