// The process-wide cache of loaded models, keyed by (kind, file, device,
// dtype): pipelines over the same checkpoint share one copy of each model, and
// a model is freed when the last pipeline holding it goes away.
#pragma once
#include <exception>
#include <functional>
#include <future>
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
  // Loads run outside the registry's lock: models under other keys load in
  // parallel, and callers asking for a key being loaded wait for that load
  // (its model, or its error). A failed load is not remembered.
  template <class Model>
  std::shared_ptr<SharedModel<Model>> get(const std::string& kind, const std::string& path, const at::Device& device,
                                          at::ScalarType dtype, const std::function<Model()>& load,
                                          const std::string& extra = "") {
    const std::string k = key(kind, path, device, dtype, extra);
    std::shared_future<std::shared_ptr<void>> pending;
    std::promise<std::shared_ptr<void>> promise;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      Entry& e = entries_[k];
      if (auto live = e.model.lock()) return std::static_pointer_cast<SharedModel<Model>>(live);
      if (e.loading.valid()) {
        pending = e.loading;
      } else {
        e.loading = promise.get_future().share();
      }
    }
    if (pending.valid()) return std::static_pointer_cast<SharedModel<Model>>(pending.get());  // rethrows its error

    std::shared_ptr<SharedModel<Model>> loaded;
    try {
      loaded = std::make_shared<SharedModel<Model>>(load());
    } catch (...) {
      finish(k, nullptr);
      promise.set_exception(std::current_exception());
      throw;
    }
    finish(k, loaded);
    promise.set_value(loaded);
    return loaded;
  }

  // Models currently alive (held by some pipeline).
  size_t live_models() const;

 private:
  static std::string key(const std::string& kind, const std::string& path, const at::Device& device,
                         at::ScalarType dtype, const std::string& extra);

  struct Entry {
    std::weak_ptr<void> model;
    std::shared_future<std::shared_ptr<void>> loading;  // valid while a load is under way
  };
  // Ends the load under `key`, registering `model` (null: it failed).
  void finish(const std::string& key, const std::shared_ptr<void>& model);

  mutable std::mutex mutex_;  // held for map look-ups only, never for a load
  std::map<std::string, Entry> entries_;
};

}  // namespace wan
