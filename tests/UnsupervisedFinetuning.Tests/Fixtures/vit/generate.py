#!/usr/bin/python3
"""Writes the Vision Transformer reference fixtures (issue 29): tiny checkpoints in the DINOv2 and the
torchvision layouts, fixed inputs, and the outputs PyTorch computes for them.

Run from this folder with Debian's PyTorch (packages python3-torch, python3-torchvision):

    /usr/bin/python3 generate.py
    /usr/bin/python3 generate.py --check-dinov2 /path/to/dinov2-checkout   # optional cross-check

The DINOv2 model below is our own re-implementation of facebookresearch/dinov2's DinoVisionTransformer
(main branch, dinov2/models/vision_transformer.py and dinov2/layers/): the same module tree, so
the same state-dict names and shapes, and the same forward numerics, including interpolate_pos_encoding.
With --check-dinov2 the script imports the real package from the given folder (the folder holding
the `dinov2` package), loads each tiny state dict into it with strict=True and checks that it
reproduces every stored output.

Every .bin file is raw little-endian float32 in C (row-major) order unless manifest.json says float64;
manifest.json gives each file's shape, dtype and meaning, and the model configurations.
The script is deterministic: torch.manual_seed(0), one thread, no unseeded initialisation is kept.
"""
import argparse
import hashlib
import json
import math
import os
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
MANIFEST = {"files": {}, "models": {}}


# ----------------------------------------------------------------------------------------------------
# Writing
# ----------------------------------------------------------------------------------------------------

def save_bin(name, tensor, meaning, dtype=torch.float32):
    t = tensor.detach().to(dtype).contiguous().cpu()
    data = t.numpy().astype("<f4" if dtype == torch.float32 else "<f8").tobytes()
    with open(os.path.join(HERE, name), "wb") as f:
        f.write(data)
    MANIFEST["files"][name] = {
        "shape": list(t.shape),
        "dtype": "float32" if dtype == torch.float32 else "float64",
        "meaning": meaning,
    }


def save_state_dict(name, model, meaning):
    sd = {k: v.detach().clone().contiguous() for k, v in model.state_dict().items()}
    torch.save(sd, os.path.join(HERE, name))
    MANIFEST["files"][name] = {
        "format": "torch.save zip of an OrderedDict state dict",
        "meaning": meaning,
        "keys": {k: list(v.shape) for k, v in sd.items()},
    }


# ----------------------------------------------------------------------------------------------------
# A DINOv2-layout Vision Transformer (our own code; names, shapes and numerics follow dinov2 main)
# ----------------------------------------------------------------------------------------------------

class Variant:
    """Deliberate deviations from DINOv2, used only to show that the fixtures detect each of them."""

    def __init__(self, **kw):
        self.gelu_tanh = kw.get("gelu_tanh", False)          # tanh-approximate GELU instead of erf
        self.ln_eps = kw.get("ln_eps", 1e-6)                  # LayerNorm epsilon
        self.interp = kw.get("interp", None)                  # "other": the other hub interpolation mode
        # registers appended after the patches but the outputs sliced as DINOv2 slices them (attention
        # is permutation-equivariant, so only the slicing shows the order)
        self.registers_after_patches = kw.get("registers_after_patches", False)
        self.pos_on_registers = kw.get("pos_on_registers", False)  # registers inserted before + pos
        self.no_layerscale = kw.get("no_layerscale", False)
        self.attn_scale_full_dim = kw.get("attn_scale_full_dim", False)  # 1/sqrt(D) not 1/sqrt(D/H)
        self.qkv_head_major = kw.get("qkv_head_major", False)  # split qkv rows as [H, 3, hd]
        self.no_final_norm = kw.get("no_final_norm", False)
        self.interp_align_corners = kw.get("interp_align_corners", False)
        self.interp_bilinear = kw.get("interp_bilinear", False)
        self.interp_use_size = kw.get("interp_use_size", False)  # size=(h0,w0) even when offset != 0
        self.swap_hw = kw.get("swap_hw", False)                # interpolate with the grid sides swapped


EXACT = Variant()


class PatchEmbed(nn.Module):
    def __init__(self, patch, in_chans, dim):
        super().__init__()
        self.patch = patch
        self.proj = nn.Conv2d(in_chans, dim, kernel_size=patch, stride=patch)

    def forward(self, x):
        x = self.proj(x)                       # B, D, H/p, W/p
        return x.flatten(2).transpose(1, 2)    # B, (H/p)*(W/p), D   (row-major over the grid)


class Attention(nn.Module):
    def __init__(self, dim, heads):
        super().__init__()
        self.heads = heads
        self.qkv = nn.Linear(dim, 3 * dim, bias=True)
        self.proj = nn.Linear(dim, dim, bias=True)

    def forward(self, x, v=EXACT):
        b, n, d = x.shape
        hd = d // self.heads
        if v.qkv_head_major:
            q, k, val = self.qkv(x).reshape(b, n, self.heads, 3, hd).permute(3, 0, 2, 1, 4)
        else:
            # rows of qkv.weight: [q (heads x hd) ; k ; v]  ->  3, B, H, N, hd
            q, k, val = self.qkv(x).reshape(b, n, 3, self.heads, hd).permute(2, 0, 3, 1, 4)
        scale = (d if v.attn_scale_full_dim else hd) ** -0.5
        a = torch.softmax((q * scale) @ k.transpose(-2, -1), dim=-1)
        o = (a @ val).transpose(1, 2).reshape(b, n, d)
        return self.proj(o)


class Mlp(nn.Module):
    def __init__(self, dim, hidden):
        super().__init__()
        self.fc1 = nn.Linear(dim, hidden)
        self.act = nn.GELU()
        self.fc2 = nn.Linear(hidden, dim)

    def forward(self, x, v=EXACT):
        h = self.fc1(x)
        h = F.gelu(h, approximate="tanh") if v.gelu_tanh else F.gelu(h)
        return self.fc2(h)


class LayerScale(nn.Module):
    def __init__(self, dim, init):
        super().__init__()
        self.gamma = nn.Parameter(torch.full((dim,), float(init)))

    def forward(self, x, v=EXACT):
        return x if v.no_layerscale else x * self.gamma


def layer_norm(ln, x, v):
    return F.layer_norm(x, ln.normalized_shape, ln.weight, ln.bias, v.ln_eps)


class Block(nn.Module):
    def __init__(self, dim, heads, mlp_ratio, ls_init):
        super().__init__()
        self.norm1 = nn.LayerNorm(dim, eps=1e-6)
        self.attn = Attention(dim, heads)
        self.ls1 = LayerScale(dim, ls_init)
        self.norm2 = nn.LayerNorm(dim, eps=1e-6)
        self.mlp = Mlp(dim, int(dim * mlp_ratio))
        self.ls2 = LayerScale(dim, ls_init)

    def forward(self, x, v=EXACT):
        x = x + self.ls1(self.attn(layer_norm(self.norm1, x, v), v), v)
        x = x + self.ls2(self.mlp(layer_norm(self.norm2, x, v), v), v)
        return x


class TinyDinoV2(nn.Module):
    """DinoVisionTransformer with block_chunks=0, ffn_layer="mlp", qkv/proj/ffn biases, LayerScale on."""

    def __init__(self, img_size, patch, dim, depth, heads, mlp_ratio=4.0, registers=0, ls_init=1.0,
                 interpolate_offset=0.1, interpolate_antialias=False, in_chans=3):
        super().__init__()
        self.patch = patch
        self.registers = registers
        self.interpolate_offset = interpolate_offset
        self.interpolate_antialias = interpolate_antialias
        grid = img_size // patch
        # Parameter registration order matches DINOv2, so state_dict() lists keys in the same order:
        # cls_token, pos_embed, register_tokens, mask_token, patch_embed.*, blocks.*, norm.*
        self.cls_token = nn.Parameter(torch.zeros(1, 1, dim))
        self.pos_embed = nn.Parameter(torch.zeros(1, grid * grid + 1, dim))
        self.register_tokens = nn.Parameter(torch.zeros(1, registers, dim)) if registers else None
        self.patch_embed = PatchEmbed(patch, in_chans, dim)
        self.blocks = nn.ModuleList([Block(dim, heads, mlp_ratio, ls_init) for _ in range(depth)])
        self.norm = nn.LayerNorm(dim, eps=1e-6)
        self.head = nn.Identity()
        self.mask_token = nn.Parameter(torch.zeros(1, dim))

    # DINOv2 names the image sides (w, h) but takes them from x.shape[2], x.shape[3]: they are (H, W).
    def interpolate_pos_encoding(self, tokens, img_h, img_w, v=EXACT):
        n_patches = tokens.shape[1] - 1
        n_pos = self.pos_embed.shape[1] - 1
        if n_patches == n_pos and img_h == img_w:
            return self.pos_embed                      # the early return: no resampling at all
        pos = self.pos_embed.float()
        cls_pos, grid_pos = pos[:, 0], pos[:, 1:]
        dim = tokens.shape[-1]
        gh, gw = img_h // self.patch, img_w // self.patch
        m = int(math.sqrt(n_pos))
        assert m * m == n_pos
        offset, antialias = self.interpolate_offset, self.interpolate_antialias
        if v.interp == "other":   # the other hub mode: offset 0.1 / no antialias <-> size / antialias
            offset, antialias = (0.0, True) if offset else (0.1, False)
        if v.swap_hw:
            gh, gw = gw, gh
        kwargs = {}
        if offset and not v.interp_use_size:
            # scale_factor, not size: the output size is floor(m * s) = g, but the resampling
            # coordinates use 1/s = m / (g + offset), not m / g
            kwargs["scale_factor"] = (float(gh + offset) / m, float(gw + offset) / m)
        else:
            kwargs["size"] = (gh, gw)
        if v.interp_align_corners:
            kwargs["align_corners"] = True
        grid = F.interpolate(grid_pos.reshape(1, m, m, dim).permute(0, 3, 1, 2),
                             mode="bilinear" if v.interp_bilinear else "bicubic",
                             antialias=antialias, **kwargs)
        if v.swap_hw:
            grid = grid.transpose(-2, -1)
            gh, gw = gw, gh
        assert (gh, gw) == tuple(grid.shape[-2:])
        grid = grid.permute(0, 2, 3, 1).reshape(1, -1, dim)
        return torch.cat((cls_pos.unsqueeze(0), grid), dim=1).to(tokens.dtype)

    def prepare_tokens(self, x, v=EXACT):
        b, _, h, w = x.shape
        t = self.patch_embed(x)
        t = torch.cat((self.cls_token.expand(b, -1, -1), t), dim=1)
        if v.pos_on_registers and self.register_tokens is not None:
            # wrong: registers before the position embedding (they would need positions of their own);
            # emulate by giving them the cls position
            pos = self.interpolate_pos_encoding(t, h, w, v)
            regs = self.register_tokens.expand(b, -1, -1) + pos[:, :1]
            t = t + pos
            return torch.cat((t[:, :1], regs, t[:, 1:]), dim=1)
        t = t + self.interpolate_pos_encoding(t, h, w, v)
        if self.register_tokens is not None:
            regs = self.register_tokens.expand(b, -1, -1)
            if v.registers_after_patches:
                t = torch.cat((t, regs), dim=1)
            else:
                t = torch.cat((t[:, :1], regs, t[:, 1:]), dim=1)
        return t

    def forward_features(self, x, v=EXACT):
        t = self.prepare_tokens(x, v)
        tokens = t
        for blk in self.blocks:
            t = blk(t, v)
        tn = t if v.no_final_norm else layer_norm(self.norm, t, v)
        r = self.registers
        return {"tokens": tokens, "x_norm_clstoken": tn[:, 0], "x_norm_regtokens": tn[:, 1:1 + r],
                "x_norm_patchtokens": tn[:, 1 + r:], "x_prenorm": t}


def randomise_dinov2(model, gen):
    """Non-trivial values everywhere, so that a missing term or a wrong order changes the outputs.

    Weights are N(0, 0.02) as in DINOv2's init, except qkv and fc1, which are larger so that attention
    is far from uniform and GELU's input reaches the range where erf and tanh GELU differ.
    cls/register tokens, pos_embed and mask_token are N(0, 0.02): the class token's first LayerNorm
    then sees a variance near 1e-3, where eps 1e-6 and 1e-5 give visibly different results.
    """
    def normal(t, std, mean=0.0):
        with torch.no_grad():
            t.copy_(torch.randn(t.shape, generator=gen) * std + mean)

    for name, p in model.named_parameters():
        if name.endswith("attn.qkv.weight"):
            normal(p, 0.35)
        elif name.endswith("mlp.fc1.weight"):
            normal(p, 0.3)
        elif name.endswith("gamma"):                      # LayerScale: around 0.5, all different
            normal(p, 0.2, 0.5)
        elif ("norm" in name) and name.endswith("weight"):
            normal(p, 0.2, 1.0)
        elif ("norm" in name) and name.endswith("bias"):
            normal(p, 0.1)
        elif name.endswith("bias"):
            normal(p, 0.05)
        else:
            normal(p, 0.02)


# ----------------------------------------------------------------------------------------------------
# Attention alone, naively in float64
# ----------------------------------------------------------------------------------------------------

def naive_attention(x, w_qkv, b_qkv, w_proj, b_proj, heads):
    x, w_qkv, b_qkv, w_proj, b_proj = (t.double() for t in (x, w_qkv, b_qkv, w_proj, b_proj))
    bsz, n, d = x.shape
    hd = d // heads
    out = torch.zeros(bsz, n, d, dtype=torch.float64)
    for b in range(bsz):
        qkv = x[b] @ w_qkv.T + b_qkv                     # n, 3d
        concat = torch.zeros(n, d, dtype=torch.float64)
        for h in range(heads):
            q = qkv[:, 0 * d + h * hd: 0 * d + (h + 1) * hd]
            k = qkv[:, 1 * d + h * hd: 1 * d + (h + 1) * hd]
            v = qkv[:, 2 * d + h * hd: 2 * d + (h + 1) * hd]
            logits = (q @ k.T) / math.sqrt(hd)
            logits = logits - logits.max(dim=1, keepdim=True).values
            e = torch.exp(logits)
            a = e / e.sum(dim=1, keepdim=True)
            concat[:, h * hd:(h + 1) * hd] = a @ v
        out[b] = concat @ w_proj.T + b_proj
    return out


# ----------------------------------------------------------------------------------------------------
# Main
# ----------------------------------------------------------------------------------------------------

DIM, DEPTH, HEADS, PATCH, IMG = 32, 2, 2, 14, 56
SIZES = [(56, 56), (42, 42), (70, 70), (42, 70)]   # grids 4x4 (native), 3x3, 5x5, 3x5 (non-square)


def size_tag(h, w):
    return f"{h}" if h == w else f"{h}x{w}"


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--check-dinov2", metavar="DIR", help="folder holding the real `dinov2` package")
    args = parser.parse_args()

    torch.set_num_threads(1)
    torch.manual_seed(0)
    gen = torch.Generator().manual_seed(0)

    # --- DINOv2 layout ---------------------------------------------------------------------------
    configs = {
        # as the hub's dinov2_vit*14_reg backbones: 4 registers there, antialias=True, offset=0.0
        "dinov2_tiny_reg1": dict(registers=1, interpolate_offset=0.0, interpolate_antialias=True),
        # as the hub's dinov2_vit*14 backbones: no registers, antialias=False, offset=0.1
        "dinov2_tiny": dict(registers=0, interpolate_offset=0.1, interpolate_antialias=False),
    }
    models = {}
    for name, extra in configs.items():
        models[name] = TinyDinoV2(IMG, PATCH, DIM, DEPTH, HEADS, mlp_ratio=4.0, ls_init=1.0, **extra).eval()
    randomise_dinov2(models["dinov2_tiny_reg1"], gen)
    # The model without registers shares every other parameter with the one with a register.
    shared = {k: v for k, v in models["dinov2_tiny_reg1"].state_dict().items() if k != "register_tokens"}
    models["dinov2_tiny"].load_state_dict(shared, strict=True)

    inputs = {}
    for h, w in SIZES:
        inputs[(h, w)] = torch.randn(2, 3, h, w, generator=gen)
        save_bin(f"inputs_{size_tag(h, w)}.bin", inputs[(h, w)],
                 f"input images [B, C, H, W] = [2, 3, {h}, {w}], N(0, 1); patch grid {h // PATCH}x{w // PATCH}")

    sensitivity = {}
    for name, model in models.items():
        cfg = configs[name]
        save_state_dict(f"{name}.pth", model,
                        f"DINOv2-layout state dict: embed {DIM}, depth {DEPTH}, heads {HEADS}, patch {PATCH}, "
                        f"img_size {IMG} (pos_embed grid {IMG // PATCH}x{IMG // PATCH}), mlp_ratio 4, "
                        f"{cfg['registers']} register token(s), LayerScale on")
        MANIFEST["models"][name] = {
            "layout": "dinov2", "embed_dim": DIM, "depth": DEPTH, "num_heads": HEADS, "patch_size": PATCH,
            "img_size": IMG, "mlp_ratio": 4, "num_register_tokens": cfg["registers"],
            "interpolate_offset": cfg["interpolate_offset"], "interpolate_antialias": cfg["interpolate_antialias"],
            "layer_norm_eps": 1e-6, "gelu": "exact (erf)", "qkv_bias": True, "layerscale": True,
        }
        with torch.no_grad():
            for (h, w), x in inputs.items():
                tag = size_tag(h, w)
                out = model.forward_features(x)
                g = (h // PATCH) * (w // PATCH)
                pos = model.interpolate_pos_encoding(torch.zeros(1, 1 + g, DIM), h, w)
                save_bin(f"{name}_expected_{tag}_cls.bin", out["x_norm_clstoken"], f"{name}: x_norm_clstoken [B, D]")
                save_bin(f"{name}_expected_{tag}_patch_mean.bin", out["x_norm_patchtokens"].mean(dim=1),
                         f"{name}: x_norm_patchtokens averaged over the patches [B, D]")
                save_bin(f"{name}_expected_{tag}_patch.bin", out["x_norm_patchtokens"],
                         f"{name}: x_norm_patchtokens [B, patches, D], patches row-major over the grid")
                if cfg["registers"]:
                    save_bin(f"{name}_expected_{tag}_reg.bin", out["x_norm_regtokens"],
                             f"{name}: x_norm_regtokens [B, registers, D]")
                save_bin(f"{name}_expected_{tag}_pos_embed.bin", pos,
                         f"{name}: the position embedding added to [cls, patches] at this size [1, 1 + patches, D]"
                         + (" (the stored pos_embed itself: early return)" if g == (IMG // PATCH) ** 2 and h == w else ""))
                save_bin(f"{name}_expected_{tag}_tokens.bin", out["tokens"],
                         f"{name}: prepare_tokens_with_masks output (masks=None), before the blocks "
                         f"[B, 1 + registers + patches, D]")
                # how far each deliberate mistake moves the outputs
                for label, var in VARIANTS.items():
                    if label in ("registers_after_patches", "pos_on_registers") and not cfg["registers"]:
                        continue
                    o = model.forward_features(x, var)
                    diff = max((o["x_norm_clstoken"] - out["x_norm_clstoken"]).abs().max().item(),
                               (o["x_norm_patchtokens"].mean(1) - out["x_norm_patchtokens"].mean(1)).abs().max().item())
                    sensitivity.setdefault(label, {})[f"{name}@{tag}"] = diff

    # --- position-embedding interpolation alone ---------------------------------------------------
    interp_cases = []
    for m, dim, targets in ((4, 4, [(3, 3), (5, 5), (3, 5)]), (37, 4, [(16, 16), (16, 24), (40, 40)])):
        src = torch.randn(1, 1 + m * m, dim, generator=gen)
        save_bin(f"interp_src_{m}.bin", src, f"a pos_embed [1, 1 + {m}*{m}, {dim}] (cls position first, grid row-major)")
        holder = TinyDinoV2(m * PATCH, PATCH, dim, 0, 1)
        with torch.no_grad():
            holder.pos_embed.copy_(src)
        for offset, aa, mode in ((0.1, False, "offset0.1"), (0.0, True, "offset0_aa")):
            holder.interpolate_offset, holder.interpolate_antialias = offset, aa
            for gh, gw in targets:
                tokens = torch.zeros(1, 1 + gh * gw, dim)
                out = holder.interpolate_pos_encoding(tokens, gh * PATCH, gw * PATCH)
                fname = f"interp_{m}_to_{gh}x{gw}_{mode}.bin"
                save_bin(fname, out, f"interpolate_pos_encoding(interp_src_{m}) for a {gh * PATCH}x{gw * PATCH} "
                                     f"image (grid {gh}x{gw}), interpolate_offset={offset}, "
                                     f"interpolate_antialias={aa} [1, 1 + {gh}*{gw}, {dim}]")
                interp_cases.append(fname)

    # --- attention alone, naive float64 -------------------------------------------------------------
    att_x = torch.randn(2, 5, DIM, generator=gen)
    w_qkv = torch.randn(3 * DIM, DIM, generator=gen) * 0.35
    b_qkv = torch.randn(3 * DIM, generator=gen) * 0.1
    w_proj = torch.randn(DIM, DIM, generator=gen) * 0.2
    b_proj = torch.randn(DIM, generator=gen) * 0.1
    att_out = naive_attention(att_x, w_qkv, b_qkv, w_proj, b_proj, heads=2)
    save_bin("attention_input.bin", att_x, "attention case: input x [B=2, N=5, D=32]")
    save_bin("attention_qkv_weight.bin", w_qkv, "attention case: qkv.weight [3D, D], rows [q; k; v], each head-major")
    save_bin("attention_qkv_bias.bin", b_qkv, "attention case: qkv.bias [3D]")
    save_bin("attention_proj_weight.bin", w_proj, "attention case: proj.weight [D, D]")
    save_bin("attention_proj_bias.bin", b_proj, "attention case: proj.bias [D]")
    save_bin("attention_expected_f64.bin", att_out,
             "attention case: proj(concat_h softmax(Q_h K_h^T / sqrt(16)) V_h), 2 heads, computed naively in "
             "float64 from the float32 inputs [2, 5, 32]", dtype=torch.float64)
    # the module above computes the same thing
    att = Attention(DIM, 2)
    with torch.no_grad():
        att.qkv.weight.copy_(w_qkv), att.qkv.bias.copy_(b_qkv), att.proj.weight.copy_(w_proj), att.proj.bias.copy_(b_proj)
        diff = (att(att_x).double() - att_out).abs().max().item()
    assert diff < 1e-5, diff
    MANIFEST["attention_case_float32_module_vs_float64_naive_max_abs_diff"] = diff

    # --- torchvision layout -------------------------------------------------------------------------
    import torchvision
    from torchvision.models.vision_transformer import VisionTransformer
    tv = VisionTransformer(image_size=IMG, patch_size=PATCH, num_layers=DEPTH, num_heads=HEADS,
                           hidden_dim=DIM, mlp_dim=4 * DIM, num_classes=5).eval()
    for name, p in tv.named_parameters():
        with torch.no_grad():
            if name.endswith("in_proj_weight"):
                p.copy_(torch.randn(p.shape, generator=gen) * 0.35)
            elif name.endswith("mlp.0.weight"):
                p.copy_(torch.randn(p.shape, generator=gen) * 0.3)
            elif name.split(".")[-2:-1] in (["ln"], ["ln_1"], ["ln_2"]) and name.endswith("weight"):
                p.copy_(torch.randn(p.shape, generator=gen) * 0.2 + 1.0)
            elif name.endswith("bias"):
                p.copy_(torch.randn(p.shape, generator=gen) * 0.05)
            elif name.startswith("heads"):
                p.copy_(torch.randn(p.shape, generator=gen) * 0.2)
            else:
                p.copy_(torch.randn(p.shape, generator=gen) * 0.02)
    save_state_dict("torchvision_vit_tiny.pth", tv,
                    f"torchvision VisionTransformer(image_size={IMG}, patch_size={PATCH}, num_layers={DEPTH}, "
                    f"num_heads={HEADS}, hidden_dim={DIM}, mlp_dim={4 * DIM}, num_classes=5) state dict "
                    f"(torchvision {torchvision.__version__}: MLP keys mlp.0 / mlp.3)")
    MANIFEST["models"]["torchvision_vit_tiny"] = {
        "layout": "torchvision", "image_size": IMG, "patch_size": PATCH, "num_layers": DEPTH, "num_heads": HEADS,
        "hidden_dim": DIM, "mlp_dim": 4 * DIM, "num_classes": 5, "layer_norm_eps": 1e-6, "gelu": "exact (erf)",
        "torchvision_version": torchvision.__version__,
    }
    tv_x = inputs[(IMG, IMG)]
    with torch.no_grad():
        logits = tv(tv_x)
        t = tv._process_input(tv_x)
        t = torch.cat([tv.class_token.expand(t.shape[0], -1, -1), t], dim=1)
        enc = tv.encoder(t)                     # + pos_embedding, layers, encoder.ln
        assert torch.allclose(tv.heads(enc[:, 0]), logits)
    # torchvision's in_proj_weight has DINOv2's qkv.weight layout: the same weights in the DINOv2-layout
    # model with LayerScale 1 give the same class token
    twin = TinyDinoV2(IMG, PATCH, DIM, DEPTH, HEADS, ls_init=1.0).eval()
    tsd = tv.state_dict()
    mapped = {"cls_token": tsd["class_token"], "pos_embed": tsd["encoder.pos_embedding"],
              "mask_token": torch.zeros(1, DIM), "patch_embed.proj.weight": tsd["conv_proj.weight"],
              "patch_embed.proj.bias": tsd["conv_proj.bias"], "norm.weight": tsd["encoder.ln.weight"],
              "norm.bias": tsd["encoder.ln.bias"]}
    for i in range(DEPTH):
        src, dst = f"encoder.layers.encoder_layer_{i}.", f"blocks.{i}."
        for a, b in (("ln_1", "norm1"), ("ln_2", "norm2"), ("self_attention.out_proj", "attn.proj"),
                     ("mlp.0", "mlp.fc1"), ("mlp.3", "mlp.fc2")):
            mapped[dst + b + ".weight"], mapped[dst + b + ".bias"] = tsd[src + a + ".weight"], tsd[src + a + ".bias"]
        mapped[dst + "attn.qkv.weight"] = tsd[src + "self_attention.in_proj_weight"]
        mapped[dst + "attn.qkv.bias"] = tsd[src + "self_attention.in_proj_bias"]
        mapped[dst + "ls1.gamma"] = mapped[dst + "ls2.gamma"] = torch.ones(DIM)
    twin.load_state_dict(mapped, strict=True)
    with torch.no_grad():
        twin_diff = (twin.forward_features(tv_x)["x_norm_clstoken"] - enc[:, 0]).abs().max().item()
    assert twin_diff < 1e-5, twin_diff
    MANIFEST["torchvision_vs_dinov2_layout_same_weights_max_abs_diff"] = twin_diff
    save_bin("torchvision_expected_logits.bin", logits,
             "torchvision case: model(x) for x = inputs_56.bin, the heads output [2, 5]")
    save_bin("torchvision_expected_cls.bin", enc[:, 0], "torchvision case: class token after encoder.ln, before heads, for inputs_56.bin [2, 32]")
    save_bin("torchvision_expected_patch_mean.bin", enc[:, 1:].mean(1),
             "torchvision case: patch tokens after encoder.ln averaged over the patches [2, 32]")

    # --- optional: the real DINOv2 code reproduces the fixtures ------------------------------------
    if args.check_dinov2:
        check_dinov2(args.check_dinov2, models, configs, inputs)  # printed, not stored: the manifest stays the same

    MANIFEST["sensitivity_max_abs_change"] = sensitivity
    MANIFEST["torch_version"] = torch.__version__
    MANIFEST["torchvision_version"] = torchvision.__version__
    for label, per in sensitivity.items():
        # every deliberate mistake must move some output by far more than a float32 test tolerance (1e-5)
        assert max(per.values()) > 1e-4, (label, per)
    with open(os.path.join(HERE, "manifest.json"), "w") as f:
        json.dump(MANIFEST, f, indent=1, sort_keys=False)
        f.write("\n")
    for label, per in sensitivity.items():
        print(f"{label:28s} " + "  ".join(f"{k}={v:.1e}" for k, v in per.items()))


VARIANTS = {
    "gelu_tanh": Variant(gelu_tanh=True),
    "layernorm_eps_1e-5": Variant(ln_eps=1e-5),
    "interp_other_mode": Variant(interp="other"),
    "interp_size_not_scale": Variant(interp_use_size=True),
    "interp_align_corners": Variant(interp_align_corners=True),
    "interp_bilinear": Variant(interp_bilinear=True),
    "interp_swap_hw": Variant(swap_hw=True),
    "registers_after_patches": Variant(registers_after_patches=True),
    "pos_on_registers": Variant(pos_on_registers=True),
    "no_layerscale": Variant(no_layerscale=True),
    "attn_scale_1/sqrt(D)": Variant(attn_scale_full_dim=True),
    "qkv_split_head_major": Variant(qkv_head_major=True),
    "no_final_norm": Variant(no_final_norm=True),
}


def check_dinov2(folder, models, configs, inputs):
    sys.path.insert(0, folder)
    os.environ.setdefault("XFORMERS_DISABLED", "1")
    import warnings
    warnings.simplefilter("ignore")
    if not hasattr(F, "scaled_dot_product_attention"):
        # PyTorch < 2.0 (Debian 12 has 1.13): dinov2's Attention calls F.scaled_dot_product_attention
        def sdpa(q, k, v, attn_mask=None, dropout_p=0.0, is_causal=False):
            assert attn_mask is None and not is_causal and dropout_p == 0
            return torch.softmax((q * q.shape[-1] ** -0.5) @ k.transpose(-2, -1), dim=-1) @ v
        F.scaled_dot_product_attention = sdpa
    from dinov2.models import vision_transformer as vits
    from dinov2.layers import MemEffAttention, NestedTensorBlock
    from functools import partial
    worst = {}
    for name, model in models.items():
        cfg = configs[name]
        real = vits.DinoVisionTransformer(
            img_size=IMG, patch_size=PATCH, embed_dim=DIM, depth=DEPTH, num_heads=HEADS, mlp_ratio=4,
            block_fn=partial(NestedTensorBlock, attn_class=MemEffAttention), init_values=1.0, ffn_layer="mlp",
            block_chunks=0, num_register_tokens=cfg["registers"],
            interpolate_antialias=cfg["interpolate_antialias"], interpolate_offset=cfg["interpolate_offset"]).eval()
        sd = torch.load(os.path.join(HERE, f"{name}.pth"))
        real.load_state_dict(sd, strict=True)
        assert list(real.state_dict().keys()) == list(sd.keys()), "key order differs"
        w = 0.0
        with torch.no_grad():
            for (h, wd), x in inputs.items():
                tag = size_tag(h, wd)
                out = real.forward_features(x)
                for key, fname in (("x_norm_clstoken", "cls"), ("x_norm_patchtokens", "patch")):
                    ref = torch.from_numpy(__import__("numpy").fromfile(
                        os.path.join(HERE, f"{name}_expected_{tag}_{fname}.bin"), dtype="<f4")).reshape(out[key].shape)
                    w = max(w, (out[key] - ref).abs().max().item())
                assert torch.equal(real(x), out["x_norm_clstoken"])
        assert w < 1e-5, (name, w)
        worst[name] = w
        print(f"real dinov2 {name}: max abs diff to the fixtures {w:.2e}")
    return worst


if __name__ == "__main__":
    main()
