// Draws the packages' icon (src/Build/PackageIcon.png, 128×128): a large source domain and a small target domain
// that overlaps it — finetuning on the target while keeping the source — on a rounded dark tile.
//
//     dotnet run src/Build/PackageIcon.cs -- src/Build/PackageIcon.png
//
// A .NET 10 file-based program with no packages: shapes are sampled 4×4 per pixel (anti-aliased), the PNG is
// written by hand (8-bit RGBA, one zlib stream, CRC-32 per chunk), so the same bytes come out on every machine.
using System.Buffers.Binary;
using System.IO.Compression;
using System.Text;

const int Size = 128;
const int Samples = 4;
string path = args.Length > 0 ? args[0] : "PackageIcon.png";

var tile = new Shape(Rgba(0x1E, 0x2A, 0x4A, 1.0), (x, y) => InRoundedSquare(x, y, 4, 124, 22));
var source = new Shape(Rgba(0x4F, 0xC3, 0xF7, 0.90), (x, y) => InCircle(x, y, 54, 58, 36));
var target = new Shape(Rgba(0xFF, 0xB7, 0x4D, 0.85), (x, y) => InCircle(x, y, 84, 80, 26));
var replayed = new Shape(Rgba(0xFF, 0xFF, 0xFF, 0.95), (x, y) =>
    InCircle(x, y, 36, 46, 4.5) || InCircle(x, y, 50, 36, 4.5) || InCircle(x, y, 34, 68, 4.5) || InCircle(x, y, 70, 72, 4.5));
Shape[] layers = [tile, source, target, replayed];

var rgba = new byte[Size * Size * 4];
for (int py = 0; py < Size; py++)
{
    for (int px = 0; px < Size; px++)
    {
        // Average the composited colour (premultiplied) over the sub-pixel samples.
        double r = 0, g = 0, b = 0, a = 0;
        for (int sy = 0; sy < Samples; sy++)
        {
            for (int sx = 0; sx < Samples; sx++)
            {
                double x = px + (sx + 0.5) / Samples, y = py + (sy + 0.5) / Samples;
                double cr = 0, cg = 0, cb = 0, ca = 0;
                foreach (var layer in layers)
                {
                    if (!layer.Contains(x, y))
                    {
                        continue;
                    }

                    var c = layer.Colour; // "over" in premultiplied form
                    cr = (c.R * c.A) + (cr * (1 - c.A));
                    cg = (c.G * c.A) + (cg * (1 - c.A));
                    cb = (c.B * c.A) + (cb * (1 - c.A));
                    ca = c.A + (ca * (1 - c.A));
                }

                r += cr; g += cg; b += cb; a += ca;
            }
        }

        const double n = Samples * Samples;
        r /= n; g /= n; b /= n; a /= n;
        int at = ((py * Size) + px) * 4;
        rgba[at] = ToByte(a > 0 ? r / a : 0);
        rgba[at + 1] = ToByte(a > 0 ? g / a : 0);
        rgba[at + 2] = ToByte(a > 0 ? b / a : 0);
        rgba[at + 3] = ToByte(a);
    }
}

File.WriteAllBytes(path, Png(rgba, Size, Size));
Console.WriteLine($"wrote {path} ({Size}×{Size}, {new FileInfo(path).Length} bytes)");

static Colour Rgba(int r, int g, int b, double a) => new(r / 255.0, g / 255.0, b / 255.0, a);

static byte ToByte(double v) => (byte)Math.Clamp(Math.Round(v * 255), 0, 255);

static bool InCircle(double x, double y, double cx, double cy, double radius) =>
    ((x - cx) * (x - cx)) + ((y - cy) * (y - cy)) <= radius * radius;

static bool InRoundedSquare(double x, double y, double from, double to, double radius)
{
    if (x < from || x > to || y < from || y > to)
    {
        return false;
    }

    double nx = Math.Clamp(x, from + radius, to - radius), ny = Math.Clamp(y, from + radius, to - radius);
    return InCircle(x, y, nx, ny, radius);
}

static byte[] Png(byte[] rgba, int width, int height)
{
    var raw = new MemoryStream();
    for (int y = 0; y < height; y++)
    {
        raw.WriteByte(0); // filter: none
        raw.Write(rgba, y * width * 4, width * 4);
    }

    var compressed = new MemoryStream();
    using (var z = new ZLibStream(compressed, CompressionLevel.SmallestSize, leaveOpen: true))
    {
        raw.Position = 0;
        raw.CopyTo(z);
    }

    var header = new byte[13];
    BinaryPrimitives.WriteInt32BigEndian(header, width);
    BinaryPrimitives.WriteInt32BigEndian(header.AsSpan(4), height);
    header[8] = 8;  // bits per channel
    header[9] = 6;  // colour type: RGBA
    var png = new MemoryStream();
    png.Write([0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A]);
    Chunk(png, "IHDR", header);
    Chunk(png, "IDAT", compressed.ToArray());
    Chunk(png, "IEND", []);
    return png.ToArray();
}

static void Chunk(Stream png, string type, byte[] data)
{
    Span<byte> word = stackalloc byte[4];
    BinaryPrimitives.WriteInt32BigEndian(word, data.Length);
    png.Write(word);
    byte[] typeAndData = [.. Encoding.ASCII.GetBytes(type), .. data];
    png.Write(typeAndData);
    BinaryPrimitives.WriteUInt32BigEndian(word, Crc32(typeAndData));
    png.Write(word);
}

static uint Crc32(byte[] bytes)
{
    uint crc = 0xFFFFFFFF;
    foreach (byte b in bytes)
    {
        crc ^= b;
        for (int k = 0; k < 8; k++)
        {
            crc = (crc & 1) != 0 ? 0xEDB88320 ^ (crc >> 1) : crc >> 1;
        }
    }

    return ~crc;
}

internal readonly record struct Colour(double R, double G, double B, double A);

internal sealed record Shape(Colour Colour, Func<double, double, bool> Contains);
