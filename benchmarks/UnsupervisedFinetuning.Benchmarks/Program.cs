using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Running;
using BenchmarkDotNet.Toolchains.InProcess.Emit;

// Run all:      dotnet run -c Release --project benchmarks/UnsupervisedFinetuning.Benchmarks -- --filter '*'
// Run a class:  ... -- --filter '*MatMul*'   (add --job short for a quick look)
//
// Benchmarks run in-process: BenchmarkDotNet's out-of-process toolchain builds a generated project that
// skips Directory.Build.targets, so its copy of libLibTorchSharp.so would miss the libstdc++ load fix
// (docs/torchsharp-on-debian.md). The measured work is native libtorch code, which in-process
// hosting does not distort.
var config = ManualConfig.Create(DefaultConfig.Instance)
    .AddJob(Job.Default.WithToolchain(InProcessEmitToolchain.Instance).AsDefault());
BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args, config);
