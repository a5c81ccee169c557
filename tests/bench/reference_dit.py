#!/usr/bin/env python3
"""Times the official Wan2.1 DiT (fetched, never committed) on random full-size
weights, the way gst-wan's bench_dit times ours, so both run in one call.

usage: reference_dit.py WAN_REPO_DIR --model i2v-14B --size 832x480 [--frames 81] [--iters 2]

The official model.py imports diffusers (for ConfigMixin / ModelMixin only) and
flash-attn; neither is installed on the GPU host, so a minimal stand-in for the
two diffusers mixins is injected and flash_attention is routed to PyTorch SDPA
(the backend gpu-host.md measured the reference with). Prints one JSON line.
"""
import argparse, importlib.util, json, sys, time, types
import torch
import torch.nn.functional as F

CONFIGS = {
    "i2v-14B": dict(model_type="i2v", dim=5120, ffn_dim=13824, num_heads=40, num_layers=40, in_dim=36, out_dim=16),
    "t2v-14B": dict(model_type="t2v", dim=5120, ffn_dim=13824, num_heads=40, num_layers=40, in_dim=16, out_dim=16),
    "t2v-1.3B": dict(model_type="t2v", dim=1536, ffn_dim=8960, num_heads=12, num_layers=30, in_dim=16, out_dim=16),
}


def stub_diffusers():
    cu = types.ModuleType("diffusers.configuration_utils")
    class ConfigMixin: pass
    def register_to_config(fn): return fn
    cu.ConfigMixin, cu.register_to_config = ConfigMixin, register_to_config
    mu = types.ModuleType("diffusers.models.modeling_utils")
    mu.ModelMixin = torch.nn.Module
    for name, mod in [("diffusers", types.ModuleType("diffusers")), ("diffusers.configuration_utils", cu),
                      ("diffusers.models", types.ModuleType("diffusers.models")), ("diffusers.models.modeling_utils", mu)]:
        sys.modules[name] = mod


def sdpa_attention(q, k, v, q_lens=None, k_lens=None, **_):
    # q, k, v: [B, L, N, D]; keys past k_lens are masked as flash-attn's varlen call does.
    out_dtype = q.dtype
    q, k, v = (t.to(torch.bfloat16).transpose(1, 2) for t in (q, k, v))
    mask = None
    if k_lens is not None and bool((k_lens < k.size(2)).any()):
        mask = torch.arange(k.size(2), device=k.device)[None, :] < k_lens[:, None]
        mask = mask[:, None, None, :]
    return F.scaled_dot_product_attention(q, k, v, attn_mask=mask).transpose(1, 2).to(out_dtype)


def load_model_module(repo, names=("attention", "model")):
    """Imports wan/modules/<name>.py of the official repo (in order) as wanref.<name>;
    returns the last. tokenizers.py needs ftfy, absent on the GPU host: a stand-in
    is injected (only text cleaning uses it, and nothing here tokenizes)."""
    stub_diffusers()
    sys.modules.setdefault("ftfy", types.SimpleNamespace(fix_text=lambda t: t))
    pkg = types.ModuleType("wanref"); pkg.__path__ = []; sys.modules["wanref"] = pkg
    for name in names:
        spec = importlib.util.spec_from_file_location(f"wanref.{name}", f"{repo}/wan/modules/{name}.py")
        mod = importlib.util.module_from_spec(spec); sys.modules[f"wanref.{name}"] = mod
        spec.loader.exec_module(mod)
    for name in names:
        if hasattr(sys.modules[f"wanref.{name}"], "flash_attention"):
            sys.modules[f"wanref.{name}"].flash_attention = sdpa_attention
    return sys.modules[f"wanref.{names[-1]}"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("repo"); ap.add_argument("--model", default="i2v-14B"); ap.add_argument("--size", default="832x480")
    ap.add_argument("--frames", type=int, default=81); ap.add_argument("--iters", type=int, default=2)
    a = ap.parse_args()
    w, h = map(int, a.size.split("x"))
    m = load_model_module(a.repo)
    cfg = CONFIGS[a.model]
    torch.manual_seed(0)
    with torch.device("cuda"):
        model = m.WanModel(**cfg).to(torch.bfloat16).eval().requires_grad_(False)
    f_lat, lh, lw = (a.frames - 1) // 4 + 1, h // 8, w // 8
    seq_len = f_lat * lh * lw // 4
    dev = "cuda"
    x = [torch.randn(16, f_lat, lh, lw, device=dev)]
    ctx = [torch.randn(512, 4096, device=dev)]
    kw = {}
    if cfg["model_type"] != "t2v":
        kw = dict(clip_fea=torch.randn(1, 257, 1280, device=dev), y=[torch.randn(20, f_lat, lh, lw, device=dev)])
    t = torch.tensor([999], device=dev)
    torch.cuda.synchronize(); torch.cuda.reset_peak_memory_stats()
    times = []
    with torch.no_grad(), torch.autocast("cuda", dtype=torch.bfloat16):
        for i in range(a.iters + 1):
            torch.cuda.synchronize(); t0 = time.perf_counter()
            model(x, t=t, context=ctx, seq_len=seq_len, **kw)
            torch.cuda.synchronize(); times.append(time.perf_counter() - t0)
    print(json.dumps(dict(impl="reference", model=a.model, size=a.size, frames=a.frames, tokens=seq_len,
                          forward_s=min(times[1:]), peak_gib=torch.cuda.max_memory_allocated() / 2**30)))


if __name__ == "__main__":
    main()
