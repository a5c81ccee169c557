#include "gst/wanenums.h"

GType gst_wan_solver_get_type(void) {
  static const GEnumValue values[] = {
      {GST_WAN_SOLVER_UNIPC, "UniPC multistep (the official default)", "unipc"},
      {GST_WAN_SOLVER_DPMPP, "DPM-Solver++ multistep", "dpm++"},
      {GST_WAN_SOLVER_EULER, "Flow-matching Euler", "euler"},
      {GST_WAN_SOLVER_DISTILL, "Few-step sampler of step-distilled models (LightX2V's; default 4 steps, no guidance)",
       "distill"},
      {GST_WAN_SOLVER_RENOISE, "Few-step re-noising sampler (CausVid / Self-Forcing; default 4 steps, no guidance)",
       "renoise"},
      {0, nullptr, nullptr},
  };
  static const GType type = g_enum_register_static("GstWanSolver", values);
  return type;
}

GType gst_wan_memory_mode_get_type(void) {
  static const GEnumValue values[] = {
      {GST_WAN_MEMORY_MODE_RESIDENT, "Every model stays on the device", "resident"},
      {GST_WAN_MEMORY_MODE_SEQUENTIAL, "Each model moves to the device only for its phase", "sequential"},
      {GST_WAN_MEMORY_MODE_TEXT_ENCODER_CPU, "The text encoder stays on the CPU, the rest on the device",
       "text-encoder-cpu"},
      {GST_WAN_MEMORY_MODE_BLOCK_SWAP,
       "DiT blocks stream from pinned host memory, two on the device at a time; the text encoder runs on the CPU",
       "block-swap"},
      {0, nullptr, nullptr},
  };
  static const GType type = g_enum_register_static("GstWanMemoryMode", values);
  return type;
}

GType gst_wan_dtype_get_type(void) {
  static const GEnumValue values[] = {
      {GST_WAN_DTYPE_AUTO, "bfloat16 on CUDA, float32 on the CPU", "auto"},
      {GST_WAN_DTYPE_FLOAT32, "32-bit float", "float32"},
      {GST_WAN_DTYPE_BFLOAT16, "bfloat16", "bfloat16"},
      {GST_WAN_DTYPE_FLOAT16, "16-bit float", "float16"},
      {GST_WAN_DTYPE_FP8,
       "Fast mode: bfloat16 with the DiT's block linear layers in fp8 e4m3 (GPUs with fp8 tensor cores: Ada, Hopper)",
       "fp8"},
      {0, nullptr, nullptr},
  };
  static const GType type = g_enum_register_static("GstWanDtype", values);
  return type;
}

GType gst_wan_attention_get_type(void) {
  static const GEnumValue values[] = {
      {GST_WAN_ATTENTION_EXACT, "Exact attention in the compute dtype", "exact"},
      {GST_WAN_ATTENTION_FP8,
       "The DiT's self-attention in 8 bits: cuDNN's fp8 SDPA, lossy (Hopper and newer GPUs, any dtype)", "fp8"},
      {GST_WAN_ATTENTION_INT8,
       "The DiT's self-attention in 8-bit integers: our own kernel, lossy (Hopper GPUs, compute capability 9.0, "
       "only; any dtype)",
       "int8"},
      {0, nullptr, nullptr},
  };
  static const GType type = g_enum_register_static("GstWanAttention", values);
  return type;
}

GType gst_wan_lora_mode_get_type(void) {
  static const GEnumValue values[] = {
      {GST_WAN_LORA_MODE_MERGE, "Merged into the weights at load (no cost per step)", "merge"},
      {GST_WAN_LORA_MODE_RUNTIME,
       "Applied at run time beside the weights (strength changes reload nothing; a little cost per step)", "runtime"},
      {0, nullptr, nullptr},
  };
  static const GType type = g_enum_register_static("GstWanLoraMode", values);
  return type;
}

GType gst_wan_cache_get_type(void) {
  static const GEnumValue values[] = {
      {GST_WAN_CACHE_NONE, "Every forward runs the whole model (exact)", "none"},
      {GST_WAN_CACHE_TEACACHE, "TeaCache: skip the blocks while the time embedding changes little", "teacache"},
      {GST_WAN_CACHE_MAGCACHE, "MagCache: skip the blocks by the calibrated residual magnitude ratios", "magcache"},
      {GST_WAN_CACHE_EASYCACHE,
       "EasyCache: reuse whole predictions while the estimated output change stays small (no calibration: any "
       "model, LoRA or step count)",
       "easycache"},
      {0, nullptr, nullptr},
  };
  static const GType type = g_enum_register_static("GstWanCache", values);
  return type;
}

GType gst_wan_preview_size_get_type(void) {
  static const GEnumValue values[] = {
      {GST_WAN_PREVIEW_SIZE_LATENT, "One pixel per latent pixel (1/8 of the video's width and height)", "latent"},
      {GST_WAN_PREVIEW_SIZE_FULL, "The video's size (latent pixels repeated 8x8)", "full"},
      {0, nullptr, nullptr},
  };
  static const GType type = g_enum_register_static("GstWanPreviewSize", values);
  return type;
}

GType gst_wan_live_decoder_get_type(void) {
  static const GEnumValue values[] = {
      {GST_WAN_LIVE_DECODER_VAE, "The Wan VAE beside the checkpoint", "vae"},
      {GST_WAN_LIVE_DECODER_TAEW2_1, "TAEW2.1 from preview-model: much faster, a little softer", "taew2_1"},
      {0, nullptr, nullptr},
  };
  static const GType type = g_enum_register_static("GstWanLiveDecoder", values);
  return type;
}
