#!/usr/bin/python3
"""The PyTorch peer of benchmarks/UnsupervisedFinetuning.Benchmarks `peer`: the identical MoCo v2 step.

Random batch of 128 uint8 images 3x32x32 -> float / 255; torchvision ResNet-18 (standard stem) whose fc is
MoCo v2's MLP head 512 -> 512 -> 128; a momentum copy (m = 0.99) for the keys, without gradients; InfoNCE
(tau = 0.2) against a queue of 4,096 normalised keys; SGD (lr 0.03, momentum 0.9, wd 1e-4); EMA; enqueue.
No augmentation on either side. Run with Debian's PyTorch:  /usr/bin/python3 moco_step.py --threads 2
--batch and --size change the batch and the image size; --autocast runs both encoders' forward passes under
torch.autocast("cpu", dtype=torch.bfloat16) and the loss in float32, as the library's mixed precision does.
Prints one JSON line.
"""
import argparse
import copy
import json
import statistics
import time

import torch
import torch.nn as nn
import torch.nn.functional as F
import torchvision


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--steps", type=int, default=15)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--size", type=int, default=32)
    parser.add_argument("--autocast", action="store_true")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)

    model = torchvision.models.resnet18(num_classes=128)
    dim_mlp = model.fc.weight.shape[1]
    model.fc = nn.Sequential(nn.Linear(dim_mlp, dim_mlp), nn.ReLU(), model.fc)
    key = copy.deepcopy(model)
    for p in key.parameters():
        p.requires_grad = False
    model.train()
    key.train()
    queue = F.normalize(torch.randn(4096, 128), dim=1)
    pointer = 0
    optimizer = torch.optim.SGD(model.parameters(), lr=0.03, momentum=0.9, weight_decay=1e-4)
    batch = args.batch
    data = torch.randint(0, 256, (max(4 * batch, 256), 3, args.size, args.size), dtype=torch.uint8)
    precision = torch.autocast("cpu", dtype=torch.bfloat16, enabled=args.autocast)
    generator = torch.Generator().manual_seed(1)

    def step():
        nonlocal pointer
        index = torch.randint(0, data.shape[0], (batch,), generator=generator)
        x = data[index].float().div_(255)
        with precision:
            q = model(x)
            with torch.no_grad():
                k = key(x)
        q = F.normalize(q.float(), dim=1)  # the loss in float32
        k = F.normalize(k.float(), dim=1)
        positive = (q * k).sum(1, keepdim=True)
        negative = q @ queue.t()
        logits = torch.cat([positive, negative], 1) / 0.2
        loss = F.cross_entropy(logits, torch.zeros(batch, dtype=torch.long))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        with torch.no_grad():
            for pk, pq in zip(key.parameters(), model.parameters()):
                pk.mul_(0.99).add_(pq, alpha=0.01)
            for bk, bq in zip(key.buffers(), model.buffers()):
                bk.copy_(bq)
            queue[pointer:pointer + batch] = k
            pointer = (pointer + batch) % queue.shape[0]
        return loss.item()

    for _ in range(args.warmup):
        step()
    # Median of several short rounds, as on the C# side (a shared VM's speed drifts between rounds).
    rounds = []
    for _ in range(args.rounds):
        start = time.perf_counter()
        for _ in range(args.steps):
            step()
        rounds.append((time.perf_counter() - start) * 1000 / args.steps)
    elapsed = statistics.median(rounds)
    print(json.dumps({"implementation": f"PyTorch {torch.__version__}", "threads": args.threads, "steps": args.steps, "batch": batch, "size": args.size, "autocast": args.autocast,
                      "ms_per_step": round(elapsed, 1), "best_ms": round(min(rounds), 1), "rounds_ms": [round(r, 1) for r in rounds], "blas": torch.__config__.show().count("BLAS")}))


if __name__ == "__main__":
    main()
