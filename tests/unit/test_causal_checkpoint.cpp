// Causal DiT checkpoints (models/dit/causal_checkpoint.h): Self-Forcing's training-checkpoint
// layout ({"generator": ..., "generator_ema": ..., "critic": ...}, names with or without
// "model.") written with the pth writer, read back to the official names (the EMA weights
// preferred), loaded by load_dit, and told apart from bidirectional checkpoints.
//   test-causal-checkpoint FIXTURES_DIR
#include <unistd.h>

#include <ATen/ATen.h>

#include <algorithm>
#include <filesystem>

#include "models/dit/causal_checkpoint.h"
#include "models/dit/dit_loader.h"
#include "models/weights/pth_file.h"
#include "models/weights/pth_writer.h"
#include "models/weights/safetensors.h"
#include "tests/unit/check.h"

namespace fs = std::filesystem;

namespace {

wan::TensorMap with_prefix(const wan::TensorMap& tensors, const std::string& prefix) {
  wan::TensorMap out;
  for (const auto& [name, t] : tensors) out[prefix + name] = t;
  return out;
}

bool same_tensors(const wan::TensorMap& a, const wan::TensorMap& b) {
  if (a.size() != b.size()) return false;
  for (const auto& [name, t] : a) {
    auto it = b.find(name);
    if (it == b.end() || !at::equal(it->second, t)) return false;
  }
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: test-causal-checkpoint FIXTURES_DIR\n");
    return 2;
  }
  const fs::path fixtures = argv[1];
  const fs::path dir = fs::temp_directory_path() / ("wan-test-causal-ckpt-" + std::to_string(::getpid()));
  fs::create_directories(dir / "self-forcing");
  const wan::TensorMap ema = wan::load_safetensors((fixtures / "dit-t2v-tiny" / "weights.safetensors").string());
  wan::TensorMap live;  // the non-EMA generator: other values, same names
  for (const auto& [name, t] : ema) live[name] = t + 1;

  // Self-Forcing's released layout: both generators under "model.", plus a critic.
  const fs::path pt = dir / "self-forcing" / "self_forcing_dmd.pt";
  wan::save_pth_dicts(pt.string(), {{"generator", with_prefix(live, "model.")},
                                    {"generator_ema", with_prefix(ema, "model.")},
                                    {"critic", {{"model.head.head.weight", at::zeros({3, 3})}}}});
  const auto names = wan::pth_tensor_names(pt.string());
  EXPECT_MSG(names.size() == 2 * ema.size() + 1, std::to_string(names.size()) + " names");
  EXPECT_MSG(std::count(names.begin(), names.end(), "generator_ema.model.blocks.0.modulation") == 1,
             "nested dicts are flattened with dots");
  EXPECT_MSG(same_tensors(wan::load_pth(pt.string(), "critic."), {{"model.head.head.weight", at::zeros({3, 3})}}),
             "load_pth with a prefix reads that dict alone");
  EXPECT_MSG(same_tensors(wan::read_causal_generator(pt.string()), ema), "generator_ema, official names");
  EXPECT_MSG(same_tensors(wan::read_causal_generator((dir / "self-forcing").string()), ema), "the folder's .pt");

  // Only "generator", names without the prefix.
  const fs::path plain = dir / "generator_only.pth";
  wan::save_pth_dicts(plain.string(), {{"generator", live}});
  EXPECT_MSG(same_tensors(wan::read_causal_generator(plain.string()), live), "generator without model.");

  // Kinds: causal training checkpoints against official / single-file / plain state dicts.
  using wan::DiTKind;
  EXPECT_MSG(wan::dit_checkpoint_kind(pt.string()) == DiTKind::Causal, "self_forcing_dmd.pt");
  EXPECT_MSG(wan::dit_checkpoint_kind((dir / "self-forcing").string()) == DiTKind::Causal, "its folder");
  EXPECT_MSG(wan::dit_checkpoint_kind((fixtures / "e2e-i2v-tiny" / "ckpt").string()) == DiTKind::Bidirectional,
             "official folder (with .pth encoders in it)");
  EXPECT_MSG(
      wan::dit_checkpoint_kind((fixtures / "dit-t2v-tiny" / "weights.safetensors").string()) == DiTKind::Bidirectional,
      "single .safetensors");
  const fs::path state_dict = dir / "state_dict.pth";
  wan::save_pth(state_dict.string(), ema);
  EXPECT_MSG(wan::dit_checkpoint_kind(state_dict.string()) == DiTKind::Bidirectional, "plain state_dict .pth");
  EXPECT_MSG(std::string(wan::to_string(DiTKind::Causal)) == "causal", "to_string");
  fs::create_directories(dir / "empty");
  EXPECT_ERROR(wan::dit_checkpoint_kind((dir / "empty").string()), "holds no DiT");
  EXPECT_ERROR(wan::dit_checkpoint_kind((dir / "missing").string()), "does not exist");
  EXPECT_ERROR(wan::read_causal_generator(state_dict.string()), "not a causal DiT checkpoint");
  fs::copy_file(plain, dir / "self-forcing" / "second.pt");
  EXPECT_ERROR(wan::read_causal_generator((dir / "self-forcing").string()), "name the file");
  fs::remove(dir / "self-forcing" / "second.pt");

  // load_dit builds the model from the .pt (config.json beside it, else the shapes decide).
  fs::copy_file(fixtures / "dit-t2v-tiny" / "config.json", dir / "self-forcing" / "config.json");
  const wan::DiTCheckpoint read = wan::read_dit_checkpoint(pt.string());
  EXPECT_MSG(read.layout == "causal" && read.config.has_value(), read.layout);
  const wan::WanModel model = wan::load_dit(pt.string(), wan::LoadOptions());
  wan::TensorMap params;
  for (const auto& p : model->named_parameters()) params[p.key()] = p.value();
  EXPECT_MSG(same_tensors(params, ema), "the loaded parameters are generator_ema's");
  EXPECT_MSG(model->config().num_heads == 4, "num_heads from config.json");

  fs::remove_all(dir);
  return wan::test::check_exit("test-causal-checkpoint");
}
