#!/usr/bin/env python3
"""Writes a full-size Wan2.1-I2V-14B checkpoint folder with random weights, in the
official layout and dtypes, built from the official modules (fetched, never
committed): config.json, diffusion_pytorch_model.safetensors (bf16),
Wan2.1_VAE.pth (fp32), models_t5_umt5-xxl-enc-bf16.pth (bf16),
models_clip_open-clip-xlm-roberta-large-vit-huge-14.pth (fp16, visual tower only:
the text tower is never loaded), google/umt5-xxl/spiece.model (copied from the
tiny fixture: the tokenizer's size does not change the cost). For end-to-end
timing: the cost of generation does not depend on the values.

usage: make_fullsize_checkpoint.py WAN_REPO_DIR OUT_DIR SPIECE_MODEL
"""
import json, os, shutil, sys
import torch
from safetensors.torch import save_file

sys.path.insert(0, os.path.dirname(__file__))
from reference_dit import CONFIGS, load_model_module  # noqa: E402


@torch.no_grad()
def randomize(module, std=0.02):
    for p in module.parameters():
        p.normal_(0, std)
    return module


def main():
    repo, out, spiece = sys.argv[1:4]
    os.makedirs(f"{out}/google/umt5-xxl", exist_ok=True)
    shutil.copy(spiece, f"{out}/google/umt5-xxl/spiece.model")
    mods = load_model_module(repo, ("attention", "tokenizers", "xlm_roberta", "model", "t5", "vae", "clip"))
    wan = sys.modules
    torch.manual_seed(0)
    cfg = CONFIGS["i2v-14B"]
    json.dump(dict(_class_name="WanModel", _diffusers_version="0.30.0", dim=cfg["dim"], eps=1e-6,
                   ffn_dim=cfg["ffn_dim"], freq_dim=256, in_dim=cfg["in_dim"], model_type="i2v",
                   num_heads=cfg["num_heads"], num_layers=cfg["num_layers"], out_dim=16, text_len=512),
              open(f"{out}/config.json", "w"))
    with torch.device("cuda"):
        dit = randomize(wan["wanref.model"].WanModel(**cfg).to(torch.bfloat16))
    save_file({k: v.contiguous() for k, v in dit.state_dict().items()}, f"{out}/diffusion_pytorch_model.safetensors",
              metadata={"format": "pt"})
    del dit
    with torch.device("cuda"):
        t5 = randomize(wan["wanref.t5"].T5Encoder(vocab=256384, dim=4096, dim_attn=4096, dim_ffn=10240, num_heads=64,
                                                  num_layers=24, num_buckets=32, shared_pos=False).to(torch.bfloat16))
    torch.save({k: v.cpu() for k, v in t5.state_dict().items()}, f"{out}/models_t5_umt5-xxl-enc-bf16.pth")
    del t5
    with torch.device("cuda"):
        vae = randomize(wan["wanref.vae"].WanVAE_(dim=96, z_dim=16, dim_mult=[1, 2, 4, 4], num_res_blocks=2,
                                                  attn_scales=[], temperal_downsample=[False, True, True]))
        visual = randomize(wan["wanref.clip"].VisionTransformer(
            image_size=224, patch_size=14, dim=1280, mlp_ratio=4, out_dim=1024, num_heads=16, num_layers=32,
            pool_type="token", pre_norm=True, post_norm=False, activation="gelu").to(torch.float16))
    torch.save({k: v.cpu() for k, v in vae.state_dict().items()}, f"{out}/Wan2.1_VAE.pth")
    torch.save({"visual." + k: v.cpu() for k, v in visual.state_dict().items()},
               f"{out}/models_clip_open-clip-xlm-roberta-large-vit-huge-14.pth")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
