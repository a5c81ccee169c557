// Strict loading of a checkpoint into a torch::nn::Module whose children are
// registered under the checkpoint's own names: one loop, and every missing,
// unexpected or mis-shaped tensor is named in the error.
#pragma once
#include <string>

#include <torch/nn/module.h>

#include "models/weights/tensor_map.h"

namespace wan {

// Copies every tensor of `weights` into the parameter or buffer of the same
// name (converting to the module's dtype and device). `what` names the
// checkpoint in errors. Throws wan::Error listing all problems at once.
void load_state_dict(torch::nn::Module& module, const TensorMap& weights, const std::string& what);

}  // namespace wan
