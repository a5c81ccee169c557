// TAEW2.1's decoder without the reference (parity-taehv-tiny compares values): loading a
// checkpoint laid out as taew2_1 (encoder tensors beside, left out), the preview decoder
// taking each TGrow's last frame rows, output sizes, chunked decoding equal to one pass,
// and the errors a wrong file gets.
#include <unistd.h>

#include <filesystem>

#include <ATen/ATen.h>
#include <torch/torch.h>

#include "models/taehv/taehv_decoder.h"
#include "models/weights/safetensors.h"
#include "tests/common/random_taehv.h"
#include "tests/unit/check.h"

namespace {

namespace fs = std::filesystem;

// A checkpoint as taew2_1 holds it: the full decoder's tensors, random, plus encoder ones.
wan::TensorMap random_checkpoint() {
  wan::TensorMap weights = wan::test::random_taehv_weights(7);
  weights["encoder.0.weight"] = at::randn({64, 3, 3, 3});
  return weights;
}

void loads_and_decodes(const fs::path& dir) {
  const wan::TensorMap weights = random_checkpoint();
  const std::string path = (dir / "taew2_1.safetensors").string();
  wan::save_safetensors(path, weights);

  const auto full = wan::taehv::load_taehv_decoder(path, at::kCPU, at::kFloat);
  const at::Tensor latents = at::randn({5, 16, 3, 4});
  torch::NoGradGuard no_grad;
  const at::Tensor video = full->decode(latents, 5);
  EXPECT(video.sizes() == at::IntArrayRef({17, 3, 24, 32}));  // 1 + 4 (5 - 1) frames, x8 in space
  EXPECT(video.min().item<float>() >= 0 && video.max().item<float>() <= 1);
  for (const int64_t chunk : {1, 2, 3}) {
    const double diff = (full->decode(latents, chunk) - video).abs().max().item<double>();
    EXPECT_MSG(diff < 1e-5, "chunk " + std::to_string(chunk) + ": " + std::to_string(diff));
  }
  // Live mode's decode going on across calls: the video's first call 1 + 4 (F - 1) frames,
  // later ones 4 F, together the whole decode.
  wan::taehv::DecodeStream stream;
  const at::Tensor first = full->decode_continuing(latents.narrow(0, 0, 3), stream);
  const at::Tensor rest = full->decode_continuing(latents.narrow(0, 3, 2), stream);
  EXPECT(first.size(0) == 9 && rest.size(0) == 8);
  EXPECT_MSG((at::cat({first, rest}) - video).abs().max().item<double>() < 1e-5, "continuing = whole");

  const auto preview = wan::taehv::load_taehv_decoder(path, at::kCPU, at::kFloat, {/*temporal_upscale=*/false});
  EXPECT(preview->decode(latents).sizes() == at::IntArrayRef({5, 3, 24, 32}));
  // The preview's TGrow of stage 2 (decoder.13) keeps the last 128 of its 256 rows.
  const at::Tensor grow = preview->named_parameters()["decoder.13.conv.weight"];
  EXPECT(grow.size(0) == 128 && grow.equal(weights.at("decoder.13.conv.weight").narrow(0, 128, 128)));
}

void bad_files(const fs::path& dir) {
  wan::TensorMap weights = random_checkpoint();
  weights.erase("decoder.22.bias");
  const std::string missing = (dir / "missing.safetensors").string();
  wan::save_safetensors(missing, weights);
  EXPECT_ERROR(wan::taehv::load_taehv_decoder(missing, at::kCPU, at::kFloat), "decoder.22.bias");

  weights = random_checkpoint();
  weights["decoder.1.weight"] = at::randn({256, 48, 3, 3});  // TAEW2.2's 48 latent channels
  const std::string misshaped = (dir / "misshaped.safetensors").string();
  wan::save_safetensors(misshaped, weights);
  EXPECT_ERROR(wan::taehv::load_taehv_decoder(misshaped, at::kCPU, at::kFloat), "decoder.1.weight");

  const auto decoder = wan::taehv::load_taehv_decoder((dir / "taew2_1.safetensors").string(), at::kCPU, at::kFloat);
  EXPECT_ERROR(decoder->decode(at::randn({2, 48, 3, 4})), "[frames, 16, h, w]");
}

}  // namespace

int main() {
  const fs::path dir = fs::temp_directory_path() / ("test-taehv-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  loads_and_decodes(dir);
  bad_files(dir);
  fs::remove_all(dir);
  return wan::test::check_exit("test-taehv");
}
