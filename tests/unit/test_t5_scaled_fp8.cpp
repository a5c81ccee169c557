// ComfyUI's scaled-fp8 umT5 (umt5_xxl_fp8_e4m3fn_scaled.safetensors): the
// tiny reference encoder's Linear weights quantised to float8 e4m3fn with a
// per-tensor scale_weight, in transformers names, written to a file. Loading
// must give exactly fp8.to(float32) * scale, and the encoder's output must stay
// within fp8's precision of the float32 reference. Scales per output channel
// (LightX2V's X.weight_scale [out, 1], or [out]) scale each row.
//   test-t5-scaled-fp8 T5_CASE_DIR WORK_DIR
#include <cmath>
#include <filesystem>
#include <string>

#include <c10/core/GradMode.h>

#include "models/t5/t5_loader.h"
#include "models/weights/checkpoint_layout.h"
#include "models/weights/model_weights.h"
#include "models/weights/safetensors.h"
#include "tests/unit/check.h"

namespace fs = std::filesystem;

namespace {

constexpr double kE4m3Max = 448;

// float8 e4m3fn codes of x (|x| <= 448) with round-to-nearest-even, from tensor
// ops alone (libtorch 1.13 has no float8 dtype), and the float32 value each code
// stands for. A value a in [2^e, 2^(e+1)) is m * 2^(e-3) with m in [8, 16];
// below 2^-6 the subnormals share e = -6. The code is ((e + 7) << 3) + m - 8,
// which also holds when m rounds up to 16 (the carry bumps the exponent) and
// for subnormals (exponent field 0).
struct E4m3 {
  at::Tensor codes;   // U8
  at::Tensor values;  // float32
};

E4m3 quantize_e4m3(const at::Tensor& x) {
  const at::Tensor a = x.abs();
  const at::Tensor e = at::floor(at::log2(a)).clamp(-6, 8);  // log2(0) = -inf -> the subnormal exponent
  const at::Tensor ulp = at::exp2(e - 3);
  const at::Tensor m = at::round(a / ulp);  // exact division by a power of two; ties to even
  const at::Tensor negative = x < 0;
  const at::Tensor code = (e + 7) * 8 + m - 8 + negative.to(at::kFloat) * 128;
  const at::Tensor magnitude = m * ulp;
  return {code.to(at::kByte), at::where(negative, -magnitude, magnitude)};
}

bool is_linear_weight(const std::string& name, const at::Tensor& t) {
  return name.rfind("encoder.block.", 0) == 0 && t.dim() == 2 &&
         name.find("relative_attention_bias") == std::string::npos;
}

double relative_l2(const at::Tensor& out, const at::Tensor& ref) {
  return ((out.to(at::kDouble) - ref.to(at::kDouble)).norm() / ref.to(at::kDouble).norm()).item<double>();
}

void scaled_fp8_checkpoint(const fs::path& case_dir, const fs::path& work) {
  const wan::TensorMap official = wan::load_safetensors((case_dir / "weights.safetensors").string());
  const wan::TensorMap transformers = wan::from_official_names(wan::ModelFamily::T5, "transformers", official);

  wan::TensorMap file;
  std::map<std::string, std::string> fp8_names;
  wan::TensorMap fp8_values;  // transformers name -> what its fp8 codes stand for
  wan::TensorMap expected;    // transformers name -> the dequantised weight
  for (const auto& [name, w] : transformers) {
    if (!is_linear_weight(name, w)) {
      file[name] = w;
      continue;
    }
    // A scale that is not a power of two, so the product is really rounded.
    const at::Tensor scale = w.abs().max() / kE4m3Max;
    const E4m3 q = quantize_e4m3(w / scale);
    const std::string base = name.substr(0, name.size() - std::string(".weight").size());
    file[name] = q.codes;
    fp8_names[name] = "F8_E4M3";
    file[base + ".scale_weight"] = scale;  // 0-d float32, as ComfyUI stores it
    fp8_values[name] = q.values;
    expected[name] = q.values * scale;
  }
  file["scaled_fp8"] = at::empty({0}, at::kByte);
  fp8_names["scaled_fp8"] = "F8_E4M3";
  EXPECT(expected.size() == 7 * static_cast<size_t>(wan::T5Config::from_weights(official).num_layers));
  const fs::path path = work / "umt5_tiny_fp8_e4m3fn_scaled.safetensors";
  wan::save_safetensors(path.string(), file, {}, fp8_names);

  // The file's fp8 tensors read back as the codes' values.
  const wan::TensorMap read = wan::read_t5_checkpoint(path.string());
  for (const auto& [name, values] : fp8_values) EXPECT_MSG(at::equal(read.at(name).to(at::kFloat), values), name);

  const wan::ModelWeights prepared = wan::prepare_weights(wan::ModelFamily::T5, read, path.string(), {});
  const wan::TensorMap& loaded = prepared.tensors;
  EXPECT(prepared.layout == "transformers");
  EXPECT(loaded.size() == official.size());
  const wan::TensorMap expected_official = wan::to_official_names(wan::ModelFamily::T5, expected);
  for (const auto& [name, w] : official) {
    if (!loaded.count(name)) {
      EXPECT_MSG(false, "missing " + name);
      continue;
    }
    const at::Tensor& want = expected_official.count(name) ? expected_official.at(name) : w;
    EXPECT_MSG(loaded.at(name).scalar_type() == at::kFloat && at::equal(loaded.at(name), want), name);
  }

  // The model holds exactly those values; the output is the reference's within fp8 precision.
  const wan::TensorMap io = wan::load_safetensors((case_dir / "io.safetensors").string());
  c10::AutoGradMode no_grad(false);
  wan::T5Encoder model = wan::load_t5_encoder(read, path.string());
  for (const auto& p : model->named_parameters()) EXPECT_MSG(at::equal(p.value(), loaded.at(p.key())), p.key());
  const at::Tensor ids = io.at("in.ids"), mask = io.at("in.mask"), reference = io.at("out.hidden");
  const double error = relative_l2(model->forward(ids, mask), reference);
  std::printf("scaled-fp8 umT5 vs the float32 reference: relative L2 %.3g\n", error);
  // e4m3 keeps 3 mantissa bits (epsilon 2^-3): each weight moves by up to 2^-4 of
  // itself (2.5 % in L2 here), the 14 quantised layers add up to about twice that.
  EXPECT_MSG(error > 0 && error < 0.125, "relative L2 error " + std::to_string(error));

  // Loading into bfloat16 dequantises straight to bfloat16, with the same rounding as a float32 load would.
  wan::T5Encoder bf16 = wan::load_t5_encoder(read, path.string(), wan::LoadOptions{at::kCPU, at::kBFloat16});
  for (const auto& p : bf16->named_parameters())
    EXPECT_MSG(at::equal(p.value(), loaded.at(p.key()).to(at::kBFloat16)), p.key());
}

void malformed_scales(const fs::path& case_dir) {
  const wan::TensorMap official = wan::load_safetensors((case_dir / "weights.safetensors").string());
  const wan::TensorMap transformers = wan::from_official_names(wan::ModelFamily::T5, "transformers", official);
  const std::string weight = "encoder.block.1.layer.1.DenseReluDense.wo.weight";
  const std::string scale = "encoder.block.1.layer.1.DenseReluDense.wo.scale_weight";

  wan::TensorMap orphan = transformers;
  orphan.erase(weight);
  orphan[scale] = at::full({1}, 0.5f);
  EXPECT_ERROR(wan::load_t5_encoder(orphan, "orphan.safetensors"), weight);

  // A scale per output channel, [out] (ComfyUI's name) or [out, 1] (LightX2V's X.weight_scale),
  // scales each row of the weight; any other shape is refused.
  const at::Tensor w = transformers.at(weight);
  const at::Tensor channel_scales = at::arange(1, w.size(0) + 1, at::kFloat) / w.size(0);
  const at::Tensor want = w.to(at::kFloat) * channel_scales.view({-1, 1});
  const std::string official_weight = *wan::official_name(wan::ModelFamily::T5, "transformers", weight);
  for (const bool lightx2v : {false, true}) {
    wan::TensorMap per_channel = transformers;
    if (lightx2v)
      per_channel["encoder.block.1.layer.1.DenseReluDense.wo.weight_scale"] = channel_scales.view({-1, 1});
    else
      per_channel[scale] = channel_scales;
    const wan::ModelWeights prepared = wan::prepare_weights(wan::ModelFamily::T5, per_channel, "per_channel", {});
    EXPECT_MSG(prepared.tensors.at(official_weight).equal(want),
               lightx2v ? "[out, 1] weight_scale" : "[out] scale_weight");
    EXPECT(!prepared.tensors.count(official_weight + "_scale"));
  }
  // Both names at once would scale the weight twice: refused, naming both.
  wan::TensorMap twice = transformers;
  twice[scale] = channel_scales;
  twice["encoder.block.1.layer.1.DenseReluDense.wo.weight_scale"] = channel_scales.view({-1, 1});
  EXPECT_ERROR(wan::load_t5_encoder(twice, "twice.safetensors"), "has two scales, " + scale + " and");
  wan::TensorMap misshaped = transformers;
  misshaped[scale] = at::ones({2, w.size(0) / 2});
  EXPECT_ERROR(wan::load_t5_encoder(misshaped, "misshaped.safetensors"), "one per output channel");

  // Only the scale and marker tensors are consumed: anything else unknown is reported.
  wan::TensorMap extra = transformers;
  extra["encoder.block.0.layer.0.SelfAttention.q.bias"] = at::zeros({4});
  EXPECT_ERROR(wan::load_t5_encoder(extra, "extra.safetensors"), "encoder.block.0.layer.0.SelfAttention.q.bias");
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: test-t5-scaled-fp8 T5_CASE_DIR WORK_DIR\n");
    return 2;
  }
  try {
    fs::create_directories(argv[2]);
    scaled_fp8_checkpoint(argv[1], argv[2]);
    malformed_scales(argv[1]);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "test-t5-scaled-fp8: %s\n", e.what());
    return 1;
  }
  return wan::test::check_exit("test-t5-scaled-fp8");
}
