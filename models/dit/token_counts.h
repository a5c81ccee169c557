// How many of a batch's padded token rows are real, per sample: worked out once per DiT
// forward and handed to every block.
#pragma once

#include <ATen/ATen.h>

#include <cstdint>

namespace wan::dit {

struct TokenCounts {
  at::Tensor cpu;     // int64 [B]; the attention masks read it without waiting for the device
  at::Tensor device;  // the same on the model's device, for the fused CUDA kernels
  int64_t max = 0;
};

}  // namespace wan::dit
