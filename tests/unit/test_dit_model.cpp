// WanModel behaviour the pipeline relies on, on the dit-t2v-tiny / dit-i2v-tiny weights:
// samples of a batch are independent (different sizes, padding never acts as a key), the
// between-blocks hook runs after every block and can abort, bad inputs give errors that say
// what is wrong, and a bf16 model keeps the reference's float32 islands.
//   test-dit-model FIXTURES_DIR
#include <ATen/ATen.h>
#include <c10/core/GradMode.h>
#include <torch/cuda.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "models/dit/dit_config.h"
#include "models/dit/wan_model.h"
#include "models/weights/safetensors.h"
#include "models/weights/state_dict.h"
#include "tests/unit/check.h"

namespace fs = std::filesystem;

namespace {

fs::path fixtures;

wan::WanModel load_case(const std::string& name, at::ScalarType dtype = at::kFloat, at::Device device = at::kCPU) {
  wan::WanModel model(wan::DiTConfig::from_json_file((fixtures / name / "config.json").string()),
                      at::TensorOptions().device(device).dtype(dtype));
  wan::load_state_dict(*model, wan::load_safetensors((fixtures / name / "weights.safetensors").string()), name);
  return model;
}

double rel_l2(const at::Tensor& got, const at::Tensor& expected) {
  return (got.to(at::kDouble) - expected.to(at::kDouble)).norm().item<double>() /
         expected.to(at::kDouble).norm().item<double>();
}

struct T2VInputs {
  std::vector<at::Tensor> x = {at::randn({16, 3, 8, 8}), at::randn({16, 2, 4, 6})};  // 48 and 12 tokens
  at::Tensor t = at::tensor({900.0, 37.0});
  std::vector<at::Tensor> context = {at::randn({20, 32}), at::randn({5, 32})};
  int64_t seq_len = 56;
};

void samples_of_a_batch_are_independent() {
  wan::WanModel model = load_case("dit-t2v-tiny");
  const T2VInputs in;
  const std::vector<at::Tensor> batch = model->forward(in.x, in.t, in.context, in.seq_len);
  EXPECT(batch.size() == 2 && batch[0].sizes() == in.x[0].sizes() && batch[1].sizes() == in.x[1].sizes());
  for (int i = 0; i < 2; ++i) {
    const at::Tensor alone = model->forward({in.x[i]}, in.t.slice(0, i, i + 1), {in.context[i]}, in.seq_len)[0];
    EXPECT_MSG(rel_l2(batch[i], alone) < 1e-6, "sample " + std::to_string(i));
  }
  // A longer padding changes nothing either.
  const at::Tensor padded = model->forward({in.x[1]}, in.t.slice(0, 1, 2), {in.context[1]}, 100)[0];
  EXPECT(rel_l2(batch[1], padded) < 1e-6);
}

struct Cancelled {};

void between_blocks_runs_after_every_block() {
  wan::WanModel model = load_case("dit-t2v-tiny");
  const T2VInputs in;
  int calls = 0;
  model->forward(in.x, in.t, in.context, in.seq_len, {}, {}, [&] { ++calls; });
  EXPECT(calls == model->config().num_layers);

  calls = 0;
  bool cancelled = false;
  try {
    model->forward(in.x, in.t, in.context, in.seq_len, {}, {}, [&] {
      if (++calls == 1) throw Cancelled{};
    });
  } catch (const Cancelled&) {
    cancelled = true;
  }
  EXPECT(cancelled && calls == 1);
}

void bad_inputs_are_explained() {
  wan::WanModel t2v = load_case("dit-t2v-tiny");
  const T2VInputs in;
  EXPECT_ERROR(t2v->forward({at::randn({20, 3, 8, 8})}, in.t.slice(0, 0, 1), {in.context[0]}, 56), "in_dim = 16");
  EXPECT_ERROR(t2v->forward({in.x[0]}, in.t.slice(0, 0, 1), {in.context[0]}, 40), "more than seq_len 40");
  EXPECT_ERROR(t2v->forward({at::randn({16, 3, 7, 8})}, in.t.slice(0, 0, 1), {in.context[0]}, 56), "patch size");
  EXPECT_ERROR(t2v->forward({in.x[0]}, in.t.slice(0, 0, 1), {at::randn({33, 32})}, 56), "text_len 32");
  EXPECT_ERROR(t2v->forward({in.x[0]}, in.t.slice(0, 0, 1), {at::randn({3, 8})}, 56), "text_dim 32");
  EXPECT_ERROR(t2v->forward(in.x, in.t, {in.context[0]}, 56), "1 contexts for 2 latents");
  EXPECT_ERROR(t2v->forward({in.x[0]}, in.t.slice(0, 0, 1), {in.context[0]}, 56, at::randn({1, 257, 1280})),
               "takes no clip_fea");

  wan::WanModel i2v = load_case("dit-i2v-tiny");
  const at::Tensor x = at::randn({16, 1, 2, 2});
  const at::Tensor y = at::randn({20, 1, 2, 2});
  EXPECT_ERROR(i2v->forward({x}, at::ones({1}), {at::randn({4, 32})}, 4), "needs clip_fea");
  EXPECT_ERROR(i2v->forward({x}, at::ones({1}), {at::randn({4, 32})}, 4, at::randn({1, 257, 1024}), {y}),
               "clip_fea must be");
  EXPECT_ERROR(
      i2v->forward({x}, at::ones({1}), {at::randn({4, 32})}, 4, at::randn({1, 257, 1280}), {at::randn({20, 1, 4, 2})}),
      "must match x[0]");
}

void bf16_model_keeps_float32_islands() {
  wan::WanModel bf16 = load_case("dit-i2v-tiny", at::kBFloat16);
  for (const auto& p : bf16->named_parameters()) {
    const std::string& name = p.key();
    const bool heavy = name.find("self_attn.") != std::string::npos || name.find("cross_attn.") != std::string::npos ||
                       name.find(".ffn.") != std::string::npos || name.rfind("patch_embedding.", 0) == 0 ||
                       name.rfind("text_embedding.", 0) == 0 || name.rfind("img_emb.proj.1.", 0) == 0 ||
                       name.rfind("img_emb.proj.3.", 0) == 0;
    const bool norm = name.find("norm_") != std::string::npos;
    const at::ScalarType want = heavy && !norm ? at::kBFloat16 : at::kFloat;
    EXPECT_MSG(p.value().scalar_type() == want, name + " is " + c10::toString(p.value().scalar_type()));
  }
  wan::WanModel f32 = load_case("dit-i2v-tiny");
  const std::vector<at::Tensor> x = {at::randn({16, 3, 6, 10})}, y = {at::randn({20, 3, 6, 10})};
  const std::vector<at::Tensor> ctx = {at::randn({25, 32})};
  const at::Tensor clip = at::randn({1, 257, 1280}), t = at::full({1}, 700.0);
  const at::Tensor got = bf16->forward(x, t, ctx, 45, clip, y)[0];
  EXPECT(got.scalar_type() == at::kFloat);
  const double err = rel_l2(got, f32->forward(x, t, ctx, 45, clip, y)[0]);
  EXPECT_MSG(err < 3e-2, "bf16 vs float32 rel L2 " + std::to_string(err));
}

std::vector<at::Tensor> list(const wan::TensorMap& io, const std::string& name, at::Device device) {
  std::vector<at::Tensor> out;
  for (int i = 0; io.count(name + "." + std::to_string(i)); ++i)
    out.push_back(io.at(name + "." + std::to_string(i)).to(device, at::kFloat));
  return out;
}

// The fused-attention path (libtorch >= 2 on CUDA), with padded keys in dit-t2v-tiny.
void fixtures_on_cuda() {
  if (!torch::cuda::is_available()) {
    std::printf("test-dit-model: no CUDA device, CUDA checks skipped\n");
    return;
  }
  const at::Device cuda(at::kCUDA);
  for (const char* name : {"dit-t2v-tiny", "dit-i2v-tiny", "dit-flf2v-tiny"}) {
    const wan::TensorMap io = wan::load_safetensors((fixtures / name / "io.safetensors").string());
    std::ifstream case_json(fixtures / name / "case.json");
    const int64_t seq_len = nlohmann::json::parse(case_json).at("args").at("seq_len").get<int64_t>();
    const at::Tensor clip = io.count("in.clip_fea") ? io.at("in.clip_fea").to(cuda, at::kFloat) : at::Tensor();
    // float32 (cuDNN may use TF32 for the patch embedding) and bfloat16 compute.
    for (const auto& [dtype, tolerance] :
         {std::pair<at::ScalarType, double>{at::kFloat, 2e-3}, {at::kBFloat16, 3e-2}}) {
      wan::WanModel model = load_case(name, dtype, cuda);
      const std::vector<at::Tensor> pred =
          model->forward(list(io, "in.x", cuda), io.at("in.t").to(cuda), list(io, "in.context", cuda), seq_len, clip,
                         list(io, "in.y", cuda));
      for (size_t i = 0; i < pred.size(); ++i) {
        const double err = rel_l2(pred[i].cpu(), io.at("out.pred." + std::to_string(i)));
        std::printf("test-dit-model: CUDA %s %s out.pred.%zu rel L2 %.3e\n", name, c10::toString(dtype), i, err);
        EXPECT_MSG(pred[i].is_cuda() && err < tolerance, std::string(name) + " " + c10::toString(dtype));
      }
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: test-dit-model FIXTURES_DIR\n");
    return 2;
  }
  fixtures = argv[1];
  c10::AutoGradMode no_grad(false);
  at::manual_seed(7);
  try {
    samples_of_a_batch_are_independent();
    between_blocks_runs_after_every_block();
    bad_inputs_are_explained();
    bf16_model_keeps_float32_islands();
    fixtures_on_cuda();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "unexpected error: %s\n", e.what());
    ++wan::test::failures();
  }
  return wan::test::check_exit("test-dit-model");
}
