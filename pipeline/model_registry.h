// The process-wide cache of loaded models, keyed by (kind, file, device,
// dtype): pipelines over the same checkpoint share one copy of each model, and
// a model is freed when the last pipeline holding it goes away.
#pragma once
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include <ATen/ATen.h>

namespace wan {

// A loaded model with the lock its users hold while running it (modules keep
// per-call caches, and a model may be moved between devices for a phase).
template <class Model>
struct SharedModel {
  explicit SharedModel(Model m) : model(std::move(m)) {}
  Model model;
  std::mutex in_use;
};

class ModelRegistry {
 public:
  static ModelRegistry& instance();

  // The model registered under the key, or the result of `load` (which is
  // then registered). `extra` distinguishes variants beyond device and dtype.
  template <class Model>
  std::shared_ptr<SharedModel<Model>> get(const std::string& kind, const std::string& path, const at::Device& device,
                                          at::ScalarType dtype, const std::function<Model()>& load,
                                          const std::string& extra = "") {
    const std::string k = key(kind, path, device, dtype, extra);
    std::lock_guard<std::mutex> lock(mutex_);
    if (auto live = std::static_pointer_cast<SharedModel<Model>>(entries_[k].lock())) return live;
    auto loaded = std::make_shared<SharedModel<Model>>(load());
    entries_[k] = loaded;
    return loaded;
  }

  // Models currently alive (held by some pipeline).
  size_t live_models() const;

 private:
  static std::string key(const std::string& kind, const std::string& path, const at::Device& device,
                         at::ScalarType dtype, const std::string& extra);

  mutable std::mutex mutex_;  // also serialises loading, so a model is never loaded twice
  std::map<std::string, std::weak_ptr<void>> entries_;
};

}  // namespace wan
