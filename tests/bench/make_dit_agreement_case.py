#!/usr/bin/env python3
"""Writes a wan-parity `dit` case computed by the official Wan2.1 DiT (fetched,
never committed) on full-size random bf16 weights, run as the released pipeline
runs it (bf16 weights, autocast, PyTorch SDPA for flash-attn). gst-wan's bf16
forward is then checked against it with
    wan-parity --device cuda --dtype bfloat16 --tolerance 2e-2 CASE_DIR

usage: make_dit_agreement_case.py WAN_REPO_DIR CASE_DIR [--model i2v-14B] [--size 832x480] [--frames 21]
"""
import argparse, json, os, sys
import torch
from safetensors.torch import save_file

sys.path.insert(0, os.path.dirname(__file__))
from reference_dit import CONFIGS, load_model_module  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("repo"); ap.add_argument("case")
    ap.add_argument("--model", default="i2v-14B"); ap.add_argument("--size", default="832x480")
    ap.add_argument("--frames", type=int, default=21)
    a = ap.parse_args()
    w, h = map(int, a.size.split("x"))
    cfg = CONFIGS[a.model]
    m = load_model_module(a.repo)
    torch.manual_seed(0)
    with torch.device("cuda"):
        model = m.WanModel(**cfg).to(torch.bfloat16).eval().requires_grad_(False)
        # The released init zeroes the head and the biases: make every parameter count.
        for name, p in model.named_parameters():
            if p.abs().max() == 0:
                p.normal_(0, 0.02)
    f, lh, lw = (a.frames - 1) // 4 + 1, h // 8, w // 8
    seq_len = f * lh * lw // 4
    g = torch.Generator("cuda").manual_seed(1)
    ins = {"in.x.0": torch.randn(16, f, lh, lw, device="cuda", generator=g),
           "in.context.0": torch.randn(512, 4096, device="cuda", generator=g),
           "in.t": torch.tensor([900], device="cuda")}
    kw = {}
    if cfg["model_type"] != "t2v":
        ins["in.clip_fea"] = torch.randn(1, 257, 1280, device="cuda", generator=g)
        ins["in.y.0"] = torch.randn(cfg["in_dim"] - 16, f, lh, lw, device="cuda", generator=g)
        kw = dict(clip_fea=ins["in.clip_fea"], y=[ins["in.y.0"]])
    with torch.no_grad(), torch.autocast("cuda", dtype=torch.bfloat16):
        pred = model([ins["in.x.0"]], t=ins["in.t"], context=[ins["in.context.0"]], seq_len=seq_len, **kw)[0]
    os.makedirs(a.case, exist_ok=True)
    save_file({k: v.contiguous() for k, v in model.state_dict().items()}, f"{a.case}/weights.safetensors")
    io = {k: v.float().cpu().contiguous() if v.is_floating_point() else v.cpu() for k, v in ins.items()}
    io["out.pred.0"] = pred.float().cpu().contiguous()
    save_file(io, f"{a.case}/io.safetensors", metadata={"seq_len": str(seq_len)})
    config = dict(_class_name="WanModel", text_len=512, freq_dim=256, eps=1e-6, **cfg)
    json.dump(config, open(f"{a.case}/config.json", "w"))
    json.dump({"case": os.path.basename(a.case), "kind": "dit", "args": {"seq_len": seq_len},
               "files": {"config": "config.json", "weights": "weights.safetensors", "io": "io.safetensors"},
               "description": f"official WanModel {a.model}, bf16 weights + autocast, {a.size} x{a.frames}"},
              open(f"{a.case}/case.json", "w"))
    print(f"wrote {a.case}: {seq_len} tokens")


if __name__ == "__main__":
    main()
