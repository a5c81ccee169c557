// The one weight-loading flow of every model family:
//   read the file(s) -> drop what the family never uses -> dequantise ComfyUI's scaled fp8
//   straight to the compute dtype -> rename to official names (every prefix rule and row of
//   the one name table, checkpoint_layout.cpp)
// then, in each family's loader: infer the config from the shapes -> build the modules
// uninitialised on the device in the dtype -> load strictly (state_dict.h) -> adapters.
#pragma once
#include <string>

#include "models/weights/checkpoint_layout.h"
#include "models/weights/load_options.h"
#include "models/weights/scaled_fp8.h"
#include "models/weights/tensor_map.h"

namespace wan {

struct ModelWeights {
  TensorMap tensors;   // official names
  std::string layout;  // the layout detected ("official", "diffusers", "comfyui", ...)
  std::string what;    // the checkpoint and its layout, for messages
};

// The steps above up to the renaming, for a checkpoint already read. `what` names it; `keep`
// names the scaled fp8 weights that stay quantised (see dequantize_scaled_fp8).
ModelWeights prepare_weights(ModelFamily family, TensorMap checkpoint, const std::string& what,
                             const LoadOptions& options, const KeepQuantized& keep = {});

// Refuses options a family cannot honour (adapters on anything but the DiT).
void check_load_options(ModelFamily family, const LoadOptions& options, const std::string& what);

}  // namespace wan
