// The random weights of a `taehv` case whose case.json gives `weights_init` instead of a
// weights file (45 MB of float32 would not fit the fixtures): PyTorch's default Conv2d
// initialisation (kaiming_uniform_(a = sqrt 5), bias uniform(+-1 / sqrt fan_in)) of every
// layer of taehv.TAEHV() in its construction order (encoder, then decoder) after
// torch.manual_seed(seed), then the case's edits. libtorch's CPU generator and init draw the
// same numbers as PyTorch's, so the tensors are the reference's bit for bit (the case's
// outputs check it).
#pragma once
#include <nlohmann/json.hpp>

#include "models/weights/tensor_map.h"

namespace wan::parity {

// weights_init = {"scheme": "pytorch-default", "seed": S, "scale": {name: factor},
// "fill": {name: value}}; throws wan::Error for another scheme.
TensorMap taehv_reference_weights(const nlohmann::json& weights_init);

}  // namespace wan::parity
