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
}
