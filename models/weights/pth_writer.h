// Writer for torch.save checkpoints (the zip format of PyTorch >= 1.6): a
// state_dict pickle (an OrderedDict of name -> tensor, each tensor rebuilt by
// torch._utils._rebuild_tensor_v2 from its own storage) plus the raw
// little-endian storages. torch.load and wan::load_pth read the result. Used
// by the demo-checkpoint tool and by tests.
#pragma once
#include <map>
#include <string>

#include "models/weights/tensor_map.h"

namespace wan {

// Supports float32, bfloat16, float16, float64, int64, int32, uint8 and bool
// tensors (written contiguous, from the CPU). Throws wan::Error on failure.
void save_pth(const std::string& path, const TensorMap& tensors);

// A training checkpoint's layout: a dict of key -> state_dict (e.g. Self-Forcing's
// {"generator": ..., "generator_ema": ...}).
void save_pth_dicts(const std::string& path, const std::map<std::string, TensorMap>& dicts);

}  // namespace wan
