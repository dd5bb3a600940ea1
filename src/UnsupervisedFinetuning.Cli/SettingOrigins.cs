namespace UnsupervisedFinetuning.Cli;

/// <summary>
/// Where each path setting of <c>uft finetune</c> came from — the command line, or a field of a settings file
/// (<c>--config</c>, or <c>options.json</c> on <c>--resume</c>) — so a path that does not resolve is reported as
/// "'target' in /runs/a/options.json", not as an option the user never typed. Also resolves the relative paths
/// of a settings file: against the current folder (as they always were), else against the file's own folder.
/// </summary>
internal sealed class SettingOrigins
{
    private readonly Dictionary<string, string> _fromFile = new(StringComparer.Ordinal);

    /// <summary>Settings given only on the command line.</summary>
    public SettingOrigins()
    {
    }

    /// <summary>Settings read from <paramref name="file"/>, then overridden by the command line.</summary>
    public SettingOrigins(string file)
    {
        File = System.IO.Path.GetFullPath(file);
    }

    /// <summary>The settings file, if any.</summary>
    public string? File { get; }

    /// <summary>
    /// The value a path setting takes: the command line's if given (as typed), else the file's, resolved; records
    /// which it was for <see cref="Of"/>.
    /// </summary>
    /// <param name="option">The command-line option, e.g. <c>--target</c>.</param>
    /// <param name="field">The field in the settings file, e.g. <c>target</c>.</param>
    /// <param name="commandLine">The option's value on the command line, if given.</param>
    /// <param name="file">The field's value in the file, if any.</param>
    public string? Path(string option, string field, string? commandLine, string? file)
    {
        if (commandLine is not null || file is null || File is null)
        {
            return commandLine ?? file;
        }

        _fromFile[option] = $"'{field}' in {File}";
        if (System.IO.Path.IsPathRooted(file) || Exists(file))
        {
            return file;
        }

        string besideFile = System.IO.Path.GetFullPath(System.IO.Path.Combine(System.IO.Path.GetDirectoryName(File)!, file));
        return Exists(besideFile) ? besideFile : file;
    }

    /// <summary>
    /// How a message names the setting: the option, or the field of the settings file it came from (with how to
    /// override it).
    /// </summary>
    public string Of(string option) => _fromFile.TryGetValue(option, out var origin) ? $"{origin} (give {option} to override it)" : option;

    private static bool Exists(string path) => System.IO.File.Exists(path) || Directory.Exists(path);
}
