// Storage that replaces a module tensor's data (set_data) must be made in the same
// mode, inference or normal, as the tensor it goes into. An inference parameter given
// normal storage takes the normal dispatch keys without a version counter, and the
// next view of it throws "Inference tensors do not track version counter" (a model
// built under c10::InferenceMode, as applications and bench-dit do, hit this).
#pragma once
#include <ATen/core/Tensor.h>
#include <c10/core/InferenceMode.h>

namespace wan {

// The guard to hold while making storage for `t`.
inline c10::InferenceMode same_kind_as(const at::Tensor& t) { return c10::InferenceMode(t.is_inference()); }

}  // namespace wan
