// The DiT of a `dit` or `dit-lora` case: built from config.json, loaded from the case's
// weights, and run on the case's inputs.
#pragma once
#include <vector>

#include "models/dit/wan_model.h"
#include "models/weights/tensor_map.h"
#include "tests/parity/parity_case.h"

namespace wan::parity {

// The model on the case's device in its compute dtype; `weights` receives what was loaded.
WanModel build_case_dit(const ParityCase& c, TensorMap* weights = nullptr);
// forward() on in.x / in.t / in.context (and in.clip_fea / in.y where the case has them).
std::vector<at::Tensor> run_case_dit(WanModelImpl& model, const ParityCase& c);

}  // namespace wan::parity
