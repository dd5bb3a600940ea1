namespace UnsupervisedFinetuning.Data;

/// <summary>Which label a CIFAR binary file carries, and so its record layout.</summary>
public enum CifarLabels
{
    /// <summary>CIFAR-10: 1 label byte (0–9) then 3072 pixel bytes per record.</summary>
    Cifar10,

    /// <summary>CIFAR-100 fine labels: coarse byte, fine byte (0–99), 3072 pixel bytes per record.</summary>
    Cifar100Fine,

    /// <summary>CIFAR-100 coarse labels (superclasses 0–19), same records as <see cref="Cifar100Fine"/>.</summary>
    Cifar100Coarse,
}

/// <summary>
/// Reads the binary version of CIFAR-10/100 (<c>data_batch_1.bin</c> …, <c>train.bin</c>, <c>test.bin</c>):
/// fixed-size records of label byte(s) then a 32×32 RGB image stored channel-planar (1024 R, 1024 G,
/// 1024 B), which is already the [C,H,W] layout.
/// </summary>
public static class CifarBinary
{
    private const int ImageBytes = 3 * 32 * 32;

    /// <summary>Record length in bytes for a label kind.</summary>
    public static int RecordLength(CifarLabels kind) => kind == CifarLabels.Cifar10 ? ImageBytes + 1 : ImageBytes + 2;

    /// <summary>
    /// Loads one or more batch files into one labelled RGB dataset [N,3,32,32]. Class names come from
    /// <c>batches.meta.txt</c> (CIFAR-10) or <c>fine_label_names.txt</c> / <c>coarse_label_names.txt</c>
    /// (CIFAR-100) beside the first file when present.
    /// </summary>
    /// <exception cref="InvalidDataException">A file is not a whole number of records or holds a label out of range;
    /// the message names the file, the record and the value.</exception>
    public static InMemoryLabeledImageDataset Load(CifarLabels kind, params string[] files)
    {
        TorchDevices.EnsureNativeBackend();
        ArgumentNullException.ThrowIfNull(files);
        if (files.Length == 0)
        {
            throw new ArgumentException("At least one CIFAR batch file is required.", nameof(files));
        }

        int record = RecordLength(kind);
        int classCount = kind switch
        {
            CifarLabels.Cifar10 => 10,
            CifarLabels.Cifar100Fine => 100,
            _ => 20,
        };
        int labelOffset = kind == CifarLabels.Cifar100Fine ? 1 : 0;
        int pixelOffset = kind == CifarLabels.Cifar10 ? 1 : 2;

        var contents = new List<byte[]>(files.Length);
        long total = 0;
        foreach (string file in files)
        {
            if (!File.Exists(file))
            {
                throw new FileNotFoundException($"CIFAR batch file not found: {file}", file);
            }

            // CIFAR has no header: the size on disk decides, and is checked before the file is read.
            long length = new FileInfo(file).Length;
            if (length == 0 || length % record != 0)
            {
                throw new InvalidDataException(
                    $"{file}: {length} bytes is not a whole number of {record}-byte {kind} records " +
                    $"({length / record} records and {length % record} bytes left over; truncated, or the wrong CIFAR variant?).");
            }

            byte[] bytes = File.ReadAllBytes(file);

            contents.Add(bytes);
            total += bytes.Length / record;
        }

        int count = checked((int)total);
        var pixels = new byte[(long)count * ImageBytes];
        var labels = new int[count];
        int n = 0;
        for (int f = 0; f < files.Length; f++)
        {
            byte[] bytes = contents[f];
            for (int r = 0; r < bytes.Length / record; r++, n++)
            {
                int at = r * record;
                int label = bytes[at + labelOffset];
                if (label >= classCount)
                {
                    throw new InvalidDataException($"{files[f]}: record {r} (offset {at + labelOffset}) has label {label}; {kind} labels are in [0, {classCount}).");
                }

                labels[n] = label;
                Buffer.BlockCopy(bytes, at + pixelOffset, pixels, n * ImageBytes, ImageBytes);
            }
        }

        return InMemoryLabeledImageDataset.FromBytes(pixels, new ImageShape(3, 32, 32), labels, classCount, ReadClassNames(kind, files[0], classCount));
    }

    private static string[]? ReadClassNames(CifarLabels kind, string firstFile, int classCount)
    {
        string directory = Path.GetDirectoryName(Path.GetFullPath(firstFile)) ?? ".";
        string name = kind switch
        {
            CifarLabels.Cifar10 => "batches.meta.txt",
            CifarLabels.Cifar100Fine => "fine_label_names.txt",
            _ => "coarse_label_names.txt",
        };
        string path = Path.Combine(directory, name);
        if (!File.Exists(path))
        {
            return null;
        }

        string[] names = File.ReadAllLines(path).Select(l => l.Trim()).Where(l => l.Length > 0).ToArray();
        if (names.Length != classCount)
        {
            throw new InvalidDataException($"{path}: lists {names.Length} class names; {kind} has {classCount} classes.");
        }

        return names;
    }
}
