#!/usr/bin/env python3
"""Writes a full-size live-mode model folder with random weights, in the layouts and dtypes
of the released files, for live-mode timing (the cost does not depend on the values):
  self_forcing_dmd.pt   Self-Forcing's causal Wan2.1-T2V-1.3B: torch.save of
                        {"generator_ema": {"model.<official name>": bf16 tensor}}
  config.json           the official Wan2.1-T2V-1.3B DiT config
  Wan2.1_VAE.pth        the official VAE (fp32)
  models_t5_umt5-xxl-enc-bf16.pth   the official umT5-XXL encoder (bf16)
  google/umt5-xxl/spiece.model      copied from SPIECE_MODEL
  taew2_1.pth           with --taew: TAEW2.1's decoder (fp32, decoder.N names as the released
                        file; its encoder.* tensors, which the decoder never reads, left out),
                        for live-decoder=taew2_1 preview-model=OUT_DIR/taew2_1.pth
The names and shapes come from a table of our own, written after the official modules; given
WAN_REPO_DIR (the official Wan2.1 repository, fetched, never committed) they are checked
against its WanModel, T5Encoder and WanVAE_ first. Runs on CUDA where there is one.

usage: make_fullsize_causal_checkpoint.py OUT_DIR SPIECE_MODEL [WAN_REPO_DIR] [--layers N] [--taew]
  --layers N  only N DiT and umT5 blocks (a smaller folder of the same widths, for trying
              the tooling on a CPU)
  --taew      also write taew2_1.pth (--taew-only: just that, into an existing folder)
"""
import argparse, json, os, shutil, sys
import torch

DIT = dict(model_type="t2v", dim=1536, ffn_dim=8960, num_heads=12, num_layers=30, in_dim=16, out_dim=16,
           text_len=512, freq_dim=256, eps=1e-6)
T5 = dict(vocab=256384, dim=4096, dim_attn=4096, dim_ffn=10240, num_heads=64, num_layers=24, num_buckets=32,
          shared_pos=False)
VAE = dict(dim=96, z_dim=16, dim_mult=[1, 2, 4, 4], num_res_blocks=2, attn_scales=[],
           temperal_downsample=[False, True, True])
TEXT_DIM = 4096


def linear(name, out_dim, in_dim, bias=True):
    shapes = {f"{name}.weight": (out_dim, in_dim)}
    if bias:
        shapes[f"{name}.bias"] = (out_dim,)
    return shapes


def dit_shapes(c):
    d = c["dim"]
    s = {"patch_embedding.weight": (d, c["in_dim"], 1, 2, 2), "patch_embedding.bias": (d,)}
    s.update(linear("text_embedding.0", d, TEXT_DIM)); s.update(linear("text_embedding.2", d, d))
    s.update(linear("time_embedding.0", d, c["freq_dim"])); s.update(linear("time_embedding.2", d, d))
    s.update(linear("time_projection.1", 6 * d, d))
    for i in range(c["num_layers"]):
        b = f"blocks.{i}"
        for attn in ("self_attn", "cross_attn"):
            for p in "qkvo":
                s.update(linear(f"{b}.{attn}.{p}", d, d))
            s[f"{b}.{attn}.norm_q.weight"] = s[f"{b}.{attn}.norm_k.weight"] = (d,)
        s[f"{b}.norm3.weight"] = s[f"{b}.norm3.bias"] = (d,)
        s.update(linear(f"{b}.ffn.0", c["ffn_dim"], d)); s.update(linear(f"{b}.ffn.2", d, c["ffn_dim"]))
        s[f"{b}.modulation"] = (1, 6, d)
    s.update(linear("head.head", c["out_dim"] * 4, d))
    s["head.modulation"] = (1, 2, d)
    return s


def t5_shapes(c):
    d, a, f = c["dim"], c["dim_attn"], c["dim_ffn"]
    s = {"token_embedding.weight": (c["vocab"], d)}
    for i in range(c["num_layers"]):
        b = f"blocks.{i}"
        s[f"{b}.norm1.weight"] = s[f"{b}.norm2.weight"] = (d,)
        for p in "qkv":
            s.update(linear(f"{b}.attn.{p}", a, d, bias=False))
        s.update(linear(f"{b}.attn.o", d, a, bias=False))
        s.update(linear(f"{b}.ffn.gate.0", f, d, bias=False)); s.update(linear(f"{b}.ffn.fc1", f, d, bias=False))
        s.update(linear(f"{b}.ffn.fc2", d, f, bias=False))
        s[f"{b}.pos_embedding.embedding.weight"] = (c["num_buckets"], c["num_heads"])
    s["norm.weight"] = (d,)
    return s


def conv(name, out_dim, in_dim, kernel):
    return {f"{name}.weight": (out_dim, in_dim, *kernel), f"{name}.bias": (out_dim,)}


def residual(name, in_dim, out_dim):
    s = {f"{name}.residual.0.gamma": (in_dim, 1, 1, 1), f"{name}.residual.3.gamma": (out_dim, 1, 1, 1)}
    s.update(conv(f"{name}.residual.2", out_dim, in_dim, (3, 3, 3)))
    s.update(conv(f"{name}.residual.6", out_dim, out_dim, (3, 3, 3)))
    if in_dim != out_dim:
        s.update(conv(f"{name}.shortcut", out_dim, in_dim, (1, 1, 1)))
    return s


def attention(name, d):
    s = {f"{name}.norm.gamma": (d, 1, 1)}
    s.update(conv(f"{name}.to_qkv", 3 * d, d, (1, 1))); s.update(conv(f"{name}.proj", d, d, (1, 1)))
    return s


def resample(name, d, mode):
    if mode.startswith("up"):
        s = conv(f"{name}.resample.1", d // 2, d, (3, 3))
        if mode == "upsample3d":
            s.update(conv(f"{name}.time_conv", 2 * d, d, (3, 1, 1)))
    else:
        s = conv(f"{name}.resample.1", d, d, (3, 3))
        if mode == "downsample3d":
            s.update(conv(f"{name}.time_conv", d, d, (3, 1, 1)))
    return s


def middle(name, d):
    return {**residual(f"{name}.middle.0", d, d), **attention(f"{name}.middle.1", d),
            **residual(f"{name}.middle.2", d, d)}


def head(name, d, out_dim):
    return {f"{name}.head.0.gamma": (d, 1, 1, 1), **conv(f"{name}.head.2", out_dim, d, (3, 3, 3))}


def vae_shapes(c):
    # WanVAE_ without attention scales (the released VAE has none): Encoder3d, conv1, conv2, Decoder3d.
    dim, z, mult, blocks = c["dim"], c["z_dim"], c["dim_mult"], c["num_res_blocks"]
    assert not c["attn_scales"]
    dims = [dim * u for u in [1] + mult]
    s = conv("encoder.conv1", dims[0], 3, (3, 3, 3))
    n = 0
    for i, (in_dim, out_dim) in enumerate(zip(dims[:-1], dims[1:])):
        for _ in range(blocks):
            s.update(residual(f"encoder.downsamples.{n}", in_dim, out_dim)); n += 1
            in_dim = out_dim
        if i != len(mult) - 1:
            mode = "downsample3d" if c["temperal_downsample"][i] else "downsample2d"
            s.update(resample(f"encoder.downsamples.{n}", out_dim, mode)); n += 1
    s.update(middle("encoder", dims[-1])); s.update(head("encoder", dims[-1], 2 * z))
    s.update(conv("conv1", 2 * z, 2 * z, (1, 1, 1))); s.update(conv("conv2", z, z, (1, 1, 1)))
    dims = [dim * u for u in [mult[-1]] + mult[::-1]]
    upsample = c["temperal_downsample"][::-1]
    s.update(conv("decoder.conv1", dims[0], z, (3, 3, 3))); s.update(middle("decoder", dims[0]))
    n = 0
    for i, (in_dim, out_dim) in enumerate(zip(dims[:-1], dims[1:])):
        if i in (1, 2, 3):
            in_dim //= 2
        for _ in range(blocks + 1):
            s.update(residual(f"decoder.upsamples.{n}", in_dim, out_dim)); n += 1
            in_dim = out_dim
        if i != len(mult) - 1:
            mode = "upsample3d" if upsample[i] else "upsample2d"
            s.update(resample(f"decoder.upsamples.{n}", out_dim, mode)); n += 1
    s.update(head("decoder", dims[-1], 3))
    return s


def check_against_official(repo, dit, t5, vae):
    """Fails when a table differs from the official module's state_dict (names or shapes)."""
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from reference_dit import load_model_module  # noqa: E402
    load_model_module(repo, ("attention", "tokenizers", "model", "t5", "vae"))
    wan = sys.modules
    build = {
        "DiT": (lambda: wan["wanref.model"].WanModel(**dit), dit_shapes(dit)),
        "umT5": (lambda: wan["wanref.t5"].T5Encoder(**t5), t5_shapes(t5)),
        "VAE": (lambda: wan["wanref.vae"].WanVAE_(**VAE), vae_shapes(VAE)),
    }
    meta = hasattr(torch, "get_default_device")  # `with torch.device(...)` builds on meta from PyTorch 2
    for what, (make, table) in build.items():
        if meta:
            with torch.device("meta"):
                module = make()
        else:
            module = make()
        official = {k: tuple(v.shape) for k, v in module.state_dict().items()}
        del module
        if official != table:
            diff = sorted(set(official.items()) ^ set(table.items()))[:8]
            sys.exit(f"{what}: the table differs from the official module: {diff}")
        print(f"{what}: {len(table)} tensors match the official module")


def taew_shapes():
    # models/taehv/taehv_decoder.h: decoder.N of the checkpoint's Sequential.
    shapes = {"decoder.1.weight": (256, 16, 3, 3), "decoder.1.bias": (256,)}
    widths = [256, 128, 64, 64]
    for s, (first, grow, narrow) in enumerate([(3, 7, 8), (9, 13, 14), (15, 19, 20)]):
        w = widths[s]
        for b in range(3):
            for conv, cin in (("0", 2 * w), ("2", w), ("4", w)):
                shapes[f"decoder.{first + b}.conv.{conv}.weight"] = (w, cin, 3, 3)
                shapes[f"decoder.{first + b}.conv.{conv}.bias"] = (w,)
        shapes[f"decoder.{grow}.conv.weight"] = (w * (1 if s == 0 else 2), w, 1, 1)  # TGrow: x1, x2, x2 in time
        shapes[f"decoder.{narrow}.weight"] = (widths[s + 1], w, 3, 3)
    shapes.update({"decoder.22.weight": (3, 64, 3, 3), "decoder.22.bias": (3,)})
    return shapes


def random_taew():
    # As tests/common/random_taehv.h: unit gain per layer, the output bias inside (0, 1).
    out = {}
    for name, shape in taew_shapes().items():
        fan_in = shape[1] * shape[2] * shape[3] if len(shape) == 4 else 1e4
        out[name] = torch.randn(shape) / fan_in ** 0.5
    out["decoder.22.bias"].fill_(0.5)
    return out


def random_tensors(shapes, dtype, device, std=0.02):
    # Norm scales at 1 (as initialised), everything else small: the activations stay finite.
    out = {}
    for name, shape in shapes.items():
        if name.endswith("gamma") or ("norm" in name and name.endswith(".weight")):
            t = torch.ones(shape, dtype=dtype, device=device)
        else:
            t = torch.empty(shape, dtype=dtype, device=device).normal_(0, std)
        out[name] = t.cpu()
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("out"); ap.add_argument("spiece"); ap.add_argument("repo", nargs="?")
    ap.add_argument("--layers", type=int, help="DiT and umT5 blocks (default: the released 30 and 24)")
    ap.add_argument("--taew", action="store_true", help="also write taew2_1.pth")
    ap.add_argument("--taew-only", action="store_true", help="write only taew2_1.pth into OUT_DIR")
    a = ap.parse_args()
    if a.taew or a.taew_only:
        os.makedirs(a.out, exist_ok=True)
        torch.manual_seed(1)
        torch.save(random_taew(), f"{a.out}/taew2_1.pth")
        print(f"wrote {a.out}/taew2_1.pth")
        if a.taew_only:
            return
    dit, t5 = dict(DIT), dict(T5)
    if a.layers:
        dit["num_layers"] = t5["num_layers"] = a.layers
    if a.repo:
        check_against_official(a.repo, dit, t5, VAE)
    device = "cuda" if torch.cuda.is_available() else "cpu"
    torch.manual_seed(0)
    os.makedirs(f"{a.out}/google/umt5-xxl", exist_ok=True)
    shutil.copy(a.spiece, f"{a.out}/google/umt5-xxl/spiece.model")
    with open(f"{a.out}/config.json", "w") as f:
        json.dump(dict(_class_name="WanModel", _diffusers_version="0.30.0", **dit), f)
    generator = {"model." + k: v for k, v in random_tensors(dit_shapes(dit), torch.bfloat16, device).items()}
    torch.save({"generator_ema": generator}, f"{a.out}/self_forcing_dmd.pt")
    del generator
    torch.save(random_tensors(vae_shapes(VAE), torch.float32, device), f"{a.out}/Wan2.1_VAE.pth")
    torch.save(random_tensors(t5_shapes(t5), torch.bfloat16, device), f"{a.out}/models_t5_umt5-xxl-enc-bf16.pth")
    print(f"wrote {a.out} ({dit['num_layers']} DiT blocks, {t5['num_layers']} umT5 blocks, on {device})")


if __name__ == "__main__":
    main()
