using System.Buffers.Binary;
using System.Globalization;
using System.Text;

namespace UnsupervisedFinetuning.Cli;

/// <summary>
/// Writes an N × D float32 feature matrix row block by row block, as NumPy <c>.npy</c> (format 1.0: magic,
/// header dict <c>{'descr': '&lt;f4', 'fortran_order': False, 'shape': (N, D), }</c> padded with spaces to a
/// multiple of 64 bytes, then little-endian row-major data — what <c>numpy.load</c> reads) or as CSV (a header
/// <c>path,f0,…,f{D−1}</c>, then one row per image with its file path). The file appears only when complete:
/// rows go to a temporary file that is renamed at the end.
/// </summary>
internal sealed class FeatureFile : IDisposable
{
    private readonly string _path;
    private readonly string _temporary;
    private readonly Stream _stream;
    private readonly StreamWriter? _csv;
    private readonly long _rows;
    private readonly int _columns;
    private long _written;
    private bool _completed;

    public FeatureFile(string path, long rows, int columns)
    {
        _path = path;
        _rows = rows;
        _columns = columns;
        IsCsv = path.EndsWith(".csv", StringComparison.OrdinalIgnoreCase);
        _temporary = path + ".tmp";
        _stream = new FileStream(_temporary, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 20);
        if (IsCsv)
        {
            _csv = new StreamWriter(_stream, new UTF8Encoding(false));
            _csv.WriteLine("path," + string.Join(',', Enumerable.Range(0, columns).Select(c => "f" + c.ToString(CultureInfo.InvariantCulture))));
        }
        else
        {
            _stream.Write(NpyHeader(rows, columns));
        }
    }

    public bool IsCsv { get; }

    /// <summary>The supported extensions, for the error message.</summary>
    public static bool IsSupported(string path) => path.EndsWith(".npy", StringComparison.OrdinalIgnoreCase) || path.EndsWith(".csv", StringComparison.OrdinalIgnoreCase);

    /// <summary>The header of a 2-D little-endian float32 array: 10 bytes of preamble plus the dict, a multiple of 64 in all.</summary>
    public static byte[] NpyHeader(long rows, int columns)
    {
        string dict = string.Create(CultureInfo.InvariantCulture, $"{{'descr': '<f4', 'fortran_order': False, 'shape': ({rows}, {columns}), }}");
        int total = 10 + dict.Length + 1;                  // magic (6) + version (2) + length (2) + dict + '\n'
        int padded = (total + 63) / 64 * 64;
        string header = dict + new string(' ', padded - total) + "\n";
        var bytes = new byte[padded];
        ReadOnlySpan<byte> magic = [0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y'];
        magic.CopyTo(bytes);
        bytes[6] = 1;                                      // format version 1.0
        bytes[7] = 0;
        BinaryPrimitives.WriteUInt16LittleEndian(bytes.AsSpan(8), (ushort)header.Length);
        Encoding.ASCII.GetBytes(header, bytes.AsSpan(10));
        return bytes;
    }

    /// <summary>Appends rows (<paramref name="values"/> is rows × D, row-major) with the files they describe.</summary>
    public void Append(ReadOnlySpan<float> values, IReadOnlyList<string> files)
    {
        if (values.Length != files.Count * _columns)
        {
            throw new ArgumentException($"{files.Count} rows of {_columns} features need {files.Count * _columns} values; got {values.Length}.", nameof(values));
        }

        if (_csv is not null)
        {
            var line = new StringBuilder();
            for (int row = 0; row < files.Count; row++)
            {
                line.Clear().Append(Quote(files[row]));
                foreach (float v in values.Slice(row * _columns, _columns))
                {
                    line.Append(',').Append(v.ToString("R", CultureInfo.InvariantCulture));
                }

                _csv.WriteLine(line);
            }
        }
        else
        {
            var buffer = new byte[values.Length * 4];
            for (int i = 0; i < values.Length; i++)
            {
                BinaryPrimitives.WriteSingleLittleEndian(buffer.AsSpan(4 * i), values[i]);
            }

            _stream.Write(buffer);
        }

        _written += files.Count;
    }

    /// <summary>Flushes and moves the file into place; before this, nothing exists at the path.</summary>
    public void Complete()
    {
        if (_written != _rows)
        {
            throw new InvalidOperationException($"{_written} of {_rows} rows were written.");
        }

        _csv?.Dispose(); // flushes, then closes the stream under it
        _stream.Dispose();
        File.Move(_temporary, _path, overwrite: true);
        _completed = true;
    }

    public void Dispose()
    {
        _csv?.Dispose();
        _stream.Dispose();
        if (!_completed && File.Exists(_temporary))
        {
            File.Delete(_temporary);
        }
    }

    private static string Quote(string value) =>
        value.IndexOfAny([',', '"', '\n', '\r']) < 0 ? value : "\"" + value.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"";
}
