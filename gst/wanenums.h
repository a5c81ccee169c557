// The enumerated properties of wanvideosrc as GEnum types (for gst-inspect,
// gst-launch nicks and language bindings).
#pragma once
#include <glib-object.h>

G_BEGIN_DECLS

typedef enum {
  GST_WAN_SOLVER_UNIPC,
  GST_WAN_SOLVER_DPMPP,
  GST_WAN_SOLVER_EULER,
  GST_WAN_SOLVER_DISTILL,
  GST_WAN_SOLVER_RENOISE,
} GstWanSolver;

typedef enum {
  GST_WAN_CACHE_NONE,
  GST_WAN_CACHE_TEACACHE,
  GST_WAN_CACHE_MAGCACHE,
  GST_WAN_CACHE_EASYCACHE,
} GstWanCache;

typedef enum {
  GST_WAN_LORA_MODE_MERGE,
  GST_WAN_LORA_MODE_RUNTIME,
} GstWanLoraMode;

typedef enum {
  GST_WAN_MEMORY_MODE_RESIDENT,
  GST_WAN_MEMORY_MODE_SEQUENTIAL,
  GST_WAN_MEMORY_MODE_TEXT_ENCODER_CPU,
  GST_WAN_MEMORY_MODE_BLOCK_SWAP,
} GstWanMemoryMode;

typedef enum {
  GST_WAN_DTYPE_AUTO,
  GST_WAN_DTYPE_FLOAT32,
  GST_WAN_DTYPE_BFLOAT16,
  GST_WAN_DTYPE_FLOAT16,
  GST_WAN_DTYPE_FP8,
} GstWanDtype;

typedef enum {
  GST_WAN_ATTENTION_EXACT,
  GST_WAN_ATTENTION_FP8,
  GST_WAN_ATTENTION_INT8,
} GstWanAttention;

typedef enum {
  GST_WAN_PREVIEW_SIZE_LATENT,
  GST_WAN_PREVIEW_SIZE_FULL,
} GstWanPreviewSize;

typedef enum {
  GST_WAN_LIVE_DECODER_VAE,
  GST_WAN_LIVE_DECODER_TAEW2_1,
} GstWanLiveDecoder;

#define GST_TYPE_WAN_SOLVER (gst_wan_solver_get_type())
GType gst_wan_solver_get_type(void);

#define GST_TYPE_WAN_CACHE (gst_wan_cache_get_type())
GType gst_wan_cache_get_type(void);

#define GST_TYPE_WAN_LORA_MODE (gst_wan_lora_mode_get_type())
GType gst_wan_lora_mode_get_type(void);

#define GST_TYPE_WAN_MEMORY_MODE (gst_wan_memory_mode_get_type())
GType gst_wan_memory_mode_get_type(void);

#define GST_TYPE_WAN_DTYPE (gst_wan_dtype_get_type())
GType gst_wan_dtype_get_type(void);

#define GST_TYPE_WAN_ATTENTION (gst_wan_attention_get_type())
GType gst_wan_attention_get_type(void);

#define GST_TYPE_WAN_PREVIEW_SIZE (gst_wan_preview_size_get_type())
GType gst_wan_preview_size_get_type(void);

#define GST_TYPE_WAN_LIVE_DECODER (gst_wan_live_decoder_get_type())
GType gst_wan_live_decoder_get_type(void);

G_END_DECLS
