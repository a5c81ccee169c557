// The Wan VAE: causal chunking, streaming decode, input validation and the
// checkpoint layouts load_vae accepts (official .pth, ComfyUI and diffusers
// safetensors). Numerical parity with the reference is wan-parity's job.
// usage: test-vae FIXTURES_DIR
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <unistd.h>

#include <ATen/ATen.h>
#include <c10/core/GradMode.h>
#include <nlohmann/json.hpp>

#include "models/checkpoint_layout.h"
#include "models/safetensors.h"
#include "models/vae/causal_conv3d.h"
#include "models/vae/vae_config.h"
#include "models/vae/vae_loader.h"
#include "models/vae/wan_vae.h"
#include "tests/unit/check.h"

namespace fs = std::filesystem;

namespace {

fs::path tmpdir() {
  static fs::path d = [] {
    fs::path p = fs::temp_directory_path() / ("wan-test-vae-" + std::to_string(::getpid()));
    fs::create_directories(p);
    return p;
  }();
  return d;
}

nlohmann::json read_json(const fs::path& p) {
  std::ifstream in(p);
  nlohmann::json j;
  in >> j;
  return j;
}

std::string shape(const at::Tensor& t) {
  std::string s;
  for (int64_t d : t.sizes()) s += std::to_string(d) + " ";
  return s;
}

// A cached chunk-by-chunk run equals one causal convolution over the whole sequence.
void causal_conv_chunks_equal_whole_sequence() {
  wan::vae::CausalConv3d conv = wan::vae::size_preserving_conv3d(3, 5);
  conv->weight.normal_();
  conv->bias.normal_();
  const at::Tensor x = at::randn({1, 3, 9, 6, 7});
  const at::Tensor whole = conv->forward(x);
  EXPECT(whole.sizes() == at::IntArrayRef({1, 5, 9, 6, 7}));

  wan::vae::CausalConvCache cache;
  std::vector<at::Tensor> pieces;
  for (auto [start, length] : std::vector<std::pair<int64_t, int64_t>>{{0, 1}, {1, 1}, {2, 4}, {6, 3}})
    pieces.push_back(conv->forward(x.narrow(2, start, length), cache));
  const at::Tensor chunked = at::cat(pieces, 2);
  EXPECT_MSG(at::allclose(chunked, whole, 1e-5, 1e-5),
             "max diff " + std::to_string((chunked - whole).abs().max().item<double>()));
  // Frame t does not see frame t + 1.
  at::Tensor changed = x.clone();
  changed.narrow(2, 5, 1).fill_(7);
  EXPECT(at::equal(conv->forward(changed).narrow(2, 0, 5), whole.narrow(2, 0, 5)));
}

wan::WanVAE tiny_vae(const fs::path& fixtures) {
  const fs::path dir = fixtures / "vae-tiny";
  return wan::WanVAE(wan::vae::vae_config_from_json(read_json(dir / "config.json")),
                     wan::load_safetensors((dir / "weights.safetensors").string()));
}

at::Tensor fixture_video(const fs::path& fixtures) {
  return wan::load_safetensors((fixtures / "vae-tiny" / "io.safetensors").string()).at("in.video")[0];
}

void encode_and_decode_shapes_and_causality(const wan::WanVAE& vae, const at::Tensor& video) {
  const at::Tensor latent = vae.encode(video);
  EXPECT_MSG(latent.sizes() == at::IntArrayRef({16, 3, 4, 4}), shape(latent));
  EXPECT(latent.scalar_type() == at::kFloat);

  // Latent frame 0 depends on video frame 0 only.
  const at::Tensor first = vae.encode(video.narrow(1, 0, 1));
  EXPECT_MSG(first.sizes() == at::IntArrayRef({16, 1, 4, 4}), shape(first));
  EXPECT(at::equal(first, latent.narrow(1, 0, 1)));

  const at::Tensor raw = vae.decode_raw(latent);
  const at::Tensor video_out = vae.decode(latent);
  EXPECT_MSG(video_out.sizes() == at::IntArrayRef({3, 9, 32, 32}), shape(video_out));
  EXPECT(at::equal(video_out, raw.clamp(-1, 1)));
  EXPECT(video_out.max().item<float>() <= 1.0f && video_out.min().item<float>() >= -1.0f);
  // Video frame 0 depends on latent frame 0 only.
  EXPECT(at::equal(vae.decode_raw(latent.narrow(1, 0, 1)), raw.narrow(1, 0, 1)));
}

void streaming_decode_matches_whole_decode(const wan::WanVAE& vae, const at::Tensor& video) {
  const at::Tensor latent = vae.encode(video);
  std::vector<at::Tensor> pieces;
  vae.decode_streaming(latent, [&](const at::Tensor& frames) { pieces.push_back(frames.clone()); });
  EXPECT(pieces.size() == 3);
  if (pieces.size() != 3) return;
  EXPECT_MSG(pieces[0].sizes() == at::IntArrayRef({3, 1, 32, 32}), shape(pieces[0]));
  EXPECT_MSG(pieces[1].sizes() == at::IntArrayRef({3, 4, 32, 32}), shape(pieces[1]));
  EXPECT_MSG(pieces[2].sizes() == at::IntArrayRef({3, 4, 32, 32}), shape(pieces[2]));
  EXPECT(at::equal(at::cat(pieces, 1), vae.decode(latent)));
}

void bad_inputs_are_explained(const wan::WanVAE& vae) {
  EXPECT_ERROR(vae.encode(at::zeros({1, 3, 9, 32, 32})), "expected a floating-point video [3, T, H, W]");
  EXPECT_ERROR(vae.encode(at::zeros({4, 9, 32, 32})), "got Float [4, 9, 32, 32]");
  EXPECT_ERROR(vae.encode(at::zeros({3, 8, 32, 32})), "T = 4n + 1 frames");
  EXPECT_ERROR(vae.encode(at::zeros({3, 1, 4, 32})), "H, W >= 8");
  EXPECT_ERROR(vae.encode(at::zeros({3, 1, 32, 32}, at::kByte)), "floating-point");
  EXPECT_ERROR(vae.decode(at::zeros({4, 3, 4, 4})), "expected a floating-point latent [16, F, h, w]");
  EXPECT_ERROR(vae.decode(at::zeros({16, 3, 4})), "got Float [16, 3, 4]");
  EXPECT_ERROR(vae.decode(at::zeros({16, 0, 4, 4})), "F, h, w >= 1");
}

// Wan2.1_VAE.pth of the e2e checkpoint folder: width 4 read off the weights.
void loads_the_official_pth(const fs::path& fixtures) {
  const fs::path pth = fixtures / "e2e-i2v-tiny" / "ckpt" / "Wan2.1_VAE.pth";
  const wan::WanVAE vae = wan::load_vae(pth.string());
  EXPECT(vae.config().dim == 4);
  EXPECT(vae.config().z_dim == 16);
  const at::Tensor latent = vae.encode(at::rand({3, 5, 16, 24}) * 2 - 1);
  EXPECT_MSG(latent.sizes() == at::IntArrayRef({16, 2, 2, 3}), shape(latent));
  EXPECT(latent.isfinite().all().item<bool>());
}

// The same weights under ComfyUI's file (official names) and diffusers' names
// give the same model.
void loads_comfyui_and_diffusers_layouts(const fs::path& fixtures, const wan::WanVAE& reference,
                                         const at::Tensor& video) {
  const wan::TensorMap official = wan::load_safetensors((fixtures / "vae-tiny" / "weights.safetensors").string());
  const at::Tensor expected = reference.decode(reference.encode(video));

  const fs::path comfy = tmpdir() / "wan_2.1_vae.safetensors";
  wan::save_safetensors(comfy.string(), official);
  const wan::WanVAE from_comfy = wan::load_vae(comfy.string());
  EXPECT(from_comfy.config().dim == 8);
  EXPECT(at::equal(from_comfy.decode(from_comfy.encode(video)), expected));

  // diffusers folder: vae/diffusion_pytorch_model.safetensors + vae/config.json.
  const wan::TensorMap diffusers = wan::from_official_names(wan::ModelFamily::VAE, "diffusers", official);
  EXPECT(diffusers.count("decoder.up_blocks.1.resnets.0.conv_shortcut.weight") == 1);
  EXPECT(diffusers.count("decoder.up_blocks.2.upsamplers.0.time_conv.weight") == 0);  // level 2 is 2-D only
  EXPECT(diffusers.count("decoder.up_blocks.1.upsamplers.0.time_conv.weight") == 1);
  EXPECT(diffusers.count("encoder.down_blocks.5.time_conv.bias") == 1);
  EXPECT(diffusers.count("encoder.mid_block.attentions.0.to_qkv.weight") == 1);
  EXPECT(diffusers.count("post_quant_conv.weight") == 1);
  const fs::path folder = tmpdir() / "vae";
  fs::create_directories(folder);
  wan::save_safetensors((folder / "diffusion_pytorch_model.safetensors").string(), diffusers);
  nlohmann::json config = {{"_class_name", "AutoencoderKLWan"}, {"base_dim", 8}, {"z_dim", 16}};
  config["latents_mean"] = std::vector<double>(16, 0.5);
  config["latents_std"] = std::vector<double>(16, 2.0);
  std::ofstream(folder / "config.json") << config.dump();
  const wan::WanVAE from_diffusers = wan::load_vae((folder / "diffusion_pytorch_model.safetensors").string());
  EXPECT(from_diffusers.config().latent_mean[3] == 0.5 && from_diffusers.config().latent_std[3] == 2.0);
  // Other latent statistics, same network: the unnormalised mean agrees.
  EXPECT(at::equal(from_diffusers.encode_unnormalized(video), reference.encode_unnormalized(video)));
  EXPECT(at::equal(from_diffusers.encode(video), (reference.encode_unnormalized(video) - 0.5) * 0.5));

  // Known names of the diffusers conversion script map onto the official ones.
  wan::TensorMap named;
  named["decoder.up_blocks.1.resnets.0.conv_shortcut.weight"] = at::zeros({1});
  named["decoder.up_blocks.2.upsamplers.0.resample.1.bias"] = at::zeros({1});
  named["decoder.up_blocks.3.resnets.2.norm2.gamma"] = at::zeros({1});
  named["decoder.mid_block.resnets.1.conv2.weight"] = at::zeros({1});
  named["encoder.down_blocks.2.resample.1.weight"] = at::zeros({1});
  named["quant_conv.bias"] = at::zeros({1});
  std::string layout;
  const auto renamed = wan::to_official_names(wan::ModelFamily::VAE, named, &layout);
  EXPECT(layout == "diffusers");
  for (const char* name : {"decoder.upsamples.4.shortcut.weight", "decoder.upsamples.11.resample.1.bias",
                           "decoder.upsamples.14.residual.3.gamma", "decoder.middle.2.residual.6.weight",
                           "encoder.downsamples.2.resample.1.weight", "conv1.bias"})
    EXPECT_MSG(renamed.count(name) == 1, name);

  // Not a VAE at all.
  const fs::path dit = fixtures / "dit-t2v-tiny" / "weights.safetensors";
  EXPECT_ERROR(wan::load_vae(dit.string()), "is not a Wan2.1 VAE checkpoint");
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: test-vae FIXTURES_DIR\n");
    return 2;
  }
  c10::AutoGradMode no_grad(false);
  const fs::path fixtures = argv[1];
  causal_conv_chunks_equal_whole_sequence();
  const wan::WanVAE vae = tiny_vae(fixtures);
  const at::Tensor video = fixture_video(fixtures);
  encode_and_decode_shapes_and_causality(vae, video);
  streaming_decode_matches_whole_decode(vae, video);
  bad_inputs_are_explained(vae);
  loads_the_official_pth(fixtures);
  loads_comfyui_and_diffusers_layouts(fixtures, vae, video);
  fs::remove_all(tmpdir());
  return wan::test::check_exit("test-vae");
}
