// wan::TextEncoder: contexts equal the encoder's trimmed output at the full
// text length, and the in-memory and on-disk caches spare the encoder for a
// repeated prompt (and only for the same checkpoint).
//   test-text-encoder T5_CASE_DIR TOKENIZER_MODEL WORK_DIR
#include <filesystem>
#include <string>
#include <vector>

#include <c10/core/GradMode.h>

#include "models/common/error.h"
#include "models/t5/t5_loader.h"
#include "models/t5/text_encoder.h"
#include "models/weights/safetensors.h"
#include "tests/unit/check.h"

namespace fs = std::filesystem;

namespace {

double rel_error(const at::Tensor& a, const at::Tensor& b) {
  return ((a.to(at::kDouble) - b.to(at::kDouble)).norm() / b.to(at::kDouble).norm()).item<double>();
}

int run(const fs::path& t5_case, const std::string& tokenizer_model, const fs::path& work) {
  fs::remove_all(work);
  fs::create_directories(work);
  const fs::path checkpoint = work / "umt5.safetensors";
  fs::copy_file(t5_case / "weights.safetensors", checkpoint);
  const fs::path cache = work / "cache";

  std::vector<std::string> warnings;
  wan::TextEncoderOptions options;
  options.checkpoint = checkpoint.string();
  options.tokenizer = tokenizer_model;
  options.cache_dir = cache.string();
  options.on_warning = [&](const std::string& w) { warnings.push_back(w); };

  const std::vector<std::string> prompts = {"A small red house on a green hill.", "镜头晃动，色调艳丽", ""};
  wan::TextEncoder encoder(options);
  const std::vector<at::Tensor> contexts = encoder.encode(prompts);
  EXPECT(encoder.encoder_runs() == 3);

  // The reference runs the encoder on all 512 positions and trims afterwards.
  {
    c10::AutoGradMode no_grad(false);
    wan::T5Encoder model = wan::load_t5_encoder(checkpoint.string());
    const wan::TokenizedPrompts tokens = encoder.tokenizer().encode(prompts);
    const auto expected = wan::trim_to_mask(model->forward(tokens.ids, tokens.mask), tokens.mask);
    for (size_t i = 0; i < prompts.size(); ++i) {
      EXPECT(contexts[i].sizes() == expected[i].sizes());
      EXPECT_MSG(rel_error(contexts[i], expected[i]) < 1e-6, "prompt " + std::to_string(i));
    }
  }

  // Repeated prompts come from memory.
  const at::Tensor again = encoder.encode(prompts[0]);
  EXPECT(encoder.encoder_runs() == 3 && at::equal(again, contexts[0]));
  encoder.encode(std::vector<std::string>{"another prompt", "another prompt"});
  EXPECT(encoder.encoder_runs() == 4);

  // A new encoder over the same checkpoint reads the disk cache.
  {
    wan::TextEncoder fresh(options);
    const auto cached = fresh.encode(prompts);
    EXPECT(fresh.encoder_runs() == 0);
    for (size_t i = 0; i < prompts.size(); ++i) EXPECT(at::equal(cached[i], contexts[i]));
  }
  // A changed checkpoint file is another model: the cache does not apply.
  fs::last_write_time(checkpoint, fs::last_write_time(checkpoint) + std::chrono::seconds(5));
  {
    wan::TextEncoder changed(options);
    changed.encode(prompts[0]);
    EXPECT(changed.encoder_runs() == 1);
  }
  // Without a cache folder nothing is written and every new encoder recomputes.
  {
    wan::TextEncoderOptions memory_only = options;
    memory_only.cache_dir.clear();
    wan::TextEncoder a(memory_only);
    a.encode(prompts[0]);
    EXPECT(a.encoder_runs() == 1);
  }

  // Over-long prompts are truncated with a warning.
  std::string long_prompt;
  for (int i = 0; i < 600; ++i) long_prompt += "house ";
  EXPECT(encoder.encode(long_prompt).size(0) == 512);
  EXPECT(!warnings.empty() && warnings.back().find("longer than 511") != std::string::npos);

  wan::TextEncoderOptions missing = options;
  missing.checkpoint = (work / "nothing.safetensors").string();
  EXPECT_ERROR(wan::TextEncoder{missing}, "not found");
  missing = options;
  missing.tokenizer = (work / "nothing.model").string();
  EXPECT_ERROR(wan::TextEncoder{missing}, "tokenizer model not found");
  return wan::test::check_exit("test-text-encoder");
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 4) {
    std::fprintf(stderr, "usage: test-text-encoder T5_CASE_DIR TOKENIZER_MODEL WORK_DIR\n");
    return 2;
  }
  try {
    return run(argv[1], argv[2], argv[3]);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "test-text-encoder: %s\n", e.what());
    return 1;
  }
}
