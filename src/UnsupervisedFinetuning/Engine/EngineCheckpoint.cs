using TorchSharp;
using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Serialization;
using UnsupervisedFinetuning.Methods;
using UnsupervisedFinetuning.Monitoring;
using UnsupervisedFinetuning.Replay;
using UnsupervisedFinetuning.IO;
using static TorchSharp.torch;
using UnsupervisedFinetuning.Formats;
using UnsupervisedFinetuning.Evaluation;

namespace UnsupervisedFinetuning.Engine;

/// <summary>
/// Writes and reads a run's complete state in one file: a JSON header (counters, replay subset, epoch plan,
/// generator states, history, and the settings that must match on resume), then the weights of every
/// network of the method, the optimizer state, and the method's other state (e.g. its negative queue) as
/// named tensors, in TorchSharp's binary format. Files are written beside the target and renamed over it,
/// so a crash never leaves a torn file in place of a good one.
/// </summary>
/// <remarks>
/// Format version 4 (this one) ends with the SHA-256 of every byte before it, checked before anything is read:
/// a flipped byte anywhere, which the structural checks cannot see inside a tensor's data, is refused. Version 3
/// (without the checksum) is still read. Version 3 added the monitor points and selection counters to the header and the monitor's
/// tensors (start features of the source probe, the best backbone's weights) after the method state. Version 2
/// came with methods as modules; version 1 files (library 0.1) stored a fixed set of networks and the queue's
/// counters in the header. Older versions are refused with a message saying so.
/// </remarks>
internal static class EngineCheckpoint
{
    public const string FileName = "finetune.checkpoint";
    private const string Magic = "UnsupervisedFinetuning.Checkpoint";
    private const int Version = 4;

    /// <summary>The oldest version still read: 3, the same layout without the trailing checksum.</summary>
    private const int UncheckedVersion = 3;

    private const int ChecksumBytes = 32;

    // NaN is a legitimate value here (the mean loss of an epoch whose steps were all skipped), so the
    // header writes it as "NaN" instead of refusing it.
    private static readonly JsonSerializerOptions Json = new() { WriteIndented = false, NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals };

    public static void Save(string path, Header header, ISelfSupervisedModel model, EngineOptimizer optimizer, IReadOnlyDictionary<string, Tensor> monitorTensors)
    {
        AtomicFile.Write(path, file =>
        {
            using var stream = new HashingStream(file);
            using var writer = new BinaryWriter(stream, System.Text.Encoding.UTF8, leaveOpen: true);
            writer.Write(Magic);
            writer.Write(Version);
            writer.Write(JsonSerializer.Serialize(header, Json));
            writer.Write(model.Networks.Count);
            foreach (var (name, module) in model.Networks)
            {
                writer.Write(name);
                module.save(writer);
            }

            optimizer.Save(writer);
            var state = model.GetState();
            try
            {
                writer.Write(state.Count);
                foreach (var (name, tensor) in state)
                {
                    writer.Write(name);
                    tensor.Save(writer);
                }
            }
            finally
            {
                foreach (var tensor in state.Values)
                {
                    tensor.Dispose();
                }
            }

            writer.Write(monitorTensors.Count);
            foreach (var (name, tensor) in monitorTensors)
            {
                writer.Write(name);
                tensor.Save(writer);
            }

            writer.Flush();
            file.Write(stream.Hash()); // the trailer: SHA-256 of everything above
        });
    }

    /// <summary>
    /// Recomputes the trailing checksum of a version-4 checkpoint's bytes — for tests and the fuzzer, which forge a
    /// field and want the reader's deeper checks, not the checksum, to refuse it.
    /// </summary>
    internal static byte[] Restamp(byte[] bytes)
    {
        var copy = (byte[])bytes.Clone();
        SHA256.HashData(copy.AsSpan(0, copy.Length - ChecksumBytes), copy.AsSpan(copy.Length - ChecksumBytes));
        return copy;
    }

    /// <summary>
    /// Reads the whole file once and compares its SHA-256 with the trailer (version 4); returns the length of the
    /// content before the trailer. Costs one sequential read (≈ 1–2 GB/s with SHA extensions).
    /// </summary>
    private static long VerifyChecksum(FileStream stream, string path, int version)
    {
        if (version == UncheckedVersion)
        {
            return stream.Length;
        }

        long content = stream.Length - ChecksumBytes;
        if (content < 0)
        {
            throw new InvalidDataException($"{path}: the checkpoint is truncated (no room for its checksum).");
        }

        long resume = stream.Position;
        stream.Position = 0;
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        byte[] buffer = new byte[1 << 20];
        for (long left = content; left > 0;)
        {
            int read = stream.Read(buffer, 0, (int)Math.Min(buffer.Length, left));
            if (read == 0)
            {
                throw new InvalidDataException($"{path}: the checkpoint is truncated (it shrank while being read).");
            }

            hash.AppendData(buffer, 0, read);
            left -= read;
        }

        Span<byte> stored = stackalloc byte[ChecksumBytes];
        stream.ReadExactly(stored);
        if (!stored.SequenceEqual(hash.GetHashAndReset()))
        {
            throw new InvalidDataException($"{path}: the checkpoint's content does not match the SHA-256 it was written with: the file is truncated, or was changed or damaged after it was written. Resume from an intact copy, or start the run again.");
        }

        stream.Position = resume;
        return content;
    }

    /// <summary>A write-through stream that hashes what passes (the checkpoint's trailer).</summary>
    private sealed class HashingStream(Stream inner) : Stream
    {
        private readonly IncrementalHash _hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);

        public override bool CanRead => false;

        public override bool CanSeek => false;

        public override bool CanWrite => true;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public byte[] Hash() => _hash.GetHashAndReset();

        public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

        public override void Write(ReadOnlySpan<byte> buffer)
        {
            _hash.AppendData(buffer);
            inner.Write(buffer);
        }

        public override void Flush() => inner.Flush();

        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                _hash.Dispose();
            }

            base.Dispose(disposing);
        }
    }

    public static Header ReadHeader(string path)
    {
        if (!File.Exists(path))
        {
            throw new FileNotFoundException($"Checkpoint to resume from not found: {path}", path);
        }

        using var stream = File.OpenRead(path);
        using var reader = new BinaryReader(stream);
        return ReadHeader(reader, path, out _);
    }

    /// <summary>
    /// Loads the weights, optimizer and method state of a checkpoint whose header (and checksum) <see cref="ReadHeader(string)"/>
    /// already checked, and returns
    /// the monitor's tensors (the caller disposes them).
    /// </summary>
    public static Dictionary<string, Tensor> Load(string path, ISelfSupervisedModel model, EngineOptimizer optimizer)
    {
        using var stream = File.OpenRead(path);
        using var reader = new BinaryReader(stream);
        ReadHeader(reader, path, out long contentLength, verify: false); // ReadHeader(path) verified the checksum; once is one read of the file
        var state = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        try
        {
            int networks = reader.ReadInt32();
            if (networks != model.Networks.Count)
            {
                throw new InvalidDataException($"{path}: the checkpoint holds {networks} networks but this method has {model.Networks.Count} ({string.Join(", ", model.Networks.Select(n => n.Name))}).");
            }

            foreach (var (name, module) in model.Networks)
            {
                string stored = reader.ReadString();
                if (stored != name)
                {
                    throw new InvalidDataException($"{path}: expected the weights of '{name}' but found '{ExceptionText.Printable(stored)}'; the checkpoint was written for another method.");
                }

                TorchSharpFormat.LoadModule(reader, module, path, $"the weights of '{name}'");
            }

            optimizer.Load(reader, path);
            int count = reader.ReadInt32();
            for (int i = 0; i < count; i++)
            {
                string name = reader.ReadString();
                if (state.ContainsKey(name))
                {
                    throw new InvalidDataException($"{path}: the method state '{ExceptionText.Printable(name)}' appears twice (corrupt).");
                }

                state[name] = TorchSharpFormat.ReadTensor(reader, path);
            }

            model.LoadState(state);
            var monitor = new Dictionary<string, Tensor>(StringComparer.Ordinal);
            try
            {
                int tensors = reader.ReadInt32();
                for (int i = 0; i < tensors; i++)
                {
                    string name = reader.ReadString();
                    if (monitor.ContainsKey(name))
                    {
                        throw new InvalidDataException($"{path}: the monitor tensor '{ExceptionText.Printable(name)}' appears twice (corrupt).");
                    }

                    monitor[name] = TorchSharpFormat.ReadTensor(reader, path);
                }

                if (stream.Position != contentLength)
                {
                    throw new InvalidDataException($"{path}: {contentLength - stream.Position} bytes follow the last section (corrupt).");
                }

                return monitor;
            }
            catch
            {
                foreach (var tensor in monitor.Values)
                {
                    tensor.Dispose();
                }

                throw;
            }
        }
        catch (Exception e) when (e is EndOfStreamException or ArgumentException or FormatException or OverflowException or InvalidDataException or System.Runtime.InteropServices.ExternalException)
        {
            throw new InvalidDataException($"{path}: the checkpoint is truncated or does not fit this model ({ExceptionText.Detail(e, path)}).", e);
        }
        finally
        {
            foreach (var tensor in state.Values)
            {
                tensor.Dispose();
            }
        }
    }

    /// <summary>Reads magic, version and the JSON header; a version-4 file's checksum is verified first (the whole file).</summary>
    private static Header ReadHeader(BinaryReader reader, string path, out long contentLength, bool verify = true)
    {
        try
        {
            string magic = reader.ReadString();
            if (magic != Magic)
            {
                throw new InvalidDataException($"{path}: not an UnsupervisedFinetuning checkpoint (it starts with '{Truncate(magic)}').");
            }

            int version = reader.ReadInt32();
            if (version == 1)
            {
                throw new InvalidDataException($"{path}: checkpoint format version 1, written by UnsupervisedFinetuning 0.1 before methods became modules; this library reads version {Version} and cannot continue that run. Start it again without ResumeFrom (the finetuned backbone saved with Checkpoint.Save still loads).");
            }

            if (version == 2)
            {
                throw new InvalidDataException($"{path}: checkpoint format version 2, written before runs were monitored; this library reads version {Version} and cannot continue that run. Start it again without ResumeFrom (the finetuned backbone saved with Checkpoint.Save still loads).");
            }

            if (version != Version && version != UncheckedVersion)
            {
                throw new InvalidDataException($"{path}: checkpoint format version {version}; this library reads versions {UncheckedVersion} and {Version}.");
            }

            var file = (FileStream)reader.BaseStream;
            contentLength = !verify ? file.Length - (version == UncheckedVersion ? 0 : ChecksumBytes) : VerifyChecksum(file, path, version);
            return JsonSerializer.Deserialize<Header>(reader.ReadString(), Json)
                ?? throw new InvalidDataException($"{path}: the checkpoint header is empty.");
        }
        catch (Exception e) when (e is EndOfStreamException or JsonException or FormatException or IOException and not FileNotFoundException)
        {
            throw new InvalidDataException($"{path}: not a readable UnsupervisedFinetuning checkpoint ({ExceptionText.Brief(e)}).", e);
        }
    }

    private static string Truncate(string s) => ExceptionText.Printable(s, 40);

    /// <summary>The JSON part of a checkpoint.</summary>
    internal sealed class Header
    {
        public required Dictionary<string, string> Fingerprint { get; init; }

        public required long Step { get; init; }

        public required int Epoch { get; init; }

        public required int Position { get; init; }

        public required int[][] PlanTargets { get; init; }

        public required int[][] PlanSources { get; init; }

        public required int[] Subset { get; init; }

        public required ulong[] ReplayRandom { get; init; }

        public required ulong[] AugmentRandom { get; init; }

        public required ulong[] MixRandom { get; init; }

        public required List<EpochSummary> History { get; init; }

        public required long OnlineImagePasses { get; init; }

        public required long TargetImagePasses { get; init; }

        public required long SkippedSteps { get; init; }

        public required int EpochSteps { get; init; }

        public required int EpochCounted { get; init; }

        public required double EpochLossSum { get; init; }

        public required List<MonitorPoint> MonitorPoints { get; init; }

        public required long? BestStep { get; init; }

        public required double BestScore { get; init; }

        public required int SinceBest { get; init; }

        public required bool StoppedEarly { get; init; }

        public static Header From(TrainingState state, Dictionary<string, string> fingerprint) => new()
        {
            Fingerprint = fingerprint,
            Step = state.Step,
            Epoch = state.Epoch,
            Position = state.Position,
            PlanTargets = state.Plan?.Select(b => b.Target).ToArray() ?? [],
            PlanSources = state.Plan?.Select(b => b.Source).ToArray() ?? [],
            Subset = state.Subset,
            ReplayRandom = state.ReplayRandom.GetState(),
            AugmentRandom = state.AugmentRandom.GetState(),
            MixRandom = state.MixRandom.GetState(),
            History = [.. state.History],
            OnlineImagePasses = state.OnlineImagePasses,
            TargetImagePasses = state.TargetImagePasses,
            SkippedSteps = state.SkippedSteps,
            EpochSteps = state.EpochStatistics.Steps,
            EpochCounted = state.EpochStatistics.Counted,
            EpochLossSum = state.EpochStatistics.LossSum,
            MonitorPoints = [.. state.Monitoring.Points],
            BestStep = state.Monitoring.BestStep,
            BestScore = state.Monitoring.BestScore,
            SinceBest = state.Monitoring.SinceBest,
            StoppedEarly = state.Monitoring.StoppedEarly,
        };

        public void ApplyTo(TrainingState state)
        {
            state.Step = Step;
            state.Epoch = Epoch;
            state.Position = Position;
            state.Plan = PlanTargets.Length == 0 ? null : PlanTargets.Zip(PlanSources, (t, s) => new ReplayBatch(t, s)).ToArray();
            state.Subset = Subset;
            state.ReplayRandom = SeededRandom.FromState(ReplayRandom);
            state.AugmentRandom = SeededRandom.FromState(AugmentRandom);
            state.MixRandom = SeededRandom.FromState(MixRandom);
            state.History = [.. History];
            state.OnlineImagePasses = OnlineImagePasses;
            state.TargetImagePasses = TargetImagePasses;
            state.SkippedSteps = SkippedSteps;
            state.EpochStatistics.Steps = EpochSteps;
            state.EpochStatistics.Counted = EpochCounted;
            state.EpochStatistics.LossSum = EpochLossSum;
            state.Monitoring = new MonitorHistory
            {
                Points = [.. MonitorPoints],
                BestStep = BestStep,
                BestScore = BestScore,
                SinceBest = SinceBest,
                StoppedEarly = StoppedEarly,
            };
        }
    }
}
