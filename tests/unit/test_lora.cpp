// LoRA files as users download them: the same LoRA written in every format (kohya, Wan-Fun,
// official names with and without `diffusion_model.`, lora_A/lora_B, diffusers PEFT, a
// torch.save archive) changes the same parameters by the same amounts; run-time LoRAs give
// the merged forward and follow strength changes; several LoRAs (negative strengths too)
// add up; bad files and lists fail with errors that name the problem.
//   test-lora FIXTURES_DIR
#include <ATen/ATen.h>
#include <c10/core/GradMode.h>

#include <filesystem>
#include <fstream>
#include <functional>

#include <unistd.h>

#include "models/common/error.h"
#include "models/dit/dit_config.h"
#include "models/dit/dit_loader.h"
#include "models/dit/linear.h"
#include "models/dit/lora_adapters.h"
#include "models/dit/wan_model.h"
#include "models/weights/checkpoint_layout.h"
#include "models/weights/pth_writer.h"
#include "models/weights/safetensors.h"
#include "models/weights/state_dict.h"
#include "tests/unit/check.h"

namespace fs = std::filesystem;

namespace {

fs::path fixtures, scratch;

// Relative L2 of a against b.
double rel(const at::Tensor& a, const at::Tensor& b) { return ((a - b).norm() / b.norm()).item<double>(); }

struct TinyDiT {
  wan::WanModel model{nullptr};
  wan::TensorMap weights;
};

TinyDiT load_t2v() {
  const fs::path dir = fixtures / "dit-t2v-tiny";
  std::ifstream in(dir / "config.json");
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  TinyDiT dit;
  dit.model = wan::WanModel(wan::DiTConfig::from_json_text(text, "config.json"), at::TensorOptions(),
                            wan::ParameterInit::Uninitialized);
  dit.weights = wan::load_safetensors((dir / "weights.safetensors").string());
  wan::load_state_dict(*dit.model, dit.weights, "dit-t2v-tiny");
  dit.model->eval();
  return dit;
}

std::map<std::string, at::Tensor> params(wan::WanModelImpl& m) {
  std::map<std::string, at::Tensor> out;
  for (const auto& p : m.named_parameters()) out.emplace(p.key(), p.value().clone());
  return out;
}

double max_difference(const std::map<std::string, at::Tensor>& a, const std::map<std::string, at::Tensor>& b) {
  double worst = 0;
  for (const auto& [name, t] : a) worst = std::max(worst, (t - b.at(name)).abs().max().item<double>());
  return worst;
}

// The kohya fixture's LoRA under official module names: "blocks.0.self_attn.q" -> its tensors.
std::map<std::string, std::map<std::string, at::Tensor>> official_lora() {
  const wan::TensorMap kohya = wan::load_safetensors((fixtures / "dit-lora-kohya" / "lora0.safetensors").string());
  TinyDiT dit = load_t2v();
  std::map<std::string, std::string> by_kohya;
  for (const auto& p : dit.model->named_parameters()) {
    std::string m = p.key().substr(0, p.key().rfind('.')), k = m;
    for (auto& c : k)
      if (c == '.') c = '_';
    by_kohya["lora_unet_" + k] = m;
  }
  std::map<std::string, std::map<std::string, at::Tensor>> out;
  for (const auto& [key, t] : kohya) {
    const size_t dot = key.find('.');
    out[by_kohya.at(key.substr(0, dot))][key.substr(dot + 1)] = t;
  }
  return out;
}

fs::path write(const std::string& name, const wan::TensorMap& tensors) {
  const fs::path path = scratch / name;
  if (path.extension() == ".pt")
    wan::save_pth(path.string(), tensors);
  else
    wan::save_safetensors(path.string(), tensors);
  return path;
}

// The fixture LoRA written in another format: `module` maps an official module path to the
// file's, `down` / `up` name the pair.
fs::path write_as(const std::string& name, const std::function<std::string(const std::string&)>& module,
                  const char* down, const char* up, bool with_alpha) {
  wan::TensorMap out;
  for (const auto& [m, parts] : official_lora()) {
    const std::string k = module(m);
    out[k + "." + down] = parts.at("lora_down.weight");
    out[k + "." + up] = parts.at("lora_up.weight");
    if (with_alpha) out[k + ".alpha"] = parts.at("alpha");
  }
  return write(name, out);
}

std::string underscored(std::string s) {
  for (auto& c : s)
    if (c == '.') c = '_';
  return s;
}

// LoRAs to apply on the CPU in float32.
wan::LoadOptions loras_at(wan::LoraMode mode, std::vector<wan::LoraSpec> files) {
  wan::LoadOptions options;
  options.loras = std::move(files);
  options.lora_mode = mode;
  return options;
}

std::map<std::string, at::Tensor> merged_with(const fs::path& lora, double strength) {
  TinyDiT dit = load_t2v();
  wan::apply_loras(*dit.model, loras_at(wan::LoraMode::Merge, {{lora.string(), strength}}), dit.weights);
  return params(*dit.model);
}

void every_format_changes_the_same_parameters() {
  const fs::path kohya = fixtures / "dit-lora-kohya" / "lora0.safetensors";
  const auto expected = merged_with(kohya, 0.8);
  const auto base = params(*load_t2v().model);
  EXPECT(max_difference(expected, base) > 1e-3);  // the LoRA does change the model

  // alpha 2 / rank 4: files without .alpha have alpha / rank = 1, so they carry half the up.
  auto without_alpha = [&](const std::string& name, const std::function<std::string(const std::string&)>& module,
                           const char* down, const char* up) {
    wan::TensorMap out;
    for (const auto& [m, parts] : official_lora()) {
      const double alpha_over_rank = parts.at("alpha").item<double>() / parts.at("lora_down.weight").size(0);
      out[module(m) + "." + down] = parts.at("lora_down.weight");
      out[module(m) + "." + up] = parts.at("lora_up.weight") * alpha_over_rank;
    }
    return write(name, out);
  };
  const std::vector<std::pair<std::string, fs::path>> files = {
      {"official with prefix, lora_down/up",
       write_as(
           "official.safetensors", [](const std::string& m) { return "diffusion_model." + m; }, "lora_down.weight",
           "lora_up.weight", true)},
      {"official without prefix, lora_A/B",
       without_alpha(
           "bare.safetensors", [](const std::string& m) { return m; }, "lora_A.weight", "lora_B.weight")},
      {"Wan-Fun (lora_unet__)",
       write_as(
           "wanfun.safetensors", [](const std::string& m) { return "lora_unet__" + underscored(m); },
           "lora_down.weight", "lora_up.weight", true)},
      {"diffusers PEFT", without_alpha(
                             "peft.safetensors",
                             [](const std::string& m) {
                               const auto diffusers = wan::from_official_names(wan::ModelFamily::DiT, "diffusers",
                                                                               {{m + ".weight", at::zeros({1})}});
                               const std::string name = diffusers.begin()->first;
                               return "transformer." + name.substr(0, name.size() - 7);
                             },
                             "lora_A.weight", "lora_B.weight")},
      {"torch.save archive", write_as(
                                 "kohya.pt", [](const std::string& m) { return "lora_unet_" + underscored(m); },
                                 "lora_down.weight", "lora_up.weight", true)},
  };
  for (const auto& [what, path] : files) {
    const double d = max_difference(merged_with(path, 0.8), expected);
    EXPECT_MSG(d < 1e-6, what + ": max difference " + std::to_string(d));
  }
}

// A Wan-Fun file is told by its lora_unet__ prefix, whichever layers it holds: one that
// touches only blocks.0.self_attn.q changes that layer alone.
void wan_fun_file_of_one_layer() {
  const auto q = official_lora().at("blocks.0.self_attn.q");
  const at::Tensor down = q.at("lora_down.weight"), up = q.at("lora_up.weight");
  const double alpha = q.at("alpha").item<double>();
  const fs::path file = write("wanfun-q.safetensors", {{"lora_unet__blocks_0_self_attn_q.lora_down.weight", down},
                                                       {"lora_unet__blocks_0_self_attn_q.lora_up.weight", up},
                                                       {"lora_unet__blocks_0_self_attn_q.alpha", q.at("alpha")}});
  TinyDiT dit = load_t2v();
  const wan::LoraFile lora = wan::read_lora_file(file.string(), wan::parameter_shapes(*dit.model));
  EXPECT_MSG(lora.format == "wan-fun", lora.format);
  EXPECT(lora.patches.size() == 1 && lora.patches.count("blocks.0.self_attn.q.weight") == 1);

  const auto base = params(*dit.model);
  auto merged = merged_with(file, 0.8);
  const at::Tensor expected = base.at("blocks.0.self_attn.q.weight") + at::mm(up, down) * (0.8 * alpha / down.size(0));
  EXPECT(at::allclose(merged.at("blocks.0.self_attn.q.weight"), expected, 1e-5, 1e-6));
  EXPECT(!at::allclose(expected, base.at("blocks.0.self_attn.q.weight")));
  merged.erase("blocks.0.self_attn.q.weight");
  for (const auto& [name, t] : merged) EXPECT_MSG(at::equal(t, base.at(name)), name + " changed");
}

void full_deltas_reach_norms_biases_and_modulation() {
  TinyDiT dit = load_t2v();
  const auto base = params(*dit.model);
  const at::Tensor norm = at::randn_like(base.at("blocks.0.norm3.weight"));
  const at::Tensor bias = at::randn_like(base.at("blocks.1.ffn.2.bias"));
  const at::Tensor modulation = at::randn_like(base.at("blocks.0.modulation"));
  const fs::path file = write("diffs.safetensors", {{"diffusion_model.blocks.0.norm3.diff", norm},
                                                    {"diffusion_model.blocks.1.ffn.2.diff_b", bias},
                                                    {"diffusion_model.blocks.0.modulation.diff", modulation}});
  const auto merged = merged_with(file, -0.5);
  EXPECT(at::allclose(merged.at("blocks.0.norm3.weight"), base.at("blocks.0.norm3.weight") - 0.5 * norm));
  EXPECT(at::allclose(merged.at("blocks.1.ffn.2.bias"), base.at("blocks.1.ffn.2.bias") - 0.5 * bias));
  EXPECT(at::allclose(merged.at("blocks.0.modulation"), base.at("blocks.0.modulation") - 0.5 * modulation));
}

// ComfyUI's rounding: W + (up @ down) * float32(strength * alpha / rank), the scale one double
// product and one float32 multiply (alpha / rank = 0.75 and strength 0.7 are not exact).
void merge_rounds_like_comfyui() {
  TinyDiT dit = load_t2v();
  const at::Tensor w = dit.weights.at("blocks.1.self_attn.o.weight").clone();
  const at::Tensor down = at::randn({4, 64}), up = at::randn({64, 4});
  const fs::path file = write("alpha3.safetensors", {{"lora_unet_blocks_1_self_attn_o.lora_down.weight", down},
                                                     {"lora_unet_blocks_1_self_attn_o.lora_up.weight", up},
                                                     {"lora_unet_blocks_1_self_attn_o.alpha", at::tensor(3.0f)}});
  const at::Tensor expected = w + at::mm(up, down).mul_(0.7 * (3.0 / 4.0));
  EXPECT(at::equal(merged_with(file, 0.7).at("blocks.1.self_attn.o.weight"), expected));
}

std::vector<at::Tensor> forward(wan::WanModelImpl& model) {
  c10::AutoGradMode no_grad(false);
  at::manual_seed(7);
  const at::Tensor x = at::randn({16, 2, 4, 4}), context = at::randn({6, model.config().text_dim});
  return model.forward({x}, at::full({1}, 500.0), {context}, 8);
}

void runtime_loras_follow_their_strengths() {
  const fs::path kohya = fixtures / "dit-lora-kohya" / "lora0.safetensors";
  TinyDiT merged = load_t2v();
  wan::apply_loras(*merged.model, loras_at(wan::LoraMode::Merge, {{kohya.string(), 0.8}}), merged.weights);
  TinyDiT base = load_t2v();
  TinyDiT runtime = load_t2v();
  wan::apply_loras(*runtime.model, loras_at(wan::LoraMode::Runtime, {{kohya.string(), 0.8}}), runtime.weights);
  EXPECT(runtime.model->runtime_loras != nullptr);
  // The weights themselves stay the base model's.
  EXPECT(max_difference(params(*runtime.model), params(*base.model)) == 0);

  const at::Tensor want = forward(*merged.model)[0], plain = forward(*base.model)[0];
  EXPECT_MSG(rel(forward(*runtime.model)[0], want) < 1e-5, std::to_string(rel(forward(*runtime.model)[0], want)));
  runtime.model->set_lora_strengths({0.0});
  EXPECT(rel(forward(*runtime.model)[0], plain) == 0);
  runtime.model->set_lora_strengths({0.8});
  EXPECT(rel(forward(*runtime.model)[0], want) < 1e-5);
  EXPECT_ERROR(runtime.model->set_lora_strengths({1.0, 2.0}), "2 given for 1 files");
}

// With block swap the blocks' weights wait in device slots between forwards; a strength
// change must reach the blocks already there (full deltas rewrite the host copies).
void block_swap_sees_strength_changes_at_once() {
  TinyDiT probe = load_t2v();
  const auto base = params(*probe.model);
  const fs::path file =
      write("swap-diffs.safetensors",
            {{"diffusion_model.blocks.0.norm3.diff", at::randn_like(base.at("blocks.0.norm3.weight"))},
             {"diffusion_model.blocks.0.modulation.diff", 0.1 * at::randn_like(base.at("blocks.0.modulation"))}});
  TinyDiT merged = load_t2v();
  wan::apply_loras(*merged.model, loras_at(wan::LoraMode::Merge, {{file.string(), 0.8}}), merged.weights);
  TinyDiT swapped = load_t2v();
  wan::apply_loras(*swapped.model, loras_at(wan::LoraMode::Runtime, {{file.string(), 0.8}}), swapped.weights);
  swapped.model->stream_blocks_from_host(at::kCPU);
  const at::Tensor want = forward(*merged.model)[0], plain = forward(*probe.model)[0];
  EXPECT(rel(want, plain) > 1e-3);  // the deltas do change the output
  EXPECT(rel(forward(*swapped.model)[0], want) < 1e-6);
  swapped.model->set_lora_strengths({0.0});
  EXPECT_MSG(rel(forward(*swapped.model)[0], plain) < 1e-6, "strength 0 right after a forward at 0.8");
  swapped.model->set_lora_strengths({0.8});
  EXPECT_MSG(rel(forward(*swapped.model)[0], want) < 1e-6, "strength 0.8 right after a forward at 0");
  EXPECT_ERROR(probe.model->set_lora_strengths({1.0}), "no LoRAs");
}

// The GELU layer's widened GEMM on CUDA, [x | x down^T] [W | scale up]^T, is the layer's
// projection plus its adapters' terms (an adapter at strength 0 adds no columns).
void adapter_columns_give_the_adapted_projection() {
  at::manual_seed(3);
  wan::dit::Linear layer(32, 48);
  layer->adapters.push_back({at::randn({4, 32}), at::randn({48, 4}), 0.7});
  layer->adapters.push_back({at::randn({3, 32}), at::randn({48, 3}), 0.0});
  layer->adapters.push_back({at::randn({2, 32}), at::randn({48, 2}), -1.3});
  const at::Tensor x = at::randn({5, 32});
  const auto [xa, wa] = layer->with_adapter_columns(x);
  EXPECT(xa.sizes() == at::IntArrayRef({5, 38}) && wa.sizes() == at::IntArrayRef({48, 38}));
  const at::Tensor widened = at::matmul(xa, wa.t()) + layer->bias;
  EXPECT_MSG(rel(widened, layer->forward(x)) < 1e-6, std::to_string(rel(widened, layer->forward(x))));
  EXPECT(rel(layer->forward(x), at::linear(x, layer->weight, layer->bias)) > 1e-2);  // the adapters count
}

// Where the fused kernels run, each adapted layer's GEMM accumulates onto its adapters' terms
// and bias, written first: for q, k and v stacked into one GEMM, each layer gets its own
// adapters (any rank, strength 0 adding nothing, none at all) and its own bias, or none.
void stacked_layers_take_their_own_adapters() {
  at::manual_seed(5);
  wan::dit::Linear q(24, 16), k(24, 16), v(24, 16);
  q->adapters.push_back({at::randn({4, 24}), at::randn({16, 4}), 0.7});
  q->adapters.push_back({at::randn({3, 24}), at::randn({16, 3}), 0.0});
  v->adapters.push_back({at::randn({8, 24}), at::randn({16, 8}), -1.3});
  v->adapters.push_back({at::randn({5, 24}), at::randn({16, 5}), 0.4});
  const at::Tensor x = at::randn({2, 5, 24});
  const at::Tensor weight = at::cat({q->weight, k->weight, v->weight}), bias = at::cat({q->bias, k->bias, v->bias});
  const at::Tensor y = wan::dit::linear_with_adapters(x, weight, bias, {q.get(), k.get(), v.get()});
  EXPECT(y.sizes() == at::IntArrayRef({2, 5, 48}));
  const at::Tensor want = at::cat({q->forward(x), k->forward(x), v->forward(x)}, -1);
  auto plain = [&](wan::dit::Linear& l) {
    at::Tensor out = at::linear(x, l->weight, l->bias);
    for (const auto& a : l->adapters) out = out + a.scale * at::matmul(at::matmul(x, a.down.t()), a.up.t());
    return out;
  };
  EXPECT_MSG(rel(y, want) < 1e-6, std::to_string(rel(y, want)));
  EXPECT_MSG(rel(want, at::cat({plain(q), plain(k), plain(v)}, -1)) < 1e-6, "forward() is the adapted projection");
  EXPECT(rel(y, at::linear(x, weight, bias)) > 1e-2);  // the adapters count
  // The bias left pending: the same without it.
  const at::Tensor unbiased = wan::dit::linear_with_adapters(x, weight, at::Tensor(), {q.get(), k.get(), v.get()});
  EXPECT(rel(unbiased + bias, y) < 1e-6);
}

void several_loras_add_up() {
  const fs::path kohya = fixtures / "dit-lora-kohya" / "lora0.safetensors";
  TinyDiT dit = load_t2v();
  const auto base = params(*dit.model);
  wan::apply_loras(*dit.model, loras_at(wan::LoraMode::Merge, {{kohya.string(), 0.7}, {kohya.string(), -0.7}}),
                   dit.weights);
  EXPECT(max_difference(params(*dit.model), base) < 1e-6);
}

void bad_files_are_named() {
  TinyDiT dit = load_t2v();
  const wan::ParameterShapes shapes = wan::parameter_shapes(*dit.model);
  const auto down = at::randn({4, 32}), up = at::randn({32, 4});
  EXPECT_ERROR(wan::read_lora_file(
                   write("loha.safetensors", {{"lora_unet_blocks_0_self_attn_q.hada_w1_a", down}}).string(), shapes),
               "is a LoHa adapter");
  EXPECT_ERROR(
      wan::read_lora_file(write("lokr.safetensors", {{"lora_unet_blocks_0_ffn_0.lokr_w1", down}}).string(), shapes),
      "is a LoKr adapter");
  // Keys of another model: named, with the format.
  EXPECT_ERROR(
      wan::read_lora_file(write("other.safetensors", {{"lora_unet_blocks_0_cross_attn_k_img.lora_down.weight", down},
                                                      {"lora_unet_blocks_0_cross_attn_k_img.lora_up.weight", up}})
                              .string(),
                          shapes),
      "(kohya format, by its keys): 1 of its keys reach no parameter of this model: "
      "'lora_unet_blocks_0_cross_attn_k_img.lora_down.weight'");
  // A LoRA for a wider model: both keys with their own shapes, their product's, the parameter's.
  EXPECT_ERROR(wan::read_lora_file(write("wide.safetensors",
                                         {{"diffusion_model.blocks.0.self_attn.q.lora_A.weight", at::randn({4, 96})},
                                          {"diffusion_model.blocks.0.self_attn.q.lora_B.weight", at::randn({128, 4})}})
                                       .string(),
                                   shapes),
               "'diffusion_model.blocks.0.self_attn.q.lora_B.weight' [128, 4] x "
               "'diffusion_model.blocks.0.self_attn.q.lora_A.weight' [4, 96] gives [128, 96]; the model's "
               "blocks.0.self_attn.q.weight is [64, 64] (a LoRA made for another model");
  EXPECT_ERROR(
      wan::read_lora_file(
          write("half.safetensors", {{"diffusion_model.blocks.0.self_attn.q.lora_A.weight", down}}).string(), shapes),
      "has no up matrix");
  // An up matrix holding more than [out, rank] (applied as up.flatten(1), it cannot multiply down); a conv-shaped
  // [out, rank, 1] one is a matrix.
  const auto q_pair = [](const at::Tensor& lora_up) {
    return wan::TensorMap{{"diffusion_model.blocks.0.self_attn.q.lora_A.weight", at::randn({4, 64})},
                          {"diffusion_model.blocks.0.self_attn.q.lora_B.weight", lora_up}};
  };
  EXPECT_ERROR(wan::resolve_lora("up3d.safetensors", q_pair(at::randn({64, 4, 2})), shapes),
               "[64, 4, 2] are not a down / up pair of one rank");
  EXPECT(wan::resolve_lora("conv.safetensors", q_pair(at::randn({64, 4, 1})), shapes).patches.size() == 1);
  // A truncated download.
  const fs::path whole = fixtures / "dit-lora-kohya" / "lora0.safetensors";
  const fs::path cut = scratch / "truncated.safetensors";
  fs::copy_file(whole, cut, fs::copy_options::overwrite_existing);
  fs::resize_file(cut, fs::file_size(whole) / 2);
  EXPECT_ERROR(wan::read_lora_file(cut.string(), shapes), "LoRA " + cut.string() + ":");
  EXPECT_ERROR(wan::read_lora_file((scratch / "missing.safetensors").string(), shapes), "does not exist");

  // Nothing is half-applied: a bad second file leaves the model as it was.
  const auto before = params(*dit.model);
  EXPECT_ERROR(
      wan::apply_loras(*dit.model, loras_at(wan::LoraMode::Merge, {{whole.string(), 1.0}, {cut.string(), 1.0}}),
                       dit.weights),
      "truncated.safetensors");
  EXPECT(max_difference(params(*dit.model), before) == 0);
}

void lists_parse() {
  const auto list = wan::parse_lora_list(" a.safetensors:0.5, /x/b.pt ,c:d/e.safetensors:-1.25");
  EXPECT(list.size() == 3);
  EXPECT(list[0].path == "a.safetensors" && list[0].strength == 0.5);
  EXPECT(list[1].path == "/x/b.pt" && list[1].strength == 1.0);
  EXPECT(list[2].path == "c:d/e.safetensors" && list[2].strength == -1.25);
  EXPECT(wan::parse_lora_list("").empty());
  EXPECT_ERROR(wan::parse_lora_list("a.safetensors:strong"), "must be a number, got 'strong'");
  EXPECT_ERROR(wan::parse_lora_list("a.safetensors:nan"), "must be a number");
  EXPECT(wan::lora_list_text(list) == "a.safetensors:0.5,/x/b.pt:1,c:d/e.safetensors:-1.25");
  // One entry on its own (a --lora value): commas belong to the path.
  const wan::LoraSpec one = wan::parse_lora_spec(" /x/a,b.safetensors:0.5 ");
  EXPECT(one.path == "/x/a,b.safetensors" && one.strength == 0.5);
  EXPECT(wan::parse_lora_spec("c:d/e,f.pt").path == "c:d/e,f.pt" && wan::parse_lora_spec("c:d/e,f.pt").strength == 1.0);
  EXPECT_ERROR(wan::parse_lora_spec(":0.5"), "names no file");
  EXPECT_ERROR(wan::parse_lora_spec(" "), "names no file");
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: test-lora FIXTURES_DIR\n");
    return 2;
  }
  fixtures = argv[1];
  scratch = fs::temp_directory_path() / ("test-lora-" + std::to_string(::getpid()));
  fs::create_directories(scratch);
  lists_parse();
  every_format_changes_the_same_parameters();
  wan_fun_file_of_one_layer();
  full_deltas_reach_norms_biases_and_modulation();
  merge_rounds_like_comfyui();
  runtime_loras_follow_their_strengths();
  block_swap_sees_strength_changes_at_once();
  adapter_columns_give_the_adapted_projection();
  stacked_layers_take_their_own_adapters();
  several_loras_add_up();
  bad_files_are_named();
  fs::remove_all(scratch);
  return wan::test::check_exit("test-lora");
}
