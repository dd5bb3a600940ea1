#!/usr/bin/env bash
# Runs the identical MoCo v2 step in PyTorch (Debian's python3-torch) and in this library (bare loop and
# FinetuneEngine), with the same thread count, and prints the ratios. Needs python3-torch,
# python3-torchvision and, for PyTorch at its best, libopenblas0-pthread:
#   sudo apt-get install python3-torch python3-torchvision libopenblas0-pthread
#   bash benchmarks/peer/compare.sh [threads] [steps per round] [rounds]
# The two implementations alternate, process by process, for [rounds] rounds (a shared virtual machine's
# speed drifts by 20% between minutes, so back-to-back blocks would compare the drift); each round times
# [steps] steps after a warm-up, and the ratios compare medians over rounds.
set -euo pipefail
cd "$(dirname "$0")/../.."
threads="${1:-2}"
steps="${2:-15}"
rounds="${3:-6}"

dotnet build -c Release benchmarks/UnsupervisedFinetuning.Benchmarks > /dev/null
results="$(mktemp)"
trap 'rm -f "$results"' EXIT
for ((round = 1; round <= rounds; round++)); do
  order=""
  if ((round % 2 == 0)); then order="--engine-first"; fi
  ours="$(dotnet run -c Release --no-build --project benchmarks/UnsupervisedFinetuning.Benchmarks -- peer --threads "$threads" --steps "$steps" --warmup 5 --rounds 1 $order | tail -n 1)"
  theirs="$(/usr/bin/python3 benchmarks/peer/moco_step.py --threads "$threads" --steps "$steps" --warmup 5 --rounds 1 | tail -n 1)"
  echo "$ours" >> "$results"
  echo "$theirs" >> "$results"
done

/usr/bin/python3 - "$results" <<'PY'
import json, statistics, sys
lines = [json.loads(l) for l in open(sys.argv[1])]
ours, theirs = lines[0::2], lines[1::2]
for i, (o, t) in enumerate(zip(ours, theirs), 1):
    print(f"round {i}: bare {o['bare_ms_per_step']:.1f}  engine {o['engine_ms_per_step']:.1f}  PyTorch {t['ms_per_step']:.1f} ms/step")
bare = statistics.median(o["bare_ms_per_step"] for o in ours)
engine = statistics.median(o["engine_ms_per_step"] for o in ours)
torch = statistics.median(t["ms_per_step"] for t in theirs)
print(f"medians: bare TorchSharp {bare:.1f}, FinetuneEngine {engine:.1f}, {theirs[0]['implementation']} {torch:.1f} ms/step "
      f"({ours[0]['implementation']}, {ours[0]['threads']} threads, {ours[0]['gflop_per_step']} GFLOP/step)")
print(f"bare TorchSharp / PyTorch = {bare / torch:.3f}")
print(f"FinetuneEngine / PyTorch  = {engine / torch:.3f}")
print(f"FinetuneEngine / bare     = {engine / bare:.3f}")
paired = lambda f: statistics.median(f(o, t) for o, t in zip(ours, theirs))
print(f"paired medians (ratio within each round): bare / PyTorch {paired(lambda o, t: o['bare_ms_per_step'] / t['ms_per_step']):.3f}, "
      f"engine / PyTorch {paired(lambda o, t: o['engine_ms_per_step'] / t['ms_per_step']):.3f}, "
      f"engine / bare {paired(lambda o, t: o['engine_ms_per_step'] / o['bare_ms_per_step']):.3f}")
print(f"FinetuneEngine achieves {ours[0]['gflop_per_step'] / (engine / 1000):.1f} GFLOP/s")
PY
