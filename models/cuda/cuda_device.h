// Which CUDA device a fast mode would run on, checked once for fp8 GEMMs and both 8-bit
// attentions so that their refusals read alike.
#pragma once
#include <ATen/ATen.h>

#include <string>

namespace wan::cuda {

#ifdef WAN_WITH_CUDA_KERNELS
// `device` as a CUDA device this process has: its index (the current device when it names
// none), or -1 with the reason in *why, which starts with `feature` when the device is not a
// CUDA one.
int cuda_device_index(const at::Device& device, const std::string& feature, std::string* why);

// "cuda:0 (NAME, compute capability M.m)", for refusals that name what the GPU lacks.
std::string describe_cuda_device(const at::Device& device, int index);
#endif

}  // namespace wan::cuda
