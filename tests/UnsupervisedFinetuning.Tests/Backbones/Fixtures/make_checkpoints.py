#!/usr/bin/python3
"""Writes the PyTorch checkpoints and reference outputs that the C# checkpoint-import tests load.

Run from this folder with Debian's PyTorch (packages python3-torch, python3-torchvision):

    /usr/bin/python3 make_checkpoints.py

It writes, with torch.save (zip format):
  resnet18_w16.pth               torchvision ResNet-18 (BasicBlock x [2,2,2,2], ImageNet stem) at base
                                 width 16, 5 classes: a plain state dict.
  moco_resnet18_w8_small.pth.tar a MoCo v2 training checkpoint as facebookresearch/moco saves it:
                                 {'epoch', 'arch', 'state_dict', 'optimizer'} with DataParallel keys
                                 module.encoder_q.* (backbone + MLP head fc.0/fc.2), module.encoder_k.*,
                                 module.queue, module.queue_ptr. Backbone: ResNet-18 at width 8 with the
                                 small-image stem (3x3 conv, stride 1, no max-pool).
  resnet18_w16.safetensors       the same weights as resnet18_w16.pth in the safetensors format
                                 (written here by hand from the format description; Debian 12 has no
                                 safetensors package).
  resnet34_w8.pth                torchvision ResNet-34 (BasicBlock x [3,4,6,3], ImageNet stem) at width 8.
  resnet50_w8.pth                torchvision ResNet-50 (Bottleneck x [3,4,6,3], ImageNet stem, stride on the
                                 3x3 conv as in torchvision's "v1.5") at width 8, 256 features.
  nested_with_top_level_tensor.pth
                                 {'state_dict': {'w', 'b'}, 'queue': tensor, 'epoch': 3}: a nested state dict
                                 beside a stray top-level tensor (the nested one must win).
  reference_outputs.pt           the fixed input and PyTorch's eval-mode outputs for it.

Module initialisation draws from torch's unseeded global generator, so a rerun writes different (but
self-consistent) weights and outputs. The committed ResNet-18 and MoCo files predate the ResNet-34/50 ones;
reference_outputs.pt holds the outputs of the committed files of both generations (the input is the same).

Width 16/8 keeps the files small (a full-width ResNet-18 is 45 MB) while exercising every layer type,
parameter name and the BatchNorm running statistics of the real architecture.
"""
import copy
import json
import struct

import torch
import torch.nn as nn
import torchvision
from torchvision.models.resnet import BasicBlock, Bottleneck, ResNet


class NarrowResNet(ResNet):
    """torchvision's ResNet class -- its BasicBlock, _make_layer and forward -- at another base width."""

    def __init__(self, width, num_classes, small_stem=False, block=BasicBlock, layers=(2, 2, 2, 2)):
        self._width = width
        super().__init__(block, list(layers), num_classes=num_classes)
        # torchvision hard-codes 64 stem channels; rebuild the stem and fc at the narrow width.
        if small_stem:
            self.conv1 = nn.Conv2d(3, width, kernel_size=3, stride=1, padding=1, bias=False)
            self.maxpool = nn.Identity()
        else:
            self.conv1 = nn.Conv2d(3, width, kernel_size=7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        self.fc = nn.Linear(width * 8 * block.expansion, num_classes)
        nn.init.kaiming_normal_(self.conv1.weight, mode="fan_out", nonlinearity="relu")

    def _make_layer(self, block, planes, blocks, stride=1, dilate=False):
        if planes == 64:
            self.inplanes = self._width
        return super()._make_layer(block, planes * self._width // 64, blocks, stride, dilate)


def randomise_norms(model, generator):
    """Non-trivial BN affine parameters and running statistics, so that loading them is tested."""
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            with torch.no_grad():
                m.weight.uniform_(0.5, 1.5, generator=generator)
                m.bias.normal_(0.0, 0.1, generator=generator)
    model.train()
    with torch.no_grad():
        for _ in range(3):
            model(torch.randn(8, 3, 32, 32, generator=generator))
    model.eval()


def features(model, x):
    head = model.fc
    model.fc = nn.Identity()
    with torch.no_grad():
        out = model(x)
    model.fc = head
    return out


def write_safetensors(path, state_dict):
    names = sorted(state_dict)
    header, offset, blobs = {}, 0, []
    for name in names:
        t = state_dict[name].contiguous()
        dtype = {torch.float32: "F32", torch.int64: "I64"}[t.dtype]
        data = t.numpy().tobytes()
        header[name] = {"dtype": dtype, "shape": list(t.shape), "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    header["__metadata__"] = {"format": "pt"}
    text = json.dumps(header, separators=(",", ":")).encode("utf-8")
    text += b" " * ((8 - len(text) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for blob in blobs:
            f.write(blob)


def main():
    torch.set_num_threads(1)
    generator = torch.Generator().manual_seed(20211019)
    x = torch.randn(2, 3, 32, 32, generator=generator)

    # 1. A plain torchvision-style state dict.
    plain = NarrowResNet(16, num_classes=5)
    randomise_norms(plain, generator)
    torch.save(plain.state_dict(), "resnet18_w16.pth")
    write_safetensors("resnet18_w16.safetensors", plain.state_dict())

    # 2. A MoCo v2 checkpoint (builder.py: fc replaced by Linear-ReLU-fc, encoder_k a copy, queue [dim, K]).
    encoder_q = NarrowResNet(8, num_classes=128, small_stem=True)
    dim_mlp = encoder_q.fc.weight.shape[1]
    encoder_q.fc = nn.Sequential(nn.Linear(dim_mlp, dim_mlp), nn.ReLU(), encoder_q.fc)
    randomise_norms(encoder_q, generator)
    encoder_k = copy.deepcopy(encoder_q)
    moco = nn.Module()
    moco.encoder_q = encoder_q
    moco.encoder_k = encoder_k
    moco.register_buffer("queue", nn.functional.normalize(torch.randn(128, 64, generator=generator), dim=0))
    moco.register_buffer("queue_ptr", torch.zeros(1, dtype=torch.long))
    optimizer = torch.optim.SGD(encoder_q.parameters(), lr=0.03, momentum=0.9, weight_decay=1e-4)
    state_dict = {"module." + k: v for k, v in moco.state_dict().items()}
    encoder_q.train()
    loss = encoder_q(torch.randn(4, 3, 32, 32, generator=generator)).pow(2).mean()
    loss.backward()
    optimizer.step()  # gives the optimizer state momentum buffers, as in a real checkpoint
    encoder_q.eval()
    torch.save({"epoch": 200, "arch": "resnet18", "state_dict": state_dict, "optimizer": optimizer.state_dict()},
               "moco_resnet18_w8_small.pth.tar")
    moco_features = features(NarrowResNetFromMoco(state_dict), x)

    # 3. Deeper torchvision architectures at width 8: ResNet-34 (BasicBlock) and ResNet-50 (Bottleneck).
    #    A separate generator keeps the files above unchanged when these are added.
    deep_generator = torch.Generator().manual_seed(20211020)
    resnet34 = NarrowResNet(8, num_classes=5, layers=(3, 4, 6, 3))
    resnet50 = NarrowResNet(8, num_classes=5, block=Bottleneck, layers=(3, 4, 6, 3))
    for model, name in ((resnet34, "resnet34_w8.pth"), (resnet50, "resnet50_w8.pth")):
        randomise_norms(model, deep_generator)
        torch.save(model.state_dict(), name)

    torch.save({
        "input": x,
        "resnet18_w16_features": features(plain, x),
        "resnet18_w16_logits": plain(x).detach(),
        "moco_w8_small_features": moco_features,
        "resnet34_w8_features": features(resnet34, x),
        "resnet50_w8_features": features(resnet50, x),
        "resnet50_w8_logits": resnet50(x).detach(),
    }, "reference_outputs.pt")
    write_nested_with_top_level_tensor()
    print("torch", torch.__version__, "torchvision", torchvision.__version__)


def write_nested_with_top_level_tensor():
    torch.save({"state_dict": {"w": torch.arange(6.0).reshape(2, 3), "b": torch.tensor([0.5, -0.5])},
                "queue": torch.ones(4), "epoch": 3}, "nested_with_top_level_tensor.pth")


def NarrowResNetFromMoco(state_dict):
    """The backbone a user gets from the MoCo checkpoint: encoder_q without its MLP head (as moco's lincls does)."""
    backbone = NarrowResNet(8, num_classes=128, small_stem=True)
    prefix = "module.encoder_q."
    weights = {k[len(prefix):]: v for k, v in state_dict.items()
               if k.startswith(prefix) and not k.startswith(prefix + "fc.")}
    missing, unexpected = backbone.load_state_dict(weights, strict=False)
    assert set(missing) == {"fc.weight", "fc.bias"} and not unexpected, (missing, unexpected)
    backbone.eval()
    return backbone


if __name__ == "__main__":
    main()
