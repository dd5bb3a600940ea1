using Microsoft.Extensions.Logging;

namespace UnsupervisedFinetuning.Engine;

/// <summary>The engine's log messages (source-generated).</summary>
internal static partial class EngineLog
{
    [LoggerMessage(EventId = 2001, Level = LogLevel.Information,
        Message = "Finetuning started: {Method}, {TotalSteps} steps, {TargetCount} target + {ReplayCount} replayed source images, batch {BatchSize}, mixing {Mixing}, device {Device}")]
    public static partial void Started(ILogger logger, string method, long totalSteps, int targetCount, int replayCount, int batchSize, string mixing, string device);

    [LoggerMessage(EventId = 2002, Level = LogLevel.Information,
        Message = "Epoch {Epoch}: {Steps} steps, mean loss {Loss:F4}, learning rate {LearningRate:G3}, {ImagesPerSecond:F0} images/s")]
    public static partial void EpochDone(ILogger logger, int epoch, int steps, double loss, double learningRate, double imagesPerSecond);

    [LoggerMessage(EventId = 2003, Level = LogLevel.Warning, Message = "Step {Step}: loss {Loss} is not finite; the update was skipped")]
    public static partial void SkippedNonFinite(ILogger logger, long step, double loss);

    [LoggerMessage(EventId = 2004, Level = LogLevel.Information, Message = "Checkpoint written: {Path} (after step {Step})")]
    public static partial void CheckpointWritten(ILogger logger, string path, long step);

    [LoggerMessage(EventId = 2005, Level = LogLevel.Information, Message = "Resumed from {Path} after step {Step}")]
    public static partial void Resumed(ILogger logger, string path, long step);

    [LoggerMessage(EventId = 2006, Level = LogLevel.Information, Message = "Finetuning cancelled after step {Step}")]
    public static partial void Cancelled(ILogger logger, long step);

    [LoggerMessage(EventId = 2008, Level = LogLevel.Information,
        Message = "Monitor at step {Step}: RankMe {RankMe:F1}, uniformity {Uniformity:F3}, alignment {Alignment:F3}, source CKA {SourceCka:F3}, source neighbours kept {SourceNeighbourhoods:F3}, validation kNN {ValidationKnn:P1}; score {Score:G4} (best at step {BestStep}); {Seconds:F2} s")]
    public static partial void Monitored(ILogger logger, long step, double rankMe, double uniformity, double? alignment, double? sourceCka, double? sourceNeighbourhoods, double? validationKnn, double score, long? bestStep, double seconds);

    [LoggerMessage(EventId = 2009, Level = LogLevel.Information, Message = "Monitoring every {Interval} steps on {TargetImages} target, {SourceImages} source and {ValidationImages} labelled images ({ImagesPerPoint} forward passes a point); criterion {Criterion}")]
    public static partial void MonitoringPlanned(ILogger logger, int interval, int targetImages, int sourceImages, int validationImages, long imagesPerPoint, string criterion);

    [LoggerMessage(EventId = 2010, Level = LogLevel.Information, Message = "Stopping early after step {Step}: {Criterion} has not improved for {Patience} monitor points since step {BestStep}")]
    public static partial void StoppedEarly(ILogger logger, long step, string criterion, int patience, long? bestStep);

    [LoggerMessage(EventId = 2011, Level = LogLevel.Information, Message = "Restored the backbone of step {Step}, the best by {Criterion} (score {Score:G4})")]
    public static partial void RestoredBest(ILogger logger, long step, string criterion, double score);

    [LoggerMessage(EventId = 2012, Level = LogLevel.Information, Message = "Precision {Requested}: convolutions and linear layers compute in {Resolved} ({Reason})")]
    public static partial void PrecisionChosen(ILogger logger, string requested, string resolved, string reason);

    [LoggerMessage(EventId = 2013, Level = LogLevel.Warning, Message = "BFloat16 is emulated on this device ({Reason}): expect steps several times slower than Float32; Precision = Auto picks Float32 here")]
    public static partial void PrecisionEmulated(ILogger logger, string reason);

    [LoggerMessage(EventId = 2014, Level = LogLevel.Warning, Message = "Backbone {Backbone} is not one of the library's backbones: it computes in Float32; only the projection head and predictor compute in {Precision}")]
    public static partial void PrecisionNotApplied(ILogger logger, string backbone, string precision);

    [LoggerMessage(EventId = 2015, Level = LogLevel.Warning, Message = "CPU convolutions: {Reason}")]
    public static partial void OneDnnDefect(ILogger logger, string reason);

    [LoggerMessage(EventId = 2016, Level = LogLevel.Warning,
        Message = "Schedule extended from {PreviousSteps} to {TotalSteps} steps after step {Step}: from step {NextStep} the learning rate follows the {TotalSteps}-step schedule ({NextRate:G3} now, {PreviousRate:G3} on the old one) and decays to the minimum at step {TotalSteps}; the result differs from a run started with {TotalSteps} steps")]
    public static partial void ScheduleExtended(ILogger logger, long previousSteps, long totalSteps, long step, long nextStep, double nextRate, double previousRate);

    [LoggerMessage(EventId = 2007, Level = LogLevel.Information, Message = "Finetuning finished: {Steps} steps in {Seconds:F1} s")]
    public static partial void Finished(ILogger logger, long steps, double seconds);
}
