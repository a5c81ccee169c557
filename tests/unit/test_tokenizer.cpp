// umT5 tokenisation.
//   test-tokenizer fixture CASE_DIR: the e2e case's real spiece.model must give
//     exactly the reference's out.ids / out.mask for its prompt and the default
//     negative prompt, and the cleaned texts of case.json "derived".
//   test-tokenizer trained SPM_TRAIN WORK_DIR: trains a small SentencePiece model
//     with umT5's special ids and checks padding, </s>, truncation, Chinese text,
//     the empty prompt and the errors.
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "models/common/error.h"
#include "models/t5/text_cleaning.h"
#include "models/t5/tokenizer.h"
#include "models/weights/safetensors.h"
#include "tests/unit/check.h"

namespace fs = std::filesystem;

namespace {

int fixture(const fs::path& dir) {
  nlohmann::json meta;
  std::ifstream(dir / "case.json") >> meta;
  const auto& derived = meta.at("derived");
  const std::string prompt = meta.at("args").at("prompt");
  const std::string negative = derived.at("negative_prompt_used");

  EXPECT(wan::clean_prompt(prompt) == derived.at("prompt_cleaned").get<std::string>());
  EXPECT(wan::clean_prompt(negative) == derived.at("negative_prompt_cleaned").get<std::string>());

  const wan::TensorMap io = wan::load_safetensors((dir / "io.safetensors").string());
  const int64_t text_len = io.at("out.ids").size(1);
  wan::T5Tokenizer tokenizer((dir / meta.at("files").at("t5_tokenizer").get<std::string>()).string(), text_len);
  const wan::TokenizedPrompts t = tokenizer.encode({prompt, negative});
  EXPECT_MSG(at::equal(t.ids, io.at("out.ids")), "token ids differ from the reference");
  EXPECT_MSG(at::equal(t.mask, io.at("out.mask")), "masks differ from the reference");
  EXPECT(t.lengths.at(0) == derived.at("prompt_tokens").get<int64_t>());
  EXPECT(t.lengths.at(1) == derived.at("negative_prompt_tokens").get<int64_t>());
  EXPECT(!t.truncated.at(0) && !t.truncated.at(1));
  return wan::test::check_exit("test-tokenizer fixture");
}

std::vector<int64_t> row(const at::Tensor& t, int64_t i) {
  const at::Tensor r = t[i].contiguous();
  return std::vector<int64_t>(r.data_ptr<int64_t>(), r.data_ptr<int64_t>() + r.numel());
}

fs::path train_model(const std::string& spm_train, const fs::path& work) {
  fs::create_directories(work);
  const std::vector<std::string> english = {"a small red house",         "on a green hill",
                                            "under a bright yellow sun", "the camera slowly pans right",
                                            "white clouds drift by",     "a cat walks along the river",
                                            "night city lights"};
  const std::vector<std::string> chinese = {"一只红色的小房子", "镜头晃动", "色调艳丽", "过曝", "静态",
                                            "细节模糊不清",     "字幕",     "风格",     "作品", "画面",
                                            "最差质量"};
  {
    std::ofstream corpus(work / "corpus.txt");
    for (size_t i = 0; i < 300; ++i)
      corpus << english[i % english.size()] << ' ' << chinese[i % chinese.size()] << ", "
             << english[(i * 3 + 1) % english.size()] << ' ' << chinese[(i * 5 + 2) % chinese.size()] << '\n';
  }
  const fs::path prefix = work / "spiece";
  const std::string cmd =
      "'" + spm_train + "' --input='" + (work / "corpus.txt").string() + "' --model_prefix='" + prefix.string() +
      "' --vocab_size=150 --model_type=unigram --character_coverage=1.0 --pad_id=0 --eos_id=1"
      " --unk_id=2 --bos_id=-1 --hard_vocab_limit=false --num_threads=1 --random_seed=1 --minloglevel=2 > '" +
      (work / "spm_train.log").string() + "' 2>&1";
  if (std::system(cmd.c_str()) != 0) throw wan::Error("spm_train failed; see " + (work / "spm_train.log").string());
  return prefix.string() + ".model";
}

int trained(const std::string& spm_train, const fs::path& work) {
  if (!fs::exists(spm_train)) {
    std::printf("spm_train not found; skipped\n");
    return 77;
  }
  const std::string model = train_model(spm_train, work).string();
  const wan::T5Tokenizer tokenizer(model, 512);
  EXPECT(tokenizer.pad_id() == 0 && tokenizer.eos_id() == 1);

  // pieces, </s>, padding; the mask covers pieces and </s>.
  const std::string prompt = "a small red house on a green hill";
  const std::vector<int> pieces = tokenizer.pieces(wan::clean_prompt(prompt));
  EXPECT(!pieces.empty());
  wan::TokenizedPrompts t = tokenizer.encode({prompt, "  " + prompt + "\n"});
  EXPECT(t.ids.sizes() == at::IntArrayRef({2, 512}) && t.ids.scalar_type() == at::kLong);
  const auto ids = row(t.ids, 0), mask = row(t.mask, 0);
  const size_t n = pieces.size();
  for (size_t i = 0; i < n; ++i) EXPECT(ids[i] == pieces[i] && mask[i] == 1);
  EXPECT(ids[n] == 1 && mask[n] == 1);
  for (size_t i = n + 1; i < 512; ++i) EXPECT(ids[i] == 0 && mask[i] == 0);
  EXPECT(t.lengths[0] == static_cast<int64_t>(n + 1) && !t.truncated[0]);
  EXPECT_MSG(at::equal(t.ids[0], t.ids[1]), "surrounding whitespace changed the tokens");

  // Truncation keeps </s> as the 512th token.
  std::string long_prompt;
  for (int i = 0; i < 400; ++i) long_prompt += "a cat walks along the river ";
  t = tokenizer.encode({long_prompt});
  const std::vector<int> long_pieces = tokenizer.pieces(wan::clean_prompt(long_prompt));
  EXPECT(long_pieces.size() > 511);
  const auto long_ids = row(t.ids, 0);
  for (size_t i = 0; i < 511; ++i) EXPECT(long_ids[i] == long_pieces[i]);
  EXPECT(long_ids[511] == 1 && t.mask.sum().item<int64_t>() == 512 && t.truncated[0] && t.lengths[0] == 512);

  // Chinese text is covered by the vocabulary; the full-width comma is cleaned to ','.
  const std::vector<int> zh = tokenizer.pieces(wan::clean_prompt("镜头晃动，色调艳丽"));
  EXPECT(!zh.empty());
  for (int id : zh) EXPECT_MSG(id != 2, "Chinese text gave <unk>");
  EXPECT(at::equal(tokenizer.encode({"镜头晃动，色调艳丽"}).ids, tokenizer.encode({"镜头晃动,色调艳丽"}).ids));

  // The empty prompt is </s> alone.
  t = tokenizer.encode({"", " \t "});
  EXPECT(row(t.ids, 0)[0] == 1 && t.mask[0].sum().item<int64_t>() == 1);
  EXPECT(at::equal(t.ids[0], t.ids[1]));

  // A shorter text length truncates as well.
  const wan::T5Tokenizer short_tokenizer(model, 4);
  t = short_tokenizer.encode({prompt});
  EXPECT(t.ids.size(1) == 4 && row(t.ids, 0)[3] == 1 && t.truncated[0]);

  EXPECT_ERROR(tokenizer.encode({"bad \xff"}), "UTF-8");
  EXPECT_ERROR(wan::T5Tokenizer((work / "missing.model").string()), "not found");
  { std::ofstream((work / "garbage.model").string()) << "not a model"; }
  EXPECT_ERROR(wan::T5Tokenizer((work / "garbage.model").string()), "cannot read");
  return wan::test::check_exit("test-tokenizer trained");
}

}  // namespace

int main(int argc, char** argv) {
  try {
    const std::string mode = argc > 1 ? argv[1] : "";
    if (mode == "fixture" && argc == 3) return fixture(argv[2]);
    if (mode == "trained" && argc == 4) return trained(argv[2], argv[3]);
    std::fprintf(stderr, "usage: test-tokenizer fixture CASE_DIR | trained SPM_TRAIN WORK_DIR\n");
    return 2;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "test-tokenizer: %s\n", e.what());
    return 1;
  }
}
