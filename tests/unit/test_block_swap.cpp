// DiT block swap on the CPU (the swapper then copies host to host through its two slots):
// a block-swapped model computes exactly what the resident one does, pass after pass, for
// even and odd block counts and after a pass abandoned mid-way; outside a pass every block
// holds its own weights; the loader builds a swapped model from a checkpoint.
//   test-block-swap FIXTURES_DIR
#include <ATen/ATen.h>
#include <c10/core/GradMode.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>

#include "models/dit/block_swap.h"
#include "models/dit/dit_config.h"
#include "models/dit/dit_loader.h"
#include "models/dit/wan_model.h"
#include "models/weights/safetensors.h"
#include "models/weights/state_dict.h"
#include "tests/unit/check.h"

namespace fs = std::filesystem;

namespace {

fs::path fixtures;

// The i2v reference case's inputs and expected output.
struct I2VCase {
  wan::TensorMap io = wan::load_safetensors((fixtures / "dit-i2v-tiny" / "io.safetensors").string());
  int64_t seq_len = nlohmann::json::parse(std::ifstream(fixtures / "dit-i2v-tiny" / "case.json"))
                        .at("args")
                        .at("seq_len")
                        .get<int64_t>();
  at::Tensor in(const std::string& name) const { return io.at(name).to(at::kFloat); }
  std::vector<at::Tensor> run(wan::WanModel& model) const {
    return model->forward({in("in.x.0")}, in("in.t"), {in("in.context.0")}, seq_len, in("in.clip_fea"), {in("in.y.0")});
  }
};

wan::TensorMap weights_of(wan::WanModel& model) {
  wan::TensorMap w;
  for (const auto& p : model->named_parameters()) w.emplace(p.key(), p.value().clone());
  return w;
}

// A random t2v model with `layers` blocks and a second model with the same weights whose
// blocks stream from host memory.
std::pair<wan::WanModel, wan::WanModel> random_pair(int64_t layers) {
  wan::DiTConfig c;
  c.dim = 32, c.ffn_dim = 48, c.freq_dim = 16, c.num_heads = 2, c.num_layers = layers;
  c.text_len = 8, c.text_dim = 24, c.in_dim = 4, c.out_dim = 4;
  wan::WanModel resident(c);
  wan::WanModel swapped(c);
  wan::load_state_dict(*swapped, weights_of(resident), "the resident model");
  swapped->stream_blocks_from_host(at::kCPU);
  return {resident, swapped};
}

struct T2VInputs {
  std::vector<at::Tensor> x = {at::randn({4, 3, 4, 6}), at::randn({4, 1, 2, 2})};  // 18 and 1 tokens
  at::Tensor t = at::tensor({900.0, 37.0});
  std::vector<at::Tensor> context = {at::randn({8, 24}), at::randn({3, 24})};
  int64_t seq_len = 20;
};

bool same(const std::vector<at::Tensor>& a, const std::vector<at::Tensor>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (!at::equal(a[i], b[i])) return false;
  return true;
}

void reference_case_matches_resident_exactly() {
  const I2VCase c;
  const std::string dir = (fixtures / "dit-i2v-tiny").string();
  const wan::DiTConfig config = wan::DiTConfig::from_json_file(dir + "/config.json");
  const std::string weights = dir + "/weights.safetensors";
  wan::WanModel resident = wan::load_dit(weights, {}, config);
  wan::WanModel swapped = wan::load_dit(weights, {}, config, wan::DiTBlocks::StreamedFromHost);
  EXPECT_MSG(resident->block_swapper() == nullptr, "a resident model has a block swapper");
  EXPECT_MSG(swapped->block_swapper() != nullptr, "load_dit(StreamedFromHost) did not set up block swap");
  const std::vector<at::Tensor> want = c.run(resident);
  for (int pass = 0; pass < 3; ++pass)
    EXPECT_MSG(same(c.run(swapped), want), "pass " + std::to_string(pass) + " differs from the resident model");
  const double err = (want[0].to(at::kDouble) - c.io.at("out.pred.0").to(at::kDouble)).norm().item<double>() /
                     c.io.at("out.pred.0").to(at::kDouble).norm().item<double>();
  EXPECT_MSG(err < 1e-5, "resident model vs reference: rel L2 " + std::to_string(err));
}

void every_block_count_matches_resident() {
  for (int64_t layers : {1, 3, 4}) {
    auto [resident, swapped] = random_pair(layers);
    const T2VInputs in;
    const std::vector<at::Tensor> want = resident->forward(in.x, in.t, in.context, in.seq_len);
    for (int pass = 0; pass < 3; ++pass)
      EXPECT_MSG(same(swapped->forward(in.x, in.t, in.context, in.seq_len), want),
                 std::to_string(layers) + " blocks, pass " + std::to_string(pass));
    // Another batch shape through the same slots.
    const std::vector<at::Tensor> one = {in.x[1]};
    EXPECT_MSG(same(swapped->forward(one, in.t.slice(0, 1, 2), {in.context[1]}, 4),
                    resident->forward(one, in.t.slice(0, 1, 2), {in.context[1]}, 4)),
               std::to_string(layers) + " blocks, batch of one");
  }
}

struct Stop {};

void abandoned_pass_leaves_the_model_usable() {
  auto [resident, swapped] = random_pair(3);
  const T2VInputs in;
  int blocks = 0;
  bool stopped = false;
  try {
    swapped->forward(in.x, in.t, in.context, in.seq_len, {}, {}, [&] {
      if (++blocks == 2) throw Stop{};
    });
  } catch (const Stop&) {
    stopped = true;
  }
  EXPECT(stopped && blocks == 2);
  EXPECT_MSG(
      same(swapped->forward(in.x, in.t, in.context, in.seq_len), resident->forward(in.x, in.t, in.context, in.seq_len)),
      "the pass after an abandoned one differs");
}

// After a denoise the pipeline gives the slots' memory back for the decode; the next pass
// allocates them again and computes the same.
void freed_slots_come_back() {
  auto [resident, swapped] = random_pair(3);
  const T2VInputs in;
  const std::vector<at::Tensor> want = resident->forward(in.x, in.t, in.context, in.seq_len);
  EXPECT(same(swapped->forward(in.x, in.t, in.context, in.seq_len), want));
  swapped->free_block_slots();
  EXPECT(!swapped->block_swapper()->slots_allocated());
  swapped->free_block_slots();  // twice is harmless
  EXPECT_MSG(same(swapped->forward(in.x, in.t, in.context, in.seq_len), want), "the pass after freed slots differs");
  EXPECT(swapped->block_swapper()->slots_allocated());
  resident->free_block_slots();  // no block swap: nothing to free
  EXPECT(same(resident->forward(in.x, in.t, in.context, in.seq_len), want));
}

void blocks_hold_their_own_weights_between_passes() {
  auto [resident, swapped] = random_pair(3);
  const T2VInputs in;
  swapped->forward(in.x, in.t, in.context, in.seq_len);
  const wan::TensorMap want = weights_of(resident);
  int64_t block_bytes = 0;
  for (const auto& p : swapped->named_parameters()) {
    EXPECT_MSG(at::equal(p.value(), want.at(p.key())), p.key() + " changed");
    if (p.key().rfind("blocks.0.", 0) == 0) block_bytes += p.value().numel() * p.value().element_size();
  }
  const wan::dit::BlockSwapper& swapper = *swapped->block_swapper();
  EXPECT(swapper.num_blocks() == 3);
  // Each slot holds one block (plus alignment), the host all of them.
  EXPECT_MSG(
      swapper.slot_bytes() >= block_bytes && swapper.slot_bytes() < 2 * block_bytes,
      "slot of " + std::to_string(swapper.slot_bytes()) + " bytes for a block of " + std::to_string(block_bytes));
  EXPECT(swapper.host_bytes() >= 3 * block_bytes);
  EXPECT_ERROR(swapped->stream_blocks_from_host(at::kCPU), "already");
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: test-block-swap FIXTURES_DIR\n");
    return 2;
  }
  fixtures = argv[1];
  c10::AutoGradMode no_grad(false);
  at::manual_seed(11);
  try {
    reference_case_matches_resident_exactly();
    every_block_count_matches_resident();
    abandoned_pass_leaves_the_model_usable();
    freed_slots_come_back();
    blocks_hold_their_own_weights_between_passes();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "unexpected error: %s\n", e.what());
    ++wan::test::failures();
  }
  return wan::test::check_exit("test-block-swap");
}
