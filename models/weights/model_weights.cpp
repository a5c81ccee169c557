#include "models/weights/model_weights.h"

#include <set>

#include "models/common/error.h"

namespace wan {
namespace {

// Tensors some layouts store that the family's model never reads, by their stored names.
void drop_unused_stored(ModelFamily family, TensorMap& weights) {
  if (family != ModelFamily::T5) return;
  // transformers ties encoder.embed_tokens to shared: the same table twice (dropped with its
  // fp8 scales before anything dequantises it).
  if (weights.count("shared.weight"))
    for (const char* tied : {"weight", "scale_weight", "scale_input"})
      weights.erase(std::string("encoder.embed_tokens.") + tied);
  weights.erase("spiece_model");  // ComfyUI may embed the tokenizer as a byte tensor
}

// The same by official name: the CLIP tower's parts Wan's image features never reach.
void drop_unused_official(ModelFamily family, TensorMap& weights) {
  if (family != ModelFamily::CLIP) return;
  for (const char* name : {"head", "post_norm.weight", "post_norm.bias", "vision_model.embeddings.position_ids"})
    weights.erase(name);
}

}  // namespace

void check_load_options(ModelFamily family, const LoadOptions& options, const std::string& what) {
  if (family != ModelFamily::DiT && !options.loras.empty()) throw Error(what + ": LoRAs apply to the DiT only");
  if (family != ModelFamily::DiT && options.fp8_linear) throw Error(what + ": the fp8 mode applies to the DiT only");
  if (family != ModelFamily::DiT && options.self_attention != SelfAttentionKind::exact)
    throw Error(what + ": the 8-bit attention applies to the DiT only");
}

ModelWeights prepare_weights(ModelFamily family, TensorMap checkpoint, const std::string& what,
                             const LoadOptions& options, const KeepQuantized& keep) {
  check_load_options(family, options, what);
  drop_unused_stored(family, checkpoint);
  // Straight to the compute dtype: a bf16 model never holds a float32 copy of its weights.
  dequantize_scaled_fp8(checkpoint, what, options.dtype, keep);
  ModelWeights out;
  out.tensors = to_official_names(family, std::move(checkpoint), &out.layout);
  drop_unused_official(family, out.tensors);
  out.what = what + " (" + out.layout + " layout)";
  return out;
}

}  // namespace wan
