// The Wan VAE: causal chunking, streaming decode, input validation, tiled
// decode, bfloat16 against float32, and the checkpoint layouts load_vae
// accepts (official .pth, ComfyUI and diffusers safetensors). Numerical parity
// with the reference is wan-parity's job.
// usage: test-vae FIXTURES_DIR
#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <unistd.h>

#include <ATen/ATen.h>
#include <c10/core/GradMode.h>
#include <nlohmann/json.hpp>

#include "models/vae/causal_conv3d.h"
#include "models/vae/frames.h"
#include "models/vae/tiled_decode.h"
#include "models/vae/vae_config.h"
#include "models/vae/vae_loader.h"
#include "models/vae/wan_vae.h"
#include "models/weights/checkpoint_layout.h"
#include "models/weights/safetensors.h"
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

double rel_l2(const at::Tensor& got, const at::Tensor& expected) {
  return ((got.to(at::kDouble) - expected.to(at::kDouble)).norm() / expected.to(at::kDouble).norm()).item<double>();
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

  // Frame by frame (the path CUDA takes for single frames), mixed with chunks:
  // the cache's slots take turns, and a chunk after them reads the frames in time order.
  wan::vae::CausalConvCache frame_cache;
  pieces.clear();
  for (auto [start, length] :
       std::vector<std::pair<int64_t, int64_t>>{{0, 1}, {1, 1}, {2, 1}, {3, 1}, {4, 1}, {5, 2}, {7, 1}, {8, 1}}) {
    const at::Tensor piece = x.narrow(2, start, length);
    pieces.push_back(length == 1 ? conv->forward_frame(piece, frame_cache).sum() : conv->forward(piece, frame_cache));
  }
  const at::Tensor by_frame = at::cat(pieces, 2);
  EXPECT_MSG(at::allclose(by_frame, whole, 1e-5, 1e-5),
             "frame by frame: max diff " + std::to_string((by_frame - whole).abs().max().item<double>()));
  EXPECT_ERROR(conv->forward_frame(x.narrow(2, 0, 2), frame_cache), "one frame");
  EXPECT_ERROR(wan::vae::pointwise_conv3d(3, 5)->forward_frame(x.narrow(2, 0, 1), frame_cache), "one frame");
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

// The tile grid covers the latent with the asked overlap, and neighbouring
// blend weights add up to 1 across each overlap.
// One frame of a channels-last video, as the decode cuts them on CUDA, must still look
// channels-last to libtorch's layout guess, or upsampling and convolutions take their NCHW
// paths and copy every full-resolution frame between layouts.
void single_frames_keep_the_channels_last_layout() {
  const at::Tensor chunk = at::randn({1, 8, 4, 6, 10}).contiguous(at::MemoryFormat::ChannelsLast3d);
  const at::Tensor piece = chunk.split(1, 2)[1];
  const at::Tensor frames = wan::vae::video_to_frames(piece);
  EXPECT(frames.suggest_memory_format() == at::MemoryFormat::ChannelsLast);
  EXPECT(frames.equal(piece.squeeze(2)));
  const at::Tensor up = at::upsample_nearest2d(frames, {12, 20});
  EXPECT(up.suggest_memory_format() == at::MemoryFormat::ChannelsLast);
  const at::Tensor video = wan::vae::frames_to_video(up, 1);
  EXPECT(video.suggest_memory_format() == at::MemoryFormat::ChannelsLast3d);
  EXPECT(video.equal(up.unsqueeze(2)));
  // Plain (NCDHW) videos, as on the CPU, are left as they are.
  const at::Tensor plain = at::randn({1, 8, 1, 6, 10});
  EXPECT(wan::vae::video_to_frames(plain).is_contiguous());
}

void tile_grid_and_blend_weights() {
  const auto spans = wan::vae::tile_spans(13, 6, 2);  // starts 0, 4, 7 (the last one aligned to the end)
  EXPECT(spans.size() == 3);
  if (spans.size() != 3) return;
  EXPECT(spans[0].start == 0 && spans[1].start == 4 && spans[2].start == 7);
  EXPECT(spans[0].overlap_before == 0 && spans[0].overlap_after == 2);
  EXPECT(spans[1].overlap_before == 2 && spans[1].overlap_after == 3);
  EXPECT(spans[2].overlap_before == 3 && spans[2].overlap_after == 0);
  EXPECT(spans[2].start + spans[2].size == 13);
  EXPECT(wan::vae::tile_spans(13, 0, 2).size() == 1 && wan::vae::tile_spans(13, 13, 2).size() == 1);

  // Summed over the spans, every pixel's weight is 1.
  const int64_t scale = 8;
  at::Tensor sum = at::zeros({13 * scale});
  for (const auto& s : spans)
    sum.narrow(0, s.start * scale, s.size * scale).add_(wan::vae::span_blend_weights(s, scale, at::kFloat));
  EXPECT_MSG(at::allclose(sum, at::ones_like(sum), 0, 1e-6), "weight sums from " +
                                                                 std::to_string(sum.min().item<double>()) + " to " +
                                                                 std::to_string(sum.max().item<double>()));
}

// A smooth video's latent, larger than the fixture's, so that it can be tiled.
at::Tensor smooth_latent(const wan::WanVAE& vae) {
  const at::Tensor t = at::linspace(0, 1, 9).view({1, 9, 1, 1});
  const at::Tensor y = at::linspace(0, 1, 64).view({1, 1, 64, 1});
  const at::Tensor x = at::linspace(0, 1, 64).view({1, 1, 1, 64});
  const at::Tensor phase = at::tensor({0.0f, 1.0f, 2.0f}).view({3, 1, 1, 1});
  const at::Tensor video = at::sin(6 * x + 4 * y + 2 * t + phase) * at::cos(5 * y - 3 * x + phase) * 0.8;
  return vae.encode(video);  // [16, 3, 8, 8]
}

wan::DecodeOptions tiling(int64_t h, int64_t w, int64_t overlap) {
  wan::DecodeOptions o;
  o.tile_latent_h = h, o.tile_latent_w = w, o.overlap = overlap;
  return o;
}

// The fixture's weights with a decoder that sees only its own latent pixel:
// the 3x3 spatial taps keep their centre, the attention adds nothing. Tiling
// cannot change what such a decoder computes, so any difference is the tiling's.
wan::WanVAE spatially_local_decoder(const fs::path& fixtures) {
  const fs::path dir = fixtures / "vae-tiny";
  wan::TensorMap weights = wan::load_safetensors((dir / "weights.safetensors").string());
  for (auto& [name, w] : weights) {
    if (name.rfind("decoder.", 0) != 0) continue;
    if (name.find(".proj.") != std::string::npos) {
      w = at::zeros_like(w);
    } else if (w.dim() >= 4 && w.size(-1) == 3) {
      at::Tensor centre = at::zeros_like(w);
      centre.narrow(-2, 1, 1).narrow(-1, 1, 1).copy_(w.narrow(-2, 1, 1).narrow(-1, 1, 1));
      w = centre;
    }
  }
  return wan::WanVAE(wan::vae::vae_config_from_json(read_json(dir / "config.json")), weights);
}

// Tiled decode: tiles are cropped, decoded and put back in the right place
// (exact, to rounding, for a decoder that sees only its own latent pixel),
// one tile covering the latent gives the untiled decode, streaming gives the
// same as the whole decode, and bad tilings are explained.
void tiled_decode_puts_tiles_together(const fs::path& fixtures, const wan::WanVAE& vae) {
  const at::Tensor latent = smooth_latent(vae);
  const wan::WanVAE local = spatially_local_decoder(fixtures);
  const at::Tensor untiled = local.decode(latent);
  for (const wan::DecodeOptions& tiles : {tiling(4, 4, 2), tiling(3, 0, 1), tiling(8, 5, 3)}) {
    const at::Tensor tiled = local.decode(latent, tiles);
    EXPECT_MSG(tiled.sizes() == untiled.sizes(), shape(tiled));
    const double err = rel_l2(tiled, untiled);
    EXPECT_MSG(err < 1e-6, "tiles " + std::to_string(tiles.tile_latent_h) + "x" + std::to_string(tiles.tile_latent_w) +
                               ": rel. L2 " + std::to_string(err));
  }
  EXPECT(at::equal(local.decode(latent, tiling(8, 8, 4)), untiled));

  std::vector<at::Tensor> pieces;
  const wan::DecodeOptions tiles = tiling(4, 4, 2);
  vae.decode_streaming(
      latent, [&](const at::Tensor& frames) { pieces.push_back(frames.clone()); }, tiles);
  EXPECT(pieces.size() == 3);
  const at::Tensor tiled = vae.decode(latent, tiles);
  EXPECT(at::equal(at::cat(pieces, 1), tiled));

  // With the fixture's own decoder, whose reach (random weights) is wider
  // than these tiles: the number quoted in tiled_decode.h.
  const double err = rel_l2(tiled, vae.decode(latent));
  std::printf("tiled decode 4x4 overlap 2 of an 8x8 latent, fixture weights: rel. L2 %.3g against untiled\n", err);
  EXPECT_MSG(err > 0, "a tiled decode equal to the untiled one: were the tiles decoded on their own?");

  EXPECT_ERROR(vae.decode(latent, tiling(4, 8, 4)), "overlap (4) must be smaller than the tile size (4 latent pixels)");
  EXPECT_ERROR(vae.decode_streaming(
                   latent, [](const at::Tensor&) {}, tiling(-1, 0, 0)),
               "must be >= 0");
}

// Whether this CPU's bfloat16 products accumulate in float32 (oneDNN on CPUs with AVX-512)
// or in bfloat16 (libtorch's fallback elsewhere, e.g. AVX2-only CPUs), measured on one
// product of 2048 terms: about 3e-3 against 5e-2 relative error.
bool cpu_bfloat16_accumulates_in_float32() {
  const at::Tensor a = at::randn({64, 2048}).to(at::kBFloat16), b = at::randn({2048, 64}).to(at::kBFloat16);
  return rel_l2(at::matmul(a, b), at::matmul(a.to(at::kDouble), b.to(at::kDouble))) < 1e-2;
}

// bfloat16 compute against float32 on the fixture (the rel. L2 printed here, on a CPU
// that accumulates in float32, is quoted in wan_vae.h).
void bfloat16_stays_close_to_float32(const fs::path& fixtures, const wan::WanVAE& vae, const at::Tensor& video) {
  const fs::path dir = fixtures / "vae-tiny";
  const wan::WanVAE bf16(wan::vae::vae_config_from_json(read_json(dir / "config.json")),
                         wan::load_safetensors((dir / "weights.safetensors").string()), at::kCPU, at::kBFloat16);
  const at::Tensor latent = vae.encode(video);
  const double encode_err = rel_l2(bf16.encode(video), latent);
  const at::Tensor decoded = bf16.decode(latent);
  EXPECT(decoded.scalar_type() == at::kFloat);
  const double decode_err = rel_l2(decoded, vae.decode(latent));
  // Products accumulated in bfloat16 lose about 15x more: the bound follows the CPU.
  const bool f32_sums = cpu_bfloat16_accumulates_in_float32();
  const double bound = f32_sums ? 5e-2 : 0.2;
  std::printf(
      "bfloat16 against float32: encode rel. L2 %.3g, decode rel. L2 %.3g (this CPU accumulates bfloat16 "
      "products in %s: bound %.2g)\n",
      encode_err, decode_err, f32_sums ? "float32" : "bfloat16", bound);
  EXPECT_MSG(encode_err < bound, "encode rel. L2 " + std::to_string(encode_err));
  EXPECT_MSG(decode_err < bound, "decode rel. L2 " + std::to_string(decode_err));
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

// parameter_shapes() (checked against a file before the network is built) is
// what the network has, for the released layout and another one.
void parameter_shapes_match_the_network() {
  const auto check = [](const wan::vae::VAEConfig& config) {
    const wan::vae::WanVAEModel model(config);
    const auto params = model->named_parameters();
    const auto expected = config.parameter_shapes();
    EXPECT_MSG(expected.size() == params.size(),
               std::to_string(expected.size()) + " shapes for " + std::to_string(params.size()) + " parameters");
    for (const auto& [name, shape] : expected) {
      const at::Tensor* p = params.find(name);
      EXPECT_MSG(p && p->sizes() == at::IntArrayRef(shape), name);
    }
  };
  wan::vae::VAEConfig released;
  released.dim = 4;
  check(released);
  wan::vae::VAEConfig other;
  other.dim = 6;
  other.z_dim = 4;
  other.dim_mult = {1, 2, 3};
  other.num_res_blocks = 1;
  other.attn_scales = {1.0, 0.5};
  other.temporal_downsample = {true, false};
  other.latent_mean = std::vector<double>(4, 0.0);
  other.latent_std = std::vector<double>(4, 1.0);
  check(other);
}

// The width is read off encoder.conv1.weight: a wide one in a small file made
// load_vae build (allocate) a network of that width before any shape was
// compared. Now every shape is checked first.
void wide_conv1_is_refused_before_building(const fs::path& fixtures) {
  const wan::TensorMap official = wan::load_safetensors((fixtures / "vae-tiny" / "weights.safetensors").string());
  wan::TensorMap wide = official;
  wide["encoder.conv1.weight"] = at::zeros({4096, 3, 3, 3, 3});
  wide["encoder.conv1.bias"] = at::zeros({4096});
  const auto start = std::chrono::steady_clock::now();
  EXPECT_ERROR(wan::load_vae(wide, wan::vae::VAEConfig{}, "wide.safetensors"),
               "encoder.downsamples.0.residual.0.gamma has shape [8, 1, 1, 1], expected [4096, 1, "
               "1, 1] for a VAE of dim 4096 and z_dim 16");
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_MSG(s < 2.0, "refusing a dim-4096 VAE took " + std::to_string(s) + " s");

  wide["encoder.conv1.weight"] = at::zeros({100000, 3, 3, 3, 3});
  EXPECT_ERROR(wan::load_vae(wide, wan::vae::VAEConfig{}, "wider.safetensors"),
               "VAE config: dim 100000 / z_dim 16 above the limit");

  // Only the two tensors the sizes are read from.
  wan::TensorMap two;
  two["encoder.conv1.weight"] = official.at("encoder.conv1.weight");
  two["conv2.weight"] = official.at("conv2.weight");
  EXPECT_ERROR(wan::load_vae(two, wan::vae::VAEConfig{}, "two.safetensors"),
               "lacks encoder.conv1.bias, which a VAE of dim 8 and z_dim 16");
}

// Encoding calls its hook before each chunk (frame 0, then 4 frames; single
// frames on CUDA); an exception thrown there stops it at once (a stop during a
// long clip's encode waited for the whole clip).
void encode_stops_between_frames(const wan::WanVAE& vae, const at::Tensor& video) {
  struct Stop {};
  int frames = 0;
  const at::Tensor whole = vae.encode(video, [&] { ++frames; });
  const int64_t chunks = 1 + (video.size(1) - 1) / 4;
  EXPECT_MSG(frames >= chunks, std::to_string(frames) + " hook calls for " + std::to_string(chunks) + " chunks");
  EXPECT(at::equal(whole, vae.encode(video)));
  frames = 0;
  bool stopped = false;
  try {
    vae.encode(video, [&] {
      if (++frames == 2) throw Stop();
    });
  } catch (const Stop&) {
    stopped = true;
  }
  EXPECT(stopped && frames == 2);
}

}  // namespace

int main(int argc, char** argv) {
  single_frames_keep_the_channels_last_layout();
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
  encode_stops_between_frames(vae, video);
  parameter_shapes_match_the_network();
  wide_conv1_is_refused_before_building(fixtures);
  tile_grid_and_blend_weights();
  tiled_decode_puts_tiles_together(fixtures, vae);
  bfloat16_stays_close_to_float32(fixtures, vae, video);
  loads_the_official_pth(fixtures);
  loads_comfyui_and_diffusers_layouts(fixtures, vae, video);
  fs::remove_all(tmpdir());
  return wan::test::check_exit("test-vae");
}
