#include "models/cuda/cuda_device.h"

#ifdef WAN_WITH_CUDA_KERNELS
#include <ATen/cuda/CUDAContext.h>
#endif

namespace wan::cuda {

#ifdef WAN_WITH_CUDA_KERNELS
int cuda_device_index(const at::Device& device, const std::string& feature, std::string* why) {
  auto no = [&](const std::string& reason) {
    if (why) *why = reason;
    return -1;
  };
  if (!device.is_cuda()) return no(feature + " runs on CUDA devices only, not on " + device.str());
  if (!at::cuda::is_available()) return no("CUDA is not available");
  // A device without an index is the current one: where tensors made on it go.
  const int index = device.has_index() ? device.index() : static_cast<int>(at::cuda::current_device());
  if (index >= at::cuda::device_count()) return no("there is no " + device.str());
  return index;
}

std::string describe_cuda_device(const at::Device& device, int index) {
  const cudaDeviceProp* props = at::cuda::getDeviceProperties(index);
  return device.str() + " (" + props->name + ", compute capability " + std::to_string(props->major) + "." +
         std::to_string(props->minor) + ")";
}
#endif

}  // namespace wan::cuda
