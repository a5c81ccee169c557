// The DiT gives the same prediction whatever grad mode the application runs it under:
// plain AutoGradMode(false), torch::NoGradGuard, or c10::InferenceMode, with the model
// built outside or inside InferenceMode, in float32 and bfloat16, on the CPU and (when
// present) on CUDA, where bfloat16 takes the fused-kernel path; with block swap too.
// A model given inputs on another device fails with an error, never a crash.
//   test-dit-grad-modes FIXTURES_DIR
#include <ATen/ATen.h>
#include <c10/core/GradMode.h>
#include <c10/core/InferenceMode.h>
#include <torch/csrc/autograd/grad_mode.h>
#include <torch/cuda.h>

#include <filesystem>
#include <functional>
#include <optional>

#include "models/dit/dit_config.h"
#include "models/dit/wan_model.h"
#include "models/weights/safetensors.h"
#include "models/weights/state_dict.h"
#include "tests/unit/check.h"

namespace fs = std::filesystem;

namespace {

fs::path case_dir;

struct Inputs {
  std::vector<at::Tensor> x, context, y;
  at::Tensor t, clip_fea, expected;
  int64_t seq_len = 45;

  Inputs to(const at::Device& device) const {
    Inputs in = *this;
    for (auto* list : {&in.x, &in.context, &in.y})
      for (at::Tensor& v : *list) v = v.to(device);
    in.t = t.to(device), in.clip_fea = clip_fea.to(device);
    return in;
  }
};

Inputs read_inputs() {
  const wan::TensorMap io = wan::load_safetensors((case_dir / "io.safetensors").string());
  Inputs in;
  in.x = {io.at("in.x.0").to(at::kFloat)};
  in.context = {io.at("in.context.0").to(at::kFloat)};
  in.y = {io.at("in.y.0").to(at::kFloat)};
  in.t = io.at("in.t").to(at::kFloat);
  in.clip_fea = io.at("in.clip_fea").to(at::kFloat);
  in.expected = io.at("out.pred.0").to(at::kFloat);
  return in;
}

wan::WanModel load(const at::Device& device, at::ScalarType dtype) {
  wan::WanModel model(wan::DiTConfig::from_json_file((case_dir / "config.json").string()),
                      at::TensorOptions().device(device).dtype(dtype), wan::ParameterInit::Uninitialized);
  wan::load_state_dict(*model, wan::load_safetensors((case_dir / "weights.safetensors").string()), "dit-i2v-tiny");
  model->eval();
  return model;
}

at::Tensor predict(wan::WanModel& model, const Inputs& in) {
  return model->forward(in.x, in.t, in.context, in.seq_len, in.clip_fea, in.y)[0].to(at::kCPU, at::kFloat);
}

double rel_l2(const at::Tensor& got, const at::Tensor& expected) {
  return (got.to(at::kDouble) - expected.to(at::kDouble)).norm().item<double>() /
         expected.to(at::kDouble).norm().item<double>();
}

enum class Mode { NoGradGuard, InferenceMode };

// Runs `fn` under the mode (AutoGradMode(false) when none).
at::Tensor under(std::optional<Mode> mode, const std::function<at::Tensor()>& fn) {
  if (!mode) {
    c10::AutoGradMode no_grad(false);
    return fn();
  }
  if (*mode == Mode::NoGradGuard) {
    torch::NoGradGuard no_grad;
    return fn();
  }
  c10::InferenceMode inference;
  return fn();
}

void same_prediction_in_every_mode(const at::Device& device, at::ScalarType dtype, bool block_swap) {
  const std::string what = device.str() + " " + c10::toString(dtype) + (block_swap ? " block-swap" : "");
  std::printf("%s\n", what.c_str());
  const Inputs in = read_inputs().to(device);
  // float32 matches the reference; bfloat16 lands near it.
  const double to_reference = dtype == at::kFloat ? 1e-4 : 3e-2, between_modes = dtype == at::kFloat ? 1e-5 : 1e-2;
  const auto prepare = [&](wan::WanModel& model) {
    if (block_swap) model->stream_blocks_from_host(device);
  };

  wan::WanModel plain = load(block_swap ? at::Device(at::kCPU) : device, dtype);
  prepare(plain);
  const at::Tensor reference = under(std::nullopt, [&] { return predict(plain, in); });
  EXPECT_MSG(rel_l2(reference, in.expected) < to_reference,
             what + ": " + std::to_string(rel_l2(reference, in.expected)));

  for (Mode mode : {Mode::NoGradGuard, Mode::InferenceMode}) {
    const std::string name = what + (mode == Mode::NoGradGuard ? " NoGradGuard" : " InferenceMode");
    // The same model again, twice (the second forward finds q, k, v already stacked).
    for (int pass = 0; pass < 2; ++pass) {
      const at::Tensor got = under(mode, [&] { return predict(plain, in); });
      EXPECT_MSG(rel_l2(got, reference) < between_modes, name + " pass " + std::to_string(pass));
    }
    // A model built and loaded under the mode, as an application running everything in it does.
    const at::Tensor fresh = under(mode, [&] {
      wan::WanModel model = load(block_swap ? at::Device(at::kCPU) : device, dtype);
      prepare(model);
      predict(model, in);
      return predict(model, in);
    });
    EXPECT_MSG(rel_l2(fresh, reference) < between_modes, name + ", model built under it");
  }
  // And the plain mode still works after the others.
  EXPECT_MSG(rel_l2(under(std::nullopt, [&] { return predict(plain, in); }), reference) < between_modes,
             what + " plain after the others");
}

// A model on one device given inputs on another: an error that says so, never a crash.
void inputs_on_another_device(const at::Device& model_device, const at::Device& input_device) {
  std::printf("model on %s, inputs on %s\n", model_device.str().c_str(), input_device.str().c_str());
  wan::WanModel model = load(model_device, at::kFloat);
  const Inputs in = read_inputs().to(input_device);
  c10::AutoGradMode no_grad(false);
  try {
    const at::Tensor got = predict(model, in);
    EXPECT_MSG(rel_l2(got, in.expected.cpu()) < 1e-4, "moved to the model's device and predicted");
  } catch (const std::exception& e) {
    std::printf("  error (expected): %.200s\n", e.what());
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: test-dit-grad-modes FIXTURES_DIR\n");
    return 2;
  }
  case_dir = fs::path(argv[1]) / "dit-i2v-tiny";
  for (at::ScalarType dtype : {at::kFloat, at::kBFloat16}) {
    same_prediction_in_every_mode(at::kCPU, dtype, false);
    same_prediction_in_every_mode(at::kCPU, dtype, true);
  }
  if (torch::cuda::is_available()) {
    const at::Device cuda(at::kCUDA, 0);
    for (at::ScalarType dtype : {at::kFloat, at::kBFloat16}) {
      same_prediction_in_every_mode(cuda, dtype, false);
      same_prediction_in_every_mode(cuda, dtype, true);
    }
    inputs_on_another_device(at::kCPU, cuda);
    inputs_on_another_device(cuda, at::kCPU);
  } else {
    std::printf("no CUDA device: the CUDA cases (the fused bfloat16 path among them) did not run\n");
  }
  return wan::test::check_exit("test-dit-grad-modes");
}
