// DeviceVisit (MemoryMode::Sequential's way of bringing the DiT to the GPU for
// the denoise): during the visit the module computes on the device; afterwards
// it is back on its very host tensors, whatever the visit re-pointed.
#include <cstdio>
#include <stdexcept>

#include <ATen/ATen.h>
#include <torch/csrc/autograd/grad_mode.h>
#include <torch/nn/modules/batchnorm.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/modules/linear.h>

#include "pipeline/device_visit.h"
#include "tests/unit/check.h"

namespace {

at::Device visit_device() { return at::Device(at::kCUDA, 0); }

// A visit to where the module already is changes nothing.
void visiting_home_is_a_no_op() {
  torch::nn::Linear net(4, 3);
  const void* weight = net->weight.data_ptr();
  {
    wan::DeviceVisit visit(*net, at::kCPU);
    EXPECT(net->weight.data_ptr() == weight);
  }
  EXPECT(net->weight.data_ptr() == weight);
}

void back_on_the_same_host_tensors() {
  torch::NoGradGuard no_grad;
  torch::nn::Sequential net(torch::nn::Linear(4, 3), torch::nn::BatchNorm1d(3));
  net->eval();
  std::vector<const void*> host_data;
  for (const at::Tensor& t : net->parameters()) host_data.push_back(t.data_ptr());
  const at::Tensor running_mean = net->buffers()[0].clone();
  const at::Tensor x = at::randn({2, 4});
  const at::Tensor expected = net->forward(x);
  {
    wan::DeviceVisit visit(*net, visit_device());
    for (const at::Tensor& t : net->parameters()) EXPECT(t.device() == visit_device());
    for (const at::Tensor& t : net->buffers()) EXPECT(t.device() == visit_device());
    EXPECT(at::allclose(net->forward(x.to(visit_device())).cpu(), expected, 1e-5, 1e-6));
    // A visitor may re-point its parameters (the DiT fuses q, k, v on the device).
    at::Tensor w = net->parameters()[0];  // the parameter itself (a handle, not a copy)
    w.set_data(at::cat({w, w}).narrow(0, 0, w.size(0)));
  }
  size_t i = 0;
  for (const at::Tensor& t : net->parameters()) {
    EXPECT(t.is_cpu());
    EXPECT(t.data_ptr() == host_data.at(i++));  // nothing copied back
  }
  EXPECT(at::equal(net->buffers()[0], running_mean));
  EXPECT(at::equal(net->forward(x), expected));
}

void an_error_during_the_visit_still_goes_home() {
  torch::nn::Linear net(4, 3);
  try {
    wan::DeviceVisit visit(*net, visit_device());
    throw std::runtime_error("denoise failed");
  } catch (const std::runtime_error&) {
  }
  EXPECT(net->weight.is_cpu() && net->bias.is_cpu());
}

}  // namespace

int main() {
  visiting_home_is_a_no_op();
  if (!at::hasCUDA()) {  // set_data cannot move CPU tensors to any other device here
    std::printf("no GPU: the visits themselves are skipped\n");
    return wan::test::check_exit("test-device-visit");
  }
  back_on_the_same_host_tensors();
  an_error_during_the_visit_still_goes_home();
  return wan::test::check_exit("test-device-visit");
}
