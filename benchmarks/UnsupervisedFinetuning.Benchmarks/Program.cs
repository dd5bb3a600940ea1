using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Running;
using BenchmarkDotNet.Toolchains.InProcess.Emit;
using UnsupervisedFinetuning.Benchmarks;

// BenchmarkDotNet:  dotnet run -c Release --project benchmarks/UnsupervisedFinetuning.Benchmarks -- --filter '*'
//                   ... -- --filter '*EngineStep*' --job short
// Memory probe:     ... -- memory [--steps 1000] [--trim-every 50] [--model resnet18|smallcnn]
// PyTorch peer:     bash benchmarks/peer/compare.sh  (runs `... -- peer` and the Python script)
// Step profile:     ... -- profile [--steps 20] [--augment mocov2|none]
// IDX peak memory:  ... -- idx-memory [--mb 600] [--gzip] [--reader load|read]
// Lazy image data:  ... -- lazy-data [--files 100000] [--dir /tmp/uft-lazy] [--steps 30]
// Monitoring cost:  ... -- monitoring [--model smallcnn|resnet18] [--steps N] [--rounds 2]
// Replay selection: ... -- replay-selection [--files 100000] [--dir /tmp/uft-lazy] [--size 64] [--large-count 2500]
// Mixed precision:  ... -- precision [--shapes 128x32,64x96,32x224] [--steps 5] [--warmup 2] [--rounds 3]
//
// Benchmarks run in-process: BenchmarkDotNet's out-of-process toolchain builds a generated project that
// skips Directory.Build.targets, so its copy of libLibTorchSharp.so would miss the libstdc++ load fix
// (docs/torchsharp-on-debian.md). The measured work is native libtorch code, which in-process
// hosting does not distort.
if (args.Length > 0 && args[0] == "memory")
{
    return MemoryProbe.Run(args[1..]);
}

if (args.Length > 0 && args[0] == "idx-memory")
{
    return IdxMemoryProbe.Run(args[1..]);
}

if (args.Length > 0 && args[0] == "lazy-data")
{
    return LazyDataBenchmark.Run(args[1..]);
}

if (args.Length > 0 && args[0] == "lazy-run")
{
    return LazyDataBenchmark.RunChild(args[1..]);
}

if (args.Length > 0 && args[0] == "monitoring")
{
    return MonitoringOverhead.Run(args[1..]);
}

if (args.Length > 0 && args[0] == "replay-selection")
{
    return ReplaySelectionBenchmark.Run(args[1..]);
}

if (args.Length > 0 && args[0] == "replay-selection-run")
{
    return ReplaySelectionBenchmark.RunChild(args[1..]);
}

if (args.Length > 0 && args[0] == "precision")
{
    return PrecisionBenchmark.Run(args[1..]);
}

if (args.Length > 0 && args[0] == "precision-run")
{
    return PrecisionBenchmark.RunChild(args[1..]);
}

if (args.Length > 0 && args[0] == "profile")
{
    return StepProfile.Run(args[1..]);
}

if (args.Length > 0 && args[0] == "peer")
{
    return PeerComparison.Run(args[1..]);
}

var config = ManualConfig.Create(DefaultConfig.Instance)
    .AddJob(Job.Default.WithToolchain(InProcessEmitToolchain.Instance).AsDefault());
BenchmarkSwitcher.FromAssembly(typeof(StepWorkload).Assembly).Run(args, config);
return 0;
