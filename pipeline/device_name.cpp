#include "pipeline/device_name.h"

#include <ATen/Context.h>
#include <ATen/detail/CUDAHooksInterface.h>
#include <c10/util/Exception.h>

#include "models/common/error.h"

namespace wan {

std::string default_device_name() { return at::hasCUDA() ? "cuda:0" : "cpu"; }

at::Device parse_device(const std::string& name, const std::string& field) {
  at::Device device = at::kCPU;
  try {
    device = at::Device(name);
  } catch (const c10::Error&) {
    throw Error(field + " '" + name + "' is not a device (expected cpu, cuda or cuda:N)");
  }
  if (device.is_cpu()) return device;
  if (!device.is_cuda()) throw Error(field + " '" + name + "' is not supported (expected cpu, cuda or cuda:N)");
  if (!at::hasCUDA()) throw Error(field + " '" + name + "': this build of libtorch has no CUDA, or no GPU is visible");
  const int count = at::detail::getCUDAHooks().getNumGPUs();
  const int index = device.has_index() ? device.index() : 0;
  if (index >= count) throw Error(field + " '" + name + "': only " + std::to_string(count) + " GPU(s) are visible");
  return at::Device(at::kCUDA, static_cast<c10::DeviceIndex>(index));
}

std::vector<std::string> parse_device_list(const std::string& names, const std::string& field) {
  std::vector<std::string> list;
  size_t begin = 0;
  for (;;) {
    const size_t end = names.find(',', begin);
    const std::string name = names.substr(begin, end == std::string::npos ? std::string::npos : end - begin);
    if (name.empty())
      throw Error(field + " '" + names + "' has an empty entry (expected cpu, cuda or cuda:N, comma-separated)");
    parse_device(name, field);
    list.push_back(name);
    if (end == std::string::npos) return list;
    begin = end + 1;
  }
}

}  // namespace wan
