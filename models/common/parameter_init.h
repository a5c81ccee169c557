// How model parameters come into being. Models built to load a checkpoint
// skip libtorch's random initialisation: loading overwrites every value, and
// the serial CPU initialisation took 117 s for a 14 B DiT and 33 s for umT5-XXL.
// Layers made through these factories inside a SkipParameterInit scope are
// allocated on the scope's device and dtype with undefined values.
#pragma once
#include <cstdint>

#include <c10/core/Device.h>
#include <c10/core/ScalarType.h>
#include <c10/util/ArrayRef.h>
#include <torch/nn/modules/embedding.h>
#include <torch/nn/modules/linear.h>

namespace wan {

// Random: libtorch's initialisation, float32 on the CPU (tests, random models).
// Uninitialized: allocated where the model will run, for weights that are loaded next.
enum class ParameterInit { Random, Uninitialized };

class SkipParameterInit {
 public:
  explicit SkipParameterInit(const c10::Device& device, at::ScalarType dtype = at::kFloat);
  ~SkipParameterInit();
  SkipParameterInit(const SkipParameterInit&) = delete;
  SkipParameterInit& operator=(const SkipParameterInit&) = delete;

 private:
  bool previous_active_;
  c10::Device previous_device_;
  at::ScalarType previous_dtype_;
};

// torch::nn::Linear(in, out) with or without bias.
torch::nn::Linear make_linear(int64_t in, int64_t out, bool bias = true);

// torch::nn::Embedding(count, dim).
torch::nn::Embedding make_embedding(int64_t count, int64_t dim);

// A plain parameter tensor (norm weights, class tokens, ...) holding `value`.
at::Tensor make_parameter(c10::IntArrayRef shape, double value);

// A parameter drawn uniformly from [-bound, bound] (libtorch's nn::Linear initialisation).
at::Tensor make_uniform_parameter(c10::IntArrayRef shape, double bound);

}  // namespace wan
