namespace UnsupervisedFinetuning.IO;

/// <summary>
/// Keeps messages about bad files short and printable: native errors carry whole stack traces, and text read
/// from a corrupt file can hold anything.
/// </summary>
internal static class ExceptionText
{
    /// <summary>The exception's type and the first line of its message, at most 200 characters, control characters replaced.</summary>
    public static string Brief(Exception e)
    {
        string message = e.Message;
        int newline = message.IndexOfAny(['\r', '\n']);
        if (newline >= 0)
        {
            message = message[..newline];
        }

        return $"{e.GetType().Name}: {Printable(message, 200)}";
    }

    /// <summary>
    /// Like <see cref="Brief"/>, but an exception of our own readers, whose message already starts with
    /// <paramref name="path"/>, gives its text alone, so the wrapping message names the file once.
    /// </summary>
    public static string Detail(Exception e, string path) =>
        e is InvalidDataException && e.Message.StartsWith(path + ": ", StringComparison.Ordinal)
            ? Printable(e.Message[(path.Length + 2)..].TrimEnd('.'), 300)
            : Brief(e);

    /// <summary>Text from a file, safe to put in a message: control characters become '?', and at most <paramref name="limit"/> characters.</summary>
    public static string Printable(string text, int limit = 80)
    {
        var chars = text.Take(limit).Select(c => char.IsControl(c) || c == '\uFFFD' ? '?' : c).ToArray();
        return text.Length > limit ? new string(chars) + "…" : new string(chars);
    }
}
