// The initial latent noise: torch.randn from a fresh generator seeded with the
// request's seed, on the device the reference draws it on (a CPU generator for
// CPU generation, the device's own generator on CUDA), so a seed gives the
// same video as the reference.
#pragma once
#include <cstdint>

#include <ATen/ATen.h>

namespace wan {

at::Tensor seeded_randn(at::IntArrayRef shape, uint64_t seed, const at::Device& device);

// A seed for requests that ask for a random one (0 .. 2^63 - 1, like the reference's
// random.randint(0, sys.maxsize)).
int64_t draw_random_seed();

}  // namespace wan
