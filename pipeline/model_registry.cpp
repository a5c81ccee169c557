#include "pipeline/model_registry.h"

#include <filesystem>

namespace wan {

ModelRegistry& ModelRegistry::instance() {
  static ModelRegistry registry;
  return registry;
}

size_t ModelRegistry::live_models() const {
  std::lock_guard<std::mutex> lock(mutex_);
  size_t n = 0;
  for (const auto& kv : entries_) n += kv.second.model.expired() ? 0 : 1;
  return n;
}

void ModelRegistry::finish(const std::string& key, const std::shared_ptr<void>& model) {
  std::lock_guard<std::mutex> lock(mutex_);
  Entry& e = entries_[key];
  e.model = model;
  e.loading = {};
}

std::string ModelRegistry::key(const std::string& kind, const std::string& path, const at::Device& device,
                               at::ScalarType dtype, const std::string& extra) {
  std::error_code ec;
  const auto canonical = std::filesystem::weakly_canonical(path, ec);
  return kind + "|" + (ec ? path : canonical.string()) + "|" + device.str() + "|" + c10::toString(dtype) + "|" + extra;
}

}  // namespace wan
