namespace UnsupervisedFinetuning.Cli;

/// <summary>The structured values of a log entry (what <c>[LoggerMessage]</c> passes as its state), read by name.</summary>
internal static class LogValues
{
    /// <summary>The value of the placeholder <paramref name="name"/>, or null when the entry has none.</summary>
    public static object? Get(IReadOnlyList<KeyValuePair<string, object?>> values, string name)
    {
        foreach (var (key, value) in values)
        {
            if (key == name)
            {
                return value;
            }
        }

        return null;
    }
}
