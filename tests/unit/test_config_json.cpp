// The config.json readers of the umT5, CLIP and VAE configs take integers only:
// a float (4.5, 1e300), an unsigned above INT64_MAX or a string in an integer
// field is a wan::Error naming the field, never a cast.
#include <cstdint>
#include <limits>
#include <string>

#include <nlohmann/json.hpp>

#include "models/clip/clip_config.h"
#include "models/common/error.h"
#include "models/common/json_integer.h"
#include "models/t5/t5_config.h"
#include "models/vae/vae_config.h"
#include "tests/unit/check.h"

namespace {

using nlohmann::json;

// The tiny fixtures' configs (tests/fixtures/t5-tiny, clip-tiny).
json t5_config() {
  return json::parse(R"({"vocab": 512, "dim": 32, "dim_attn": 32, "dim_ffn": 80, "num_heads": 4,
                         "num_layers": 2, "num_buckets": 32, "shared_pos": false})");
}

json clip_config() {
  return json::parse(R"({"image_size": 28, "patch_size": 14, "dim": 32, "mlp_ratio": 4, "num_heads": 4,
                         "num_layers": 3, "pool_type": "token", "pre_norm": true, "post_norm": false,
                         "activation": "gelu", "norm_eps": 1e-05, "preprocess": {"size": [28, 28]}})");
}

// Values no integer field may hold, as JSON text.
const char* const kBadIntegers[] = {"4.5",    "1e300", "-1e300", "32.0", "18446744073709551615",
                                    "\"32\"", "true",  "null",   "[32]"};

void test_json_integer() {
  EXPECT(wan::json_integer(json::parse("32"), "test", "k") == 32);
  EXPECT(wan::json_integer(json::parse("-7"), "test", "k") == -7);
  EXPECT(wan::json_integer(json::parse("9223372036854775807"), "test", "k") == std::numeric_limits<int64_t>::max());
  EXPECT(wan::json_integer(json::parse("-9223372036854775808"), "test", "k") == std::numeric_limits<int64_t>::min());
  EXPECT_ERROR(wan::json_integer(json::parse("9223372036854775808"), "test", "k"), "test: \"k\" is out of range");
  EXPECT_ERROR(wan::json_integer(json::parse("4.5"), "test", "k"), "test: \"k\" must be an integer, got 4.5");
  EXPECT(wan::json_integers(json::parse("[1, 2, 4]"), "test", "k") == (std::vector<int64_t>{1, 2, 4}));
  EXPECT_ERROR(wan::json_integers(json::parse("[1, 2.5]"), "test", "k"), "test: \"k\" must be an integer, got 2.5");
  EXPECT_ERROR(wan::json_integers(json::parse("4"), "test", "k"), "test: \"k\" must be a list of integers");
  // A huge value is cut short in the message.
  const std::string big = "\"" + std::string(10000, 'x') + "\"";
  try {
    wan::json_integer(json::parse(big), "test", "k");
    EXPECT_MSG(false, "no error for a string");
  } catch (const wan::Error& e) {
    EXPECT_MSG(std::string(e.what()).size() < 100, e.what());
  }
}

void test_t5() {
  const wan::T5Config good = wan::T5Config::from_json(t5_config());
  EXPECT(good.vocab == 512 && good.dim == 32 && good.dim_ffn == 80 && good.num_buckets == 32 && !good.shared_pos);
  for (const char* key : {"vocab", "dim", "dim_attn", "dim_ffn", "num_heads", "num_layers", "num_buckets"}) {
    for (const char* bad : kBadIntegers) {
      json config = t5_config();
      config[key] = json::parse(bad);
      EXPECT_ERROR(wan::T5Config::from_json(config), std::string("umT5 config: \"") + key + "\"");
    }
  }
}

void test_clip() {
  const wan::ClipVisionConfig good = wan::ClipVisionConfig::from_json(clip_config());
  EXPECT(good.image_size == 28 && good.patch_size == 14 && good.dim == 32 && good.num_layers == 3);
  for (const char* key : {"image_size", "patch_size", "dim", "num_heads", "num_layers"}) {
    for (const char* bad : kBadIntegers) {
      json config = clip_config();
      config[key] = json::parse(bad);
      EXPECT_ERROR(wan::ClipVisionConfig::from_json(config), std::string("CLIP vision config: \"") + key + "\"");
    }
  }
  for (const char* bad : kBadIntegers) {
    json config = clip_config();
    config["preprocess"]["size"][0] = json::parse(bad);
    EXPECT_ERROR(wan::ClipVisionConfig::from_json(config), "CLIP vision config: \"preprocess.size\"");
  }
}

void test_vae() {
  for (const char* key : {"dim", "base_dim", "z_dim", "num_res_blocks"}) {
    for (const char* bad : kBadIntegers) {
      json config = json::object();
      config[key] = json::parse(bad);
      EXPECT_ERROR(wan::vae::vae_config_from_json(config), std::string("VAE config: \"") + key + "\"");
    }
  }
  EXPECT_ERROR(wan::vae::vae_config_from_json(json::parse(R"({"dim_mult": [1, 2, 4.5, 4]})")),
               "VAE config: \"dim_mult\" must be an integer, got 4.5");
  EXPECT_ERROR(wan::vae::vae_config_from_json(json::parse(R"({"dim_mult": 4})")),
               "VAE config: \"dim_mult\" must be a list of integers");
}

}  // namespace

int main() {
  test_json_integer();
  test_t5();
  test_clip();
  test_vae();
  return wan::test::check_exit("test-config-json");
}
