// wan::load_dit on every checkpoint layout: the dit-i2v-tiny fixture written as an official
// folder, a diffusers pipeline folder, a ComfyUI single file (also scaled-fp8 style) must all
// give the reference output, and so must the e2e case's released-style folder; the
// hyper-parameters come from the tensors when config.json is absent; broken checkpoints give
// errors naming the tensor or key.
//   test-dit-layouts FIXTURES_DIR
#include <ATen/ATen.h>
#include <c10/core/GradMode.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "models/dit/dit_loader.h"
#include "models/weights/checkpoint_layout.h"
#include "models/weights/safetensors.h"
#include "tests/unit/check.h"

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

fs::path fixtures;

fs::path tmpdir() {
  static fs::path d = [] {
    fs::path p = fs::temp_directory_path() / ("wan-test-dit-layouts-" + std::to_string(::getpid()));
    fs::create_directories(p);
    return p;
  }();
  return d;
}

json read_json(const fs::path& path) {
  std::ifstream in(path);
  return json::parse(in);
}

void write_text(const fs::path& path, const std::string& text) {
  fs::create_directories(path.parent_path());
  std::ofstream(path) << text;
}

double rel_l2(const at::Tensor& got, const at::Tensor& expected) {
  return (got.to(at::kDouble) - expected.to(at::kDouble)).norm().item<double>() /
         expected.to(at::kDouble).norm().item<double>();
}

// The dit-i2v-tiny case: its inputs, expected output and official weights.
struct I2VCase {
  json config = read_json(fixtures / "dit-i2v-tiny" / "config.json");
  wan::TensorMap weights = wan::load_safetensors((fixtures / "dit-i2v-tiny" / "weights.safetensors").string());
  wan::TensorMap io = wan::load_safetensors((fixtures / "dit-i2v-tiny" / "io.safetensors").string());

  at::Tensor in(const std::string& name) const { return io.at(name).to(at::kFloat); }

  int64_t seq_len = read_json(fixtures / "dit-i2v-tiny" / "case.json").at("args").at("seq_len").get<int64_t>();

  std::vector<at::Tensor> run(wan::WanModel& model) const {
    return model->forward({in("in.x.0")}, in("in.t"), {in("in.context.0")}, seq_len, in("in.clip_fea"), {in("in.y.0")});
  }
  at::Tensor expected() const { return io.at("out.pred.0"); }
};

const I2VCase& i2v() {
  static I2VCase c;
  return c;
}

fs::path write_official_folder(const std::string& name, const wan::TensorMap& weights, const json* config) {
  const fs::path dir = tmpdir() / name;
  fs::create_directories(dir);
  if (config) write_text(dir / "config.json", config->dump(2));
  wan::save_safetensors((dir / "diffusion_pytorch_model.safetensors").string(), weights, {{"format", "pt"}});
  return dir;
}

at::Tensor load_and_run(const fs::path& path, const std::optional<wan::DiTConfig>& config = std::nullopt) {
  wan::WanModel model = wan::load_dit(path.string(), {}, config);
  return i2v().run(model).at(0);
}

at::Tensor official_output() {
  static at::Tensor out = load_and_run(write_official_folder("official", i2v().weights, &i2v().config));
  return out;
}

void official_folder_reproduces_reference() {
  const double err = rel_l2(official_output(), i2v().expected());
  EXPECT_MSG(err < 1e-5, "official folder: rel L2 " + std::to_string(err));
}

json diffusers_config(const json& official) {
  const int64_t heads = official.at("num_heads"), dim = official.at("dim");
  return json{{"_class_name", "WanTransformer3DModel"},
              {"_diffusers_version", "0.33.0"},
              {"patch_size", {1, 2, 2}},
              {"num_attention_heads", heads},
              {"attention_head_dim", dim / heads},
              {"in_channels", official.at("in_dim")},
              {"out_channels", official.at("out_dim")},
              {"text_dim", official.at("text_dim")},
              {"freq_dim", official.at("freq_dim")},
              {"ffn_dim", official.at("ffn_dim")},
              {"num_layers", official.at("num_layers")},
              {"cross_attn_norm", true},
              {"qk_norm", "rms_norm_across_heads"},
              {"eps", official.at("eps")},
              {"image_dim", 1280},
              {"added_kv_proj_dim", dim},
              {"rope_max_seq_len", 1024},
              {"pos_embed_seq_len", nullptr}};
}

void diffusers_folder_gives_same_output() {
  const wan::TensorMap renamed = wan::from_official_names(wan::ModelFamily::DiT, "diffusers", i2v().weights);
  // The table must really rename: only the patch embedding keeps its official name.
  for (const auto& [name, t] : renamed)
    EXPECT_MSG(name.rfind("patch_embedding.", 0) == 0 || !i2v().weights.count(name), "not renamed: " + name);
  EXPECT(renamed.count("blocks.1.attn2.add_k_proj.weight") && renamed.count("blocks.0.attn2.norm_added_k.weight") &&
         renamed.count("scale_shift_table") && renamed.count("blocks.0.norm2.weight"));

  const fs::path root = tmpdir() / "diffusers";
  write_text(root / "model_index.json", R"({"_class_name": "WanImageToVideoPipeline"})");
  write_text(root / "transformer" / "config.json", diffusers_config(i2v().config).dump(2));
  wan::save_safetensors((root / "transformer" / "diffusion_pytorch_model.safetensors").string(), renamed);

  const wan::DiTCheckpoint ckpt = wan::read_dit_checkpoint(root.string());
  EXPECT_MSG(ckpt.layout == "diffusers", "detected " + ckpt.layout);
  EXPECT(ckpt.config && ckpt.config->model_type == wan::DiTModelType::I2V && ckpt.config->num_heads == 4);
  EXPECT(at::equal(load_and_run(root), official_output()));
}

wan::DiTConfig case_config(const std::string& name) {
  return wan::DiTConfig::from_json_file((fixtures / name / "config.json").string());
}

void comfyui_file_gives_same_output() {
  const fs::path file = tmpdir() / "wan2.1_i2v_tiny_comfyui.safetensors";
  wan::save_safetensors(file.string(), wan::from_official_names(wan::ModelFamily::DiT, "comfyui", i2v().weights));
  EXPECT(wan::read_dit_checkpoint(file.string()).layout == "comfyui");
  // A single file carries no num_heads; the tiny model's heads are not the released 128 wide.
  EXPECT_ERROR(load_and_run(file), "num_heads");
  EXPECT(at::equal(load_and_run(file, case_config("dit-i2v-tiny")), official_output()));
}

// ComfyUI's scaled fp8 files: weight / s stored with a per-tensor `scale_weight` s.
void scaled_weights_are_dequantized() {
  wan::TensorMap scaled;
  for (const auto& [name, t] : i2v().weights) {
    const std::string suffix = ".weight";
    if (t.dim() == 2 && name.size() > suffix.size() &&
        name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0) {
      const std::string base = name.substr(0, name.size() - suffix.size());
      scaled["model.diffusion_model." + name] = t.to(at::kFloat) / 4;  // exact: a power of two
      scaled["model.diffusion_model." + base + ".scale_weight"] = at::full({1}, 4.0f);
      scaled["model.diffusion_model." + base + ".scale_input"] = at::full({1}, 1.0f);
    } else {
      scaled["model.diffusion_model." + name] = t;
    }
  }
  scaled["scaled_fp8"] = at::empty({0}, at::kFloat);
  const fs::path file = tmpdir() / "scaled.safetensors";
  wan::save_safetensors(file.string(), scaled);
  EXPECT(at::equal(load_and_run(file, case_config("dit-i2v-tiny")), official_output()));

  scaled.erase("model.diffusion_model.blocks.0.ffn.0.weight");
  wan::save_safetensors(file.string(), scaled);
  EXPECT_ERROR(load_and_run(file, case_config("dit-i2v-tiny")), "blocks.0.ffn.0.weight");
}

void config_is_inferred_without_config_json() {
  // Everything but num_heads (and text_len, 512 unless given) follows from the shapes.
  for (const char* name : {"dit-t2v-tiny", "dit-i2v-tiny", "dit-flf2v-tiny"}) {
    const wan::DiTConfig expected = case_config(name);
    wan::DiTConfig inferred;
    inferred.num_heads = expected.num_heads;
    inferred.given = {"num_heads"};
    inferred.infer_from_weights(wan::load_safetensors((fixtures / name / "weights.safetensors").string()));
    EXPECT_MSG(inferred.model_type == expected.model_type, name);
    EXPECT_MSG(inferred.patch_size == expected.patch_size, name);
    EXPECT_MSG(
        inferred.dim == expected.dim && inferred.ffn_dim == expected.ffn_dim && inferred.freq_dim == expected.freq_dim,
        name);
    EXPECT_MSG(inferred.in_dim == expected.in_dim && inferred.out_dim == expected.out_dim, name);
    EXPECT_MSG(inferred.text_dim == expected.text_dim && inferred.num_layers == expected.num_layers, name);
    EXPECT_MSG(inferred.qk_norm && inferred.cross_attn_norm, name);
  }

  // A folder without config.json, hyper-parameters from the weights and one given key.
  const fs::path dir = write_official_folder("no-config", i2v().weights, nullptr);
  EXPECT(!wan::read_dit_checkpoint(dir.string()).config);
  wan::DiTConfig heads_only;
  heads_only.num_heads = i2v().config.at("num_heads");
  heads_only.given = {"num_heads"};
  EXPECT(at::equal(load_and_run(dir, heads_only), official_output()));
}

// A model with released-width heads needs nothing but its weights.
void released_head_width_needs_no_config() {
  wan::DiTConfig c;
  c.dim = 256;  // two 128-wide heads
  c.num_heads = 2;
  c.ffn_dim = 64;
  c.freq_dim = 32;
  c.text_dim = 16;
  c.in_dim = 4;
  c.out_dim = 4;
  c.num_layers = 1;
  c10::AutoGradMode no_grad(false);
  wan::WanModel model(c);
  wan::TensorMap state;
  for (const auto& p : model->named_parameters()) state[p.key()] = p.value();
  const fs::path file = tmpdir() / "released-heads.safetensors";
  wan::save_safetensors(file.string(), wan::from_official_names(wan::ModelFamily::DiT, "comfyui", state));

  wan::WanModel loaded = wan::load_dit(file.string(), {});
  EXPECT(loaded->config().num_heads == 2 && loaded->config().text_len == 512);
  const std::vector<at::Tensor> x = {at::randn({4, 2, 4, 4})};
  const std::vector<at::Tensor> ctx = {at::randn({7, 16})};
  const at::Tensor t = at::full({1}, 500.0);
  EXPECT(at::equal(loaded->forward(x, t, ctx, 8)[0], model->forward(x, t, ctx, 8)[0]));
}

void broken_checkpoints_name_the_problem() {
  wan::TensorMap w = i2v().weights;
  w["blocks.1.cross_attn.k.weight"] = at::zeros({64, 32});
  EXPECT_ERROR(load_and_run(write_official_folder("misshaped", w, &i2v().config)), "blocks.1.cross_attn.k.weight");

  w = i2v().weights;
  w.erase("blocks.0.self_attn.norm_k.weight");
  EXPECT_ERROR(load_and_run(write_official_folder("missing", w, &i2v().config)), "blocks.0.self_attn.norm_k.weight");

  // A zero size read off the weights divided by zero before the config was checked (SIGFPE).
  w = i2v().weights;
  w["patch_embedding.weight"] = at::zeros({64, 36, 0, 2, 2});
  EXPECT_ERROR(load_and_run(write_official_folder("zero-size", w, &i2v().config)), "every size must be 1 to");
  wan::DiTConfig zero;
  EXPECT_ERROR(zero.infer_from_weights(w), "patch_embedding.weight has shape");

  w = i2v().weights;
  w.erase("patch_embedding.weight");
  EXPECT_ERROR(load_and_run(write_official_folder("no-patch", w, &i2v().config)), "patch_embedding.weight");

  json config = i2v().config;
  config["ffn_dim"] = 256;
  EXPECT_ERROR(load_and_run(write_official_folder("conflict", i2v().weights, &config)), "ffn_dim");
  config = i2v().config;
  config["model_type"] = "t2v";
  EXPECT_ERROR(load_and_run(write_official_folder("wrong-type", i2v().weights, &config)), "model_type");

  EXPECT_ERROR(wan::read_dit_checkpoint((tmpdir() / "nowhere").string()), "does not exist");
  fs::create_directories(tmpdir() / "empty");
  EXPECT_ERROR(wan::read_dit_checkpoint((tmpdir() / "empty").string()), "diffusion_pytorch_model.safetensors");
}

// The end-to-end case's folder has the released layout: config.json without text_dim (it is
// 4096 here, read off the weights) and BF16 weights. Its first conditional prediction pins it.
void released_folder_reproduces_first_step() {
  const fs::path dir = fixtures / "e2e-i2v-tiny";
  wan::WanModel model = wan::load_dit((dir / "ckpt").string(), {});
  EXPECT(model->config().text_dim == 4096 && model->config().model_type == wan::DiTModelType::I2V);
  const wan::TensorMap io = wan::load_safetensors((dir / "io.safetensors").string());
  const int64_t seq_len = read_json(dir / "case.json").at("derived").at("max_seq_len").get<int64_t>();
  const at::Tensor pred =
      model->forward({io.at("out.noise")}, io.at("out.timesteps").slice(0, 0, 1), {io.at("out.context")}, seq_len,
                     io.at("out.clip_context"), {io.at("out.y")})[0];
  const double err = rel_l2(pred, io.at("out.noise_pred_cond")[0]);
  EXPECT_MSG(err < 1e-5, "e2e first step: rel L2 " + std::to_string(err));
}

void diffusers_config_names() {
  json j = diffusers_config(i2v().config);
  j["pos_embed_seq_len"] = 514;
  const wan::DiTConfig flf = wan::DiTConfig::from_json_text(j.dump(), "flf2v config");
  EXPECT(flf.model_type == wan::DiTModelType::FLF2V && flf.dim == 64 && flf.num_heads == 4 && flf.in_dim == 36);
  j["image_dim"] = nullptr;
  j["added_kv_proj_dim"] = nullptr;
  j["pos_embed_seq_len"] = nullptr;
  j["qk_norm"] = nullptr;
  const wan::DiTConfig t2v = wan::DiTConfig::from_json_text(j.dump(), "t2v config");
  EXPECT(t2v.model_type == wan::DiTModelType::T2V && !t2v.qk_norm);
  j["qk_norm"] = "rms_norm";
  EXPECT_ERROR(wan::DiTConfig::from_json_text(j.dump(), "bad config"), "qk_norm");
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: test-dit-layouts FIXTURES_DIR\n");
    return 2;
  }
  fixtures = argv[1];
  try {
    official_folder_reproduces_reference();
    diffusers_folder_gives_same_output();
    comfyui_file_gives_same_output();
    scaled_weights_are_dequantized();
    config_is_inferred_without_config_json();
    released_head_width_needs_no_config();
    broken_checkpoints_name_the_problem();
    released_folder_reproduces_first_step();
    diffusers_config_names();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "unexpected error: %s\n", e.what());
    ++wan::test::failures();
  }
  fs::remove_all(tmpdir());
  return wan::test::check_exit("test-dit-layouts");
}
