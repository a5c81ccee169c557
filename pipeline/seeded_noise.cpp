#include "pipeline/seeded_noise.h"

#include <mutex>
#include <random>

#include <ATen/CPUGeneratorImpl.h>

namespace wan {

at::Tensor seeded_randn(at::IntArrayRef shape, uint64_t seed, const at::Device& device) {
  at::Generator gen;
  if (device.is_cpu()) {
    gen = at::detail::createCPUGenerator(seed);
  } else {
    // A private copy of the device's default generator, reseeded: the same
    // state as a freshly constructed generator of that device, without
    // touching the process-wide one.
    at::Generator global = at::globalContext().defaultGenerator(device);
    {
      std::lock_guard<std::mutex> lock(global.mutex());
      gen = global.clone();
    }
    std::lock_guard<std::mutex> lock(gen.mutex());
    gen.set_current_seed(seed);
  }
  return at::randn(shape, gen, at::TensorOptions().dtype(at::kFloat).device(device));
}

int64_t draw_random_seed() {
  std::random_device rd;
  const uint64_t bits = (static_cast<uint64_t>(rd()) << 32) ^ rd();
  return static_cast<int64_t>(bits >> 1);
}

}  // namespace wan
