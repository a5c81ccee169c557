#!/usr/bin/env python3
"""Writes the wan-parity `taehv` case: TAEW2.1's decoder (madebyollin/taehv's taehv.py,
fetched, never committed; its path is the first argument) on random weights, float32 on
the CPU. Outputs: the full decode (4 frames per latent frame, the first 3 dropped) and the
cheap preview decode (decoder_time_upscale off: each TGrow keeps its last frame's rows, as
the reference's patch_tgrow_layers does when loading a checkpoint into it).

The weights are PyTorch's default init under the seed (45 MB in float32: not stored unless
--save-weights); case.json's weights_init says so, and wan-parity rebuilds them
(tests/parity/taehv_reference_init.h).

usage: make_taehv_case.py TAEHV_PY CASE_DIR [--frames 3] [--size 10x6] [--seed 2101] [--save-weights]
"""
import argparse, copy, hashlib, importlib.util, json, os, subprocess
import torch
from safetensors.torch import save_file


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("taehv_py"); ap.add_argument("case")
    ap.add_argument("--frames", type=int, default=3); ap.add_argument("--size", default="10x6")
    ap.add_argument("--seed", type=int, default=2101)
    ap.add_argument("--save-weights", action="store_true")
    a = ap.parse_args()
    spec = importlib.util.spec_from_file_location("taehv", a.taehv_py)
    taehv = importlib.util.module_from_spec(spec); spec.loader.exec_module(taehv)
    w, h = map(int, a.size.split("x"))
    torch.manual_seed(a.seed)
    model = taehv.TAEHV(checkpoint_path=None).eval()  # Wan2.1's configuration (the defaults)
    with torch.no_grad():
        # Default init leaves most outputs clamped at 0 or 1: centre them so the case
        # compares values, not clamps.
        last = model.decoder[-1]
        last.weight.mul_(0.05); last.bias.fill_(0.5)
    sd = {k: v.detach().clone().contiguous() for k, v in model.state_dict().items()}
    preview = taehv.TAEHV(checkpoint_path=None, decoder_time_upscale=(False, False)).eval()
    preview.load_state_dict(preview.patch_tgrow_layers(copy.deepcopy(sd)))
    latents = torch.randn(1, a.frames, 16, h, w)
    with torch.no_grad():
        video = model.decode_video(latents, parallel=True, show_progress_bar=False)
        video_seq = model.decode_video(latents, parallel=False, show_progress_bar=False)
        pre = preview.decode_video(latents, parallel=True, show_progress_bar=False)
    assert torch.allclose(video, video_seq, atol=1e-5), "parallel and sequential decodes differ"
    clamped = ((video == 0) | (video == 1)).float().mean().item()
    os.makedirs(a.case, exist_ok=True)
    if a.save_weights:
        save_file(sd, os.path.join(a.case, "weights.safetensors"))
    io = {"in.latents": latents.contiguous(), "out.video": video.contiguous(), "out.preview": pre.contiguous()}
    save_file(io, os.path.join(a.case, "io.safetensors"))
    src = open(a.taehv_py, "rb").read()
    meta = {
        "case": os.path.basename(os.path.normpath(a.case)), "kind": "taehv",
        "description": f"TAEW2.1 decoder (TAEHV, Wan2.1 configuration) on random weights: {a.frames} latent frames "
                       f"16x{h}x{w} -> {video.shape[1]} RGB frames {8 * h}x{8 * w}, and the preview decode "
                       f"without temporal upscaling ({pre.shape[1]} frames).",
        "component": "taehv.TAEHV.decode_video",
        "call": "out.video = TAEHV(None).decode_video(in.latents, parallel=True); out.preview = "
                "TAEHV(None, decoder_time_upscale=(False, False)) loaded with patch_tgrow_layers(weights)"
                ".decode_video(in.latents)",
        "args": {"frames": a.frames, "height": h, "width": w},
        "inputs": {"in.latents": {"dtype": "F32", "shape": list(latents.shape)}},
        "outputs": {"out.video": {"dtype": "F32", "shape": list(video.shape)},
                    "out.preview": {"dtype": "F32", "shape": list(pre.shape)}},
        "seeds": {"weights_and_inputs": a.seed},
        "files": {"io": "io.safetensors", **({"weights": "weights.safetensors"} if a.save_weights else {})},
        "weights_init": {"scheme": "pytorch-default", "seed": a.seed,
                         "order": "every nn.Conv2d of taehv.TAEHV(checkpoint_path=None) in construction order "
                                  "(encoder, then decoder): kaiming_uniform_(weight, a=sqrt(5)), bias "
                                  "uniform(-1/sqrt(fan_in), 1/sqrt(fan_in)), from the CPU generator after "
                                  "torch.manual_seed(seed)",
                         "scale": {"decoder.22.weight": 0.05}, "fill": {"decoder.22.bias": 0.5}},
        "compute_dtype": "float32",
        "reference": {"repository": "https://github.com/madebyollin/taehv", "source_files": ["taehv.py"],
                      "taehv_py_sha256": hashlib.sha256(src).hexdigest(),
                      "runtime": f"torch {torch.__version__} CPU, float32"},
        "notes": ["Latents are NTCHW (frames before channels), as taehv takes them; wan-parity passes in.latents[0].",
                  "Random default init, with the last conv's weight scaled by 0.05 and its bias 0.5 so that "
                  f"outputs are mostly inside (0, 1): {100 * clamped:.1f}% of out.video sits at a clamp bound.",
                  "The weights include the encoder's tensors (as taew2_1.pth does): a loader must ignore them."],
    }
    json.dump(meta, open(os.path.join(a.case, "case.json"), "w"), indent=2)
    print(f"wrote {a.case}: video {tuple(video.shape)}, preview {tuple(pre.shape)}, clamped {100 * clamped:.1f}%")


if __name__ == "__main__":
    main()
