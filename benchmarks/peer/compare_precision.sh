#!/usr/bin/env bash
# Mixed precision side by side: the library's MoCo v2 engine step (ResNet-18, queue 4,096, identity
# augmentation) in float32 and in mixed bfloat16, against the same step in Debian's PyTorch without and with
# torch.autocast("cpu", dtype=torch.bfloat16). Needs python3-torch and python3-torchvision:
#   sudo apt-get install python3-torch python3-torchvision libopenblas0-pthread
#   bash benchmarks/peer/compare_precision.sh [shapes, e.g. 64x96,32x224] [threads] [steps] [rounds]
# The four runs alternate process by process for [rounds] rounds; ratios compare medians over rounds.
set -euo pipefail
cd "$(dirname "$0")/../.."
shapes="${1:-128x32,64x96,32x224}"
threads="${2:-2}"
steps="${3:-5}"
rounds="${4:-3}"

dotnet build -c Release benchmarks/UnsupervisedFinetuning.Benchmarks > /dev/null
ours() { dotnet run -c Release --no-build --project benchmarks/UnsupervisedFinetuning.Benchmarks -- precision-run \
           --batch "$1" --size "$2" --precision "$3" --steps "$steps" --warmup 2 --threads "$threads" | grep '^result' | cut -d' ' -f2; }
theirs() { /usr/bin/python3 benchmarks/peer/moco_step.py --batch "$1" --size "$2" --threads "$threads" --steps "$steps" --warmup 2 --rounds 1 $3 \
           | tail -n 1 | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["ms_per_step"])'; }

for shape in ${shapes//,/ }; do
  batch="${shape%x*}"; size="${shape#*x}"
  results="$(mktemp)"
  for ((round = 1; round <= rounds; round++)); do
    echo "engine-float32 $(ours "$batch" "$size" Float32)" >> "$results"
    echo "pytorch-float32 $(theirs "$batch" "$size" "")" >> "$results"
    echo "engine-bfloat16 $(ours "$batch" "$size" BFloat16)" >> "$results"
    echo "pytorch-autocast $(theirs "$batch" "$size" --autocast)" >> "$results"
  done
  /usr/bin/python3 - "$results" "$shape" <<'PY'
import statistics, sys
rows = [l.split() for l in open(sys.argv[1])]
m = {k: statistics.median(float(v) for n, v in rows if n == k) for k in {n for n, _ in rows}}
print(f"{sys.argv[2]}: engine float32 {m['engine-float32']:.0f}, bfloat16 {m['engine-bfloat16']:.0f} ms/step "
      f"(speed-up {m['engine-float32'] / m['engine-bfloat16']:.2f}x); PyTorch float32 {m['pytorch-float32']:.0f}, "
      f"autocast {m['pytorch-autocast']:.0f} ms/step (speed-up {m['pytorch-float32'] / m['pytorch-autocast']:.2f}x); "
      f"engine/PyTorch float32 {m['engine-float32'] / m['pytorch-float32']:.2f}, bfloat16 {m['engine-bfloat16'] / m['pytorch-autocast']:.2f}")
PY
  rm -f "$results"
done
