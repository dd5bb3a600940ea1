using Microsoft.Extensions.Logging;

namespace UnsupervisedFinetuning.Cli;

/// <summary>
/// Counts what the data readers left out, from their log events — files with other extensions (event 1002),
/// unreadable images skipped (1001) or replaced in a batch (1003), folders reached twice through links (1004) —
/// so a run's screen says how many files were not used and why, instead of leaving it to <c>log.txt</c>.
/// </summary>
internal sealed class LeftOutFiles
{
    private readonly object _gate = new();
    private readonly List<string> _examples = [];
    private int _otherExtensions;
    private int _unreadable;
    private int _folders;

    /// <summary>Books one log event (any event; only the data readers' are counted).</summary>
    public void Observe(EventId id, IReadOnlyList<KeyValuePair<string, object?>> values)
    {
        lock (_gate)
        {
            switch (id.Id)
            {
                case 1002:
                    _otherExtensions += LogValues.Get(values, "Count") is int count ? count : 1;
                    if (_examples.Count < 3 && LogValues.Get(values, "Examples") is string examples)
                    {
                        _examples.AddRange(examples.Split(", ").Take(3 - _examples.Count));
                    }

                    break;
                case 1001 or 1003:
                    _unreadable++;
                    break;
                case 1004:
                    _folders++;
                    break;
            }
        }
    }

    /// <summary>"left out: 2 files that are not images (e.g. notes.txt), 1 unreadable image — log.txt names each", or null when nothing was.</summary>
    public string? Summary()
    {
        lock (_gate)
        {
            var parts = new List<string>();
            if (_otherExtensions > 0)
            {
                parts.Add($"{_otherExtensions} file{(_otherExtensions == 1 ? "" : "s")} that {(_otherExtensions == 1 ? "is" : "are")} not an image by extension, or not in a class folder (e.g. {string.Join(", ", _examples.Select(ConsoleText.Printable))})");
            }

            if (_unreadable > 0)
            {
                parts.Add($"{_unreadable} unreadable image{(_unreadable == 1 ? "" : "s")} (--skip-unreadable)");
            }

            if (_folders > 0)
            {
                parts.Add($"{_folders} folder{(_folders == 1 ? "" : "s")} reached again through a symbolic link");
            }

            return parts.Count == 0 ? null : $"left out: {string.Join("; ", parts)}. log.txt names each.";
        }
    }
}
