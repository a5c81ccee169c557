#include "models/t5/text_encoder.h"

#include <glib.h>

#include <algorithm>
#include <filesystem>
#include <sstream>

#include <c10/core/GradMode.h>

#include "models/common/error.h"
#include "models/t5/t5_loader.h"
#include "models/weights/safetensors.h"

namespace wan {

namespace fs = std::filesystem;

namespace {

constexpr size_t kMemoryCacheEntries = 64;

// path, size and modification time of a file, or of every file of a folder.
std::string file_identity(const std::string& path) {
  std::error_code ec;
  std::vector<fs::path> files;
  if (fs::is_directory(path, ec)) {
    for (const auto& e : fs::directory_iterator(path, ec))
      if (e.is_regular_file(ec)) files.push_back(e.path());
    std::sort(files.begin(), files.end());
  } else {
    files.push_back(path);
  }
  std::ostringstream id;
  for (const auto& f : files) {
    const fs::path canonical = fs::weakly_canonical(f, ec);
    id << canonical.string() << ':' << fs::file_size(f, ec) << ':'
       << fs::last_write_time(f, ec).time_since_epoch().count() << ';';
  }
  return id.str();
}

std::string sha256_hex(const std::string& text) {
  gchar* hex =
      g_compute_checksum_for_data(G_CHECKSUM_SHA256, reinterpret_cast<const guchar*>(text.data()), text.size());
  std::string out(hex);
  g_free(hex);
  return out;
}

}  // namespace

std::vector<at::Tensor> trim_to_mask(const at::Tensor& hidden, const at::Tensor& mask) {
  const at::Tensor lengths = mask.gt(0).sum(1).to(at::kCPU);
  std::vector<at::Tensor> out;
  for (int64_t i = 0; i < hidden.size(0); ++i) out.push_back(hidden[i].slice(0, 0, lengths[i].item<int64_t>()));
  return out;
}

TextEncoder::TextEncoder(TextEncoderOptions options)
    : options_(std::move(options)), tokenizer_(options_.tokenizer, options_.text_len) {
  std::error_code ec;
  if (!fs::exists(options_.checkpoint, ec)) throw Error("umT5 checkpoint not found: " + options_.checkpoint);
  model_identity_ =
      "checkpoint=" + file_identity(options_.checkpoint) + "|tokenizer=" + file_identity(options_.tokenizer);
}

void TextEncoder::load() {
  std::lock_guard<std::mutex> lock(mutex_);
  load_locked();
}

void TextEncoder::load_locked() {
  if (model_.is_empty()) model_ = load_t5_encoder(options_.checkpoint, LoadOptions{options_.device, options_.dtype});
}

int64_t TextEncoder::encoder_runs() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return encoder_runs_;
}

void TextEncoder::warn(const std::string& message) const {
  if (options_.on_warning) options_.on_warning(message);
}

std::string TextEncoder::cache_key(const std::string& prompt) const {
  return "umt5-context-v1|" + model_identity_ + "|text_len=" + std::to_string(options_.text_len) +
         "|dtype=" + c10::toString(options_.dtype) + "|prompt=" + prompt;
}

at::Tensor TextEncoder::read_disk_cache(const std::string& key) {
  if (options_.cache_dir.empty()) return {};
  const fs::path file = fs::path(options_.cache_dir) / (sha256_hex(key) + ".safetensors");
  std::error_code ec;
  if (!fs::is_regular_file(file, ec)) return {};
  try {
    auto st = SafetensorsFile::open(file.string());
    auto it = st->metadata().find("key");
    if (it == st->metadata().end() || it->second != key || !st->contains("context")) return {};
    return st->tensor("context").clone();  // detach from the file mapping
  } catch (const std::exception& e) {
    warn("ignoring unreadable prompt cache file " + file.string() + ": " + e.what());
    return {};
  }
}

void TextEncoder::write_disk_cache(const std::string& key, const at::Tensor& context) {
  if (options_.cache_dir.empty()) return;
  const fs::path dir(options_.cache_dir);
  const fs::path file = dir / (sha256_hex(key) + ".safetensors");
  const fs::path partial = dir / (file.filename().string() + ".partial-" + std::to_string(g_get_monotonic_time()));
  try {
    std::error_code ec;
    fs::create_directories(dir, ec);
    save_safetensors(partial.string(), {{"context", context.to(at::kCPU)}}, {{"key", key}});
    fs::rename(partial, file);  // atomic: readers never see a half-written file
  } catch (const std::exception& e) {
    std::error_code ec;
    fs::remove(partial, ec);
    warn("cannot write the prompt cache in " + dir.string() + ": " + e.what());
  }
}

void TextEncoder::remember(const std::string& prompt, const at::Tensor& context) {
  if (memory_.emplace(prompt, context).second) memory_order_.push_back(prompt);
  while (memory_order_.size() > kMemoryCacheEntries) {
    memory_.erase(memory_order_.front());
    memory_order_.pop_front();
  }
}

std::vector<at::Tensor> TextEncoder::encode(const std::vector<std::string>& prompts,
                                            const std::function<void()>& between_passes) {
  std::lock_guard<std::mutex> lock(mutex_);
  std::vector<at::Tensor> out(prompts.size());
  std::vector<size_t> misses;
  for (size_t i = 0; i < prompts.size(); ++i) {
    if (auto it = memory_.find(prompts[i]); it != memory_.end()) {
      out[i] = it->second;
    } else if (at::Tensor cached = read_disk_cache(cache_key(prompts[i])); cached.defined()) {
      out[i] = cached.to(options_.device);
      remember(prompts[i], out[i]);
    } else if (std::find_if(misses.begin(), misses.end(), [&](size_t j) { return prompts[j] == prompts[i]; }) ==
               misses.end()) {
      misses.push_back(i);
    }
  }
  if (!misses.empty()) {
    std::vector<std::string> texts;
    for (size_t i : misses) texts.push_back(prompts[i]);
    const TokenizedPrompts tokens = tokenizer_.encode(texts, between_passes);
    for (size_t j = 0; j < misses.size(); ++j)
      if (tokens.truncated[j])
        warn("prompt longer than " + std::to_string(options_.text_len - 1) + " umT5 tokens; the rest is ignored: \"" +
             texts[j].substr(0, 80) + "...\"");

    load_locked();
    // Padded keys get exactly zero attention weight, so running only up to
    // the longest prompt gives the same rows as the reference's full text_len.
    const int64_t longest = *std::max_element(tokens.lengths.begin(), tokens.lengths.end());
    c10::AutoGradMode no_grad(false);
    const at::Tensor ids = tokens.ids.slice(1, 0, longest), mask = tokens.mask.slice(1, 0, longest);
    const std::vector<at::Tensor> contexts = trim_to_mask(model_->forward(ids, mask), mask);
    encoder_runs_ += static_cast<int64_t>(misses.size());
    std::map<std::string, at::Tensor> fresh;
    for (size_t j = 0; j < misses.size(); ++j) {
      const at::Tensor context = contexts[j].clone();  // frees the padded batch
      fresh.emplace(texts[j], context);
      remember(texts[j], context);
      write_disk_cache(cache_key(texts[j]), context);
    }
    for (size_t i = 0; i < prompts.size(); ++i)
      if (!out[i].defined()) out[i] = fresh.at(prompts[i]);
  }
  return out;
}

}  // namespace wan
