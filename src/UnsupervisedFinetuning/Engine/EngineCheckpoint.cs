using System.Text.Json;
using UnsupervisedFinetuning.Objectives;
using UnsupervisedFinetuning.Replay;
using TorchSharp;

namespace UnsupervisedFinetuning.Engine;

/// <summary>
/// Writes and reads a run's complete state in one file: a JSON header (counters, replay subset, epoch plan,
/// generator states, history, and the options that must match on resume), then the weights of every
/// network, the optimizer state and the negative queue in TorchSharp's binary format. Files are written
/// beside the target and renamed over it, so a crash never leaves a torn file in place of a good one.
/// </summary>
internal static class EngineCheckpoint
{
    public const string FileName = "finetune.checkpoint";
    private const string Magic = "UnsupervisedFinetuning.Checkpoint";
    private const int Version = 1;

    private static readonly JsonSerializerOptions Json = new() { WriteIndented = false };

    public static void Save(string path, Header header, TrainingParts parts, EngineOptimizer optimizer)
    {
        AtomicFile.Write(path, stream =>
        {
            using var writer = new BinaryWriter(stream, System.Text.Encoding.UTF8, leaveOpen: true);
            writer.Write(Magic);
            writer.Write(Version);
            writer.Write(JsonSerializer.Serialize(header, Json));
            foreach (var (name, module) in parts.Modules())
            {
                writer.Write(name);
                module.save(writer);
            }

            optimizer.Save(writer);
            writer.Write(parts.Queue is not null);
            if (parts.Queue is not null)
            {
                using var keys = parts.Queue.Keys.cpu();
                keys.Save(writer);
            }

            writer.Flush();
        });
    }

    public static Header ReadHeader(string path)
    {
        using var stream = File.OpenRead(path);
        using var reader = new BinaryReader(stream);
        return ReadHeader(reader, path);
    }

    public static Header Load(string path, TrainingParts parts, EngineOptimizer optimizer)
    {
        if (!File.Exists(path))
        {
            throw new FileNotFoundException($"Checkpoint to resume from not found: {path}", path);
        }

        using var stream = File.OpenRead(path);
        using var reader = new BinaryReader(stream);
        var header = ReadHeader(reader, path);
        try
        {
            foreach (var (name, module) in parts.Modules())
            {
                string stored = reader.ReadString();
                if (stored != name)
                {
                    throw new InvalidDataException($"{path}: expected the weights of '{name}' but found '{stored}'; the checkpoint was written for another objective.");
                }

                module.load(reader, strict: true);
            }

            optimizer.Load(reader);
            bool hasQueue = reader.ReadBoolean();
            if (hasQueue != (parts.Queue is not null))
            {
                throw new InvalidDataException($"{path}: the checkpoint {(hasQueue ? "has" : "has no")} negative queue but this run {(parts.Queue is not null ? "needs one" : "uses none")}.");
            }

            if (parts.Queue is not null)
            {
                using var keys = TorchSharp.TensorExtensionMethods.Load(reader);
                parts.Queue.LoadState(new NegativeQueueState(keys, header.QueuePointer, header.QueueFilled));
            }
        }
        catch (Exception e) when (e is EndOfStreamException or ArgumentException)
        {
            throw new InvalidDataException($"{path}: the checkpoint is truncated or does not fit this model ({e.Message}).", e);
        }

        return header;
    }

    private static Header ReadHeader(BinaryReader reader, string path)
    {
        try
        {
            string magic = reader.ReadString();
            if (magic != Magic)
            {
                throw new InvalidDataException($"{path}: not an UnsupervisedFinetuning checkpoint (it starts with '{Truncate(magic)}').");
            }

            int version = reader.ReadInt32();
            if (version != Version)
            {
                throw new InvalidDataException($"{path}: checkpoint format version {version}; this library reads version {Version}.");
            }

            return JsonSerializer.Deserialize<Header>(reader.ReadString(), Json)
                ?? throw new InvalidDataException($"{path}: the checkpoint header is empty.");
        }
        catch (Exception e) when (e is EndOfStreamException or JsonException or IOException and not FileNotFoundException)
        {
            throw new InvalidDataException($"{path}: not a readable UnsupervisedFinetuning checkpoint ({e.Message}).", e);
        }
    }

    private static string Truncate(string s) => s.Length > 40 ? s[..40] + "…" : s;

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

        public required long QueryImagePasses { get; init; }

        public required long KeyImagePasses { get; init; }

        public required long SkippedSteps { get; init; }

        public required int EpochSteps { get; init; }

        public required int EpochCounted { get; init; }

        public required double EpochLossSum { get; init; }

        public required long QueuePointer { get; init; }

        public required long QueueFilled { get; init; }

        public static Header From(TrainingState state, Dictionary<string, string> fingerprint, NegativeQueue? queue) => new()
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
            QueryImagePasses = state.QueryImagePasses,
            KeyImagePasses = state.KeyImagePasses,
            SkippedSteps = state.SkippedSteps,
            EpochSteps = state.EpochSteps,
            EpochCounted = state.EpochCounted,
            EpochLossSum = state.EpochLossSum,
            QueuePointer = queue?.Pointer ?? 0,
            QueueFilled = queue?.Filled ?? 0,
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
            state.QueryImagePasses = QueryImagePasses;
            state.KeyImagePasses = KeyImagePasses;
            state.SkippedSteps = SkippedSteps;
            state.EpochSteps = EpochSteps;
            state.EpochCounted = EpochCounted;
            state.EpochLossSum = EpochLossSum;
        }
    }
}
