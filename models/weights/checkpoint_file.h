// One entry point for every checkpoint file format the models accept.
#pragma once
#include <string>

#include "models/weights/tensor_map.h"

namespace wan {

// All tensors of a checkpoint file: torch.save zip archives (.pth, .pt, .ckpt,
// .bin) and safetensors (a .safetensors file or a sharded *.index.json).
// Other names are recognised by their first bytes.
TensorMap load_checkpoint_file(const std::string& path);

}  // namespace wan
