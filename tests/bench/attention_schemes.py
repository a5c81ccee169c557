#!/usr/bin/env python3
"""The error of 8-bit attention schemes against float64 attention, on the CPU: a numerical
model of the int8 kernel (models/cuda/int8_attention_kernel.h) beside the schemes that would
cost fewer instructions per score, to see which can meet issue #20's accuracy bound (rel. L2
<= 3e-2 and cosine >= 0.999 per head) before writing a kernel for one.

The model rounds as the kernel does (half to even) and sums exactly: float32 accumulation
adds far less error than 8-bit operands. Schemes:
  int8         the kernel: Q per row and K per key in int8 (K less its channel means),
               P = round(255 exp2(s - the 128-key tile's max)) in u8, V less its channel
               means in int8 per channel, the mean of V's rounding errors added back
  int8-runmax  P in u8 against the running max instead (integer P V sums could then span
               tiles, saving the float accumulate of every tile)
  fp8-pv       P (against the running max, times 448) and V (per channel, to 448) in e4m3,
               as SageAttention2 quantises them: P V accumulates in float, one FMA a score
  fp8-p, fp8-v only P, or only V, in e4m3 (the rest as int8): which one costs the accuracy

usage: attention_schemes.py [QUERIES [KEYS]]   (needs numpy; one head of 128)
"""
import sys

import numpy as np

LOG2E = 1.4426950408889634
TILE = 128


def e4m3(x):
    """Round to the nearest float8 e4m3 value (half to even), saturating at 448."""
    a = np.abs(x)
    exponent = np.maximum(np.floor(np.log2(np.maximum(a, 1e-300))), -6)  # subnormals below 2^-6
    step = np.exp2(exponent - 3)
    return np.sign(x) * np.minimum(np.round(a / step) * step, 448.0)


def int8_rows(x):
    """int8 codes and scales per row (the last dimension), zero rows scale 0."""
    amax = np.abs(x).max(-1, keepdims=True)
    scale = amax / 127
    safe = np.where(scale > 0, scale, 1)
    return np.where(scale > 0, np.clip(np.round(x / safe), -127, 127), 0), scale


def exact(q, k, v):
    s = q @ k.T / np.sqrt(q.shape[1])
    p = np.exp(s - s.max(1, keepdims=True))
    return (p @ v) / p.sum(1, keepdims=True)


def attention(q, k, v, scheme):
    q8, q_scale = int8_rows(q)
    k8, k_scale = int8_rows(k - k.mean(0))
    s = (q8 @ k8.T) * q_scale * k_scale.T * (LOG2E / np.sqrt(q.shape[1]))  # log2 domain
    v_mean = v.mean(0)
    vc = v - v_mean
    if scheme in ("fp8-pv", "fp8-v"):
        v_scale = np.abs(vc).max(0) / 448
        vq = e4m3(vc / v_scale) * v_scale
    else:
        v_scale = np.abs(vc).max(0) / 127
        vq = np.clip(np.round(vc / v_scale), -127, 127) * v_scale
    v_offset = v_mean + (vc - vq).mean(0)
    m = np.full(s.shape[0], -np.inf)
    o = np.zeros((s.shape[0], v.shape[1]))
    l = np.zeros(s.shape[0])
    for t0 in range(0, s.shape[1], TILE):
        st = s[:, t0:t0 + TILE]
        m_tile = st.max(1)
        m_new = np.maximum(m, m_tile)
        alpha = np.exp2(m - m_new)
        if scheme in ("int8", "fp8-v"):
            p = np.round(255 * np.exp2(st - m_tile[:, None]))
            beta = np.exp2(m_tile - m_new) / 255
        elif scheme == "int8-runmax":
            p = np.round(255 * np.exp2(st - m_new[:, None]))
            beta = np.full_like(m_new, 1 / 255)
        else:  # fp8-pv, fp8-p
            p = e4m3(448 * np.exp2(st - m_new[:, None]))
            beta = np.full_like(m_new, 1 / 448)
        o = o * alpha[:, None] + (p @ vq[t0:t0 + TILE]) * beta[:, None]
        l = l * alpha + p.sum(1) * beta
        m = m_new
    return o / l[:, None] + v_offset


def main():
    queries = int(sys.argv[1]) if len(sys.argv) > 1 else 256
    keys = int(sys.argv[2]) if len(sys.argv) > 2 else 4096
    d = 128
    rng = np.random.default_rng(0)
    schemes = ("int8", "int8-runmax", "fp8-pv", "fp8-p", "fp8-v")
    cases = []
    for std in (1, 2, 4, 6):  # the logits' standard deviation: the larger, the sharper the rows
        cases.append((f"logit std {std}", rng.standard_normal((queries, d)) * std, rng.standard_normal((keys, d)),
                      rng.standard_normal((keys, d))))
    cases.append(("channel offsets", rng.standard_normal((queries, d)),
                  rng.standard_normal((keys, d)) + 3 * rng.standard_normal(d),
                  rng.standard_normal((keys, d)) + 5 * rng.standard_normal(d)))
    print(f"{queries} queries, {keys} keys, head 128: rel. L2 / cosine against float64")
    print("| case | " + " | ".join(schemes) + " |")
    print("|---" * (len(schemes) + 1) + "|")
    for name, q, k, v in cases:
        ref = exact(q, k, v)
        cells = []
        for scheme in schemes:
            out = attention(q, k, v, scheme)
            rel = np.linalg.norm(out - ref) / np.linalg.norm(ref)
            cos = (out * ref).sum() / (np.linalg.norm(out) * np.linalg.norm(ref))
            cells.append(f"{rel:.2e} / {cos:.5f}")
        print(f"| {name} | " + " | ".join(cells) + " |", flush=True)


if __name__ == "__main__":
    main()
