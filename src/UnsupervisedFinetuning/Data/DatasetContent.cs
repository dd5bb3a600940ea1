using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;
using static TorchSharp.torch;

namespace UnsupervisedFinetuning.Data;

/// <summary>
/// A SHA-256 of what a dataset holds, for the resume fingerprint: a resume with other images of the same count and
/// shape must be refused, not silently continue a run on data it was not started with.
/// <list type="bullet">
/// <item>in memory: the pixels themselves (≈ 1–2 GB/s);</item>
/// <item>files on disk: each file's path relative to the folder all of them share, its size and its modification
/// time — the pixels are not read (a source of a million files costs a million stat calls, ≈ 1–2 s), and the data may
/// move to another folder without breaking a resume;</item>
/// <item>subsets, concatenations and label views: their indices and labels plus what they are views of.</item>
/// </list>
/// A dataset type of the caller's own has no fingerprint (null): only its count and shape are compared.
/// </summary>
internal static class DatasetContent
{
    /// <summary>The hex SHA-256 of the dataset's content, or null for a type this library does not know.</summary>
    public static string? Fingerprint(IImageDataset data)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        return Append(hash, data) ? Convert.ToHexStringLower(hash.GetHashAndReset()) : null;
    }

    private static bool Append(IncrementalHash hash, IImageDataset data)
    {
        AppendText(hash, data.GetType().Name);
        AppendInt(hash, data.Count);
        AppendText(hash, data.Shape.ToString());
        if (data is ILabeledImageDataset labelled)
        {
            for (int i = 0; i < labelled.Count; i++)
            {
                AppendInt(hash, labelled.GetLabel(i));
            }
        }

        switch (data)
        {
            case InMemoryImageDataset memory:
                AppendPixels(hash, memory.Images);
                return true;
            case ImageFileDataset files:
                AppendFiles(hash, files.Files);
                return true;
            case LabeledImageFileDataset labelledFiles:
                return Append(hash, labelledFiles.Images);
            case SubsetDataset subset:
                foreach (int index in subset.Indices)
                {
                    AppendInt(hash, index);
                }

                return Append(hash, subset.Parent);
            case ConcatDataset concat:
                return concat.Parts.All(part => Append(hash, part));
            case UnlabeledView view:
                return Append(hash, view.Inner);
            case RelabeledDataset relabelled:
                return Append(hash, relabelled.Inner);
            default:
                return false;
        }
    }

    private static void AppendPixels(IncrementalHash hash, Tensor images)
    {
        // Row blocks of ≈ 16 MB: a span cannot cover a tensor over 2 GB, and a block never copies much.
        long count = images.shape[0];
        long rowBytes = Math.Max(1, images.numel() / Math.Max(1, count));
        long rows = Math.Max(1, (1 << 24) / rowBytes);
        for (long start = 0; start < count; start += rows)
        {
            using var block = images.narrow(0, start, Math.Min(rows, count - start)).contiguous();
            hash.AppendData(block.bytes);
        }
    }

    private static void AppendFiles(IncrementalHash hash, IReadOnlyList<string> files)
    {
        string root = CommonFolder(files);
        foreach (string file in files)
        {
            var info = new FileInfo(file);
            AppendText(hash, Path.GetRelativePath(root, file));
            AppendInt(hash, info.Exists ? info.Length : -1);
            AppendInt(hash, info.Exists ? info.LastWriteTimeUtc.Ticks : 0);
        }
    }

    /// <summary>The deepest folder that holds every file (their paths relative to it survive moving the data).</summary>
    private static string CommonFolder(IReadOnlyList<string> files)
    {
        string common = Path.GetDirectoryName(Path.GetFullPath(files[0])) ?? string.Empty;
        foreach (string file in files)
        {
            string folder = Path.GetDirectoryName(Path.GetFullPath(file)) ?? string.Empty;
            while (common.Length > 0 && !(folder == common || folder.StartsWith(common + Path.DirectorySeparatorChar, StringComparison.Ordinal)))
            {
                common = Path.GetDirectoryName(common) ?? string.Empty;
            }
        }

        return common.Length == 0 ? Path.GetPathRoot(Path.GetFullPath(files[0])) ?? "/" : common;
    }

    private static void AppendText(IncrementalHash hash, string text)
    {
        byte[] bytes = Encoding.UTF8.GetBytes(text);
        AppendInt(hash, bytes.Length);
        hash.AppendData(bytes);
    }

    private static void AppendInt(IncrementalHash hash, long value)
    {
        Span<byte> buffer = stackalloc byte[8];
        BinaryPrimitives.WriteInt64LittleEndian(buffer, value);
        hash.AppendData(buffer);
    }
}
