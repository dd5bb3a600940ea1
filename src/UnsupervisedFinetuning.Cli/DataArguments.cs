using Microsoft.Extensions.Logging;
using UnsupervisedFinetuning.Data;

namespace UnsupervisedFinetuning.Cli;

/// <summary>
/// Images named on the command line: a folder (every image under it; for labelled data one sub-folder per
/// class) or a manifest file (.txt, .tsv, .csv: one path per line, optional label). Indexed, not decoded: a
/// command decodes what it needs when it needs it.
/// </summary>
internal static class DataArguments
{
    public static ImageFileDataset Unlabeled(string path, string optionName, ImageFolderOptions options, ILogger logger) =>
        Directory.Exists(path) ? ImageFolder.Index(path, options, logger)
        : File.Exists(path) ? ImageManifest.Read(path, options, logger)
        : throw new UsageException($"{optionName}: no folder or manifest file at {path}.");

    public static LabeledImageFileDataset Labeled(string path, string optionName, ImageFolderOptions options, ILogger logger) =>
        Directory.Exists(path) ? ImageFolder.IndexLabeled(path, options, logger)
        : File.Exists(path) ? ImageManifest.ReadLabeled(path, options, logger)
        : throw new UsageException($"{optionName}: no folder or manifest file at {path}.");
}
