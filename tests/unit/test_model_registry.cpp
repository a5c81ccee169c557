// The model registry: models of different keys load in parallel (a load held
// the registry-wide lock, so every element's start waited for any other's
// load), the same key loads once for concurrent callers, and failures reach
// every caller waiting on them without being remembered.
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>

#include "models/common/error.h"
#include "pipeline/model_registry.h"
#include "tests/unit/check.h"

namespace {

using Clock = std::chrono::steady_clock;

// A flag one thread raises and another waits for, with a time limit.
class Flag {
 public:
  void raise() {
    std::lock_guard<std::mutex> lock(m_);
    up_ = true;
    cv_.notify_all();
  }
  bool wait_for(std::chrono::milliseconds limit) {
    std::unique_lock<std::mutex> lock(m_);
    return cv_.wait_for(lock, limit, [&] { return up_; });
  }

 private:
  std::mutex m_;
  std::condition_variable cv_;
  bool up_ = false;
};

std::shared_ptr<wan::SharedModel<int>> get(const std::string& path, const std::function<int()>& load) {
  return wan::ModelRegistry::instance().get<int>("test", path, at::kCPU, at::kFloat, load);
}

// Model A's load waits until model B's load has begun: with one lock over
// both loads, B cannot begin until A is done.
void different_models_load_in_parallel() {
  Flag b_started;
  bool a_saw_b = false;
  std::thread a([&] {
    auto m = get("/model-a", [&] {
      a_saw_b = b_started.wait_for(std::chrono::seconds(5));
      return 1;
    });
    EXPECT(m->model == 1);
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(100));  // A is loading
  const auto start = Clock::now();
  auto b = get("/model-b", [&] {
    b_started.raise();
    return 2;
  });
  const double waited = std::chrono::duration<double>(Clock::now() - start).count();
  a.join();
  EXPECT(b->model == 2);
  EXPECT_MSG(a_saw_b, "model B's load did not begin while model A's was under way");
  EXPECT_MSG(waited < 2.0, "getting model B waited " + std::to_string(waited) + " s for model A's load");
}

// Concurrent callers of one key: one load, one shared model.
void one_model_loads_once() {
  std::atomic<int> loads{0};
  Flag release;
  auto slow_load = [&] {
    ++loads;
    release.wait_for(std::chrono::seconds(5));
    return 7;
  };
  std::shared_ptr<wan::SharedModel<int>> first, second;
  std::thread t1([&] { first = get("/model-c", slow_load); });
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  std::thread t2([&] { second = get("/model-c", slow_load); });
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  release.raise();
  t1.join();
  t2.join();
  EXPECT_MSG(loads == 1, std::to_string(loads.load()) + " loads of one model");
  EXPECT(first && first == second && first->model == 7);
  const size_t live = wan::ModelRegistry::instance().live_models();
  first.reset();
  second.reset();
  EXPECT_MSG(wan::ModelRegistry::instance().live_models() == live - 1, "a model outlives its users");
  // Freed: the next caller loads it again.
  EXPECT(get("/model-c", slow_load)->model == 7 && loads == 2);
}

// A failed load fails its waiters too, and the next caller tries again. The waiter must reach
// the registry while the load is under way; on a starved machine it may come too late and load
// on its own (its loader then runs): that attempt proves nothing and is made again.
void failures_reach_waiters_and_are_not_kept() {
  for (int attempt = 0; attempt < 5; ++attempt) {
    const std::string key = "/model-d" + std::to_string(attempt);
    Flag release;
    auto failing = [&]() -> int {
      release.wait_for(std::chrono::seconds(5));
      throw wan::Error("broken file");
    };
    std::atomic<bool> loader_failed{false}, waiter_failed{false}, waiter_loaded{false};
    std::thread loader([&] {
      try {
        get(key, failing);
      } catch (const wan::Error& e) {
        loader_failed = std::string(e.what()) == "broken file";
      }
    });
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    std::thread waiter([&] {
      try {
        get(key, [&] {  // joins the load under way
          waiter_loaded = true;
          return 9;
        });
      } catch (const wan::Error& e) {
        waiter_failed = std::string(e.what()) == "broken file";
      }
    });
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    release.raise();
    loader.join();
    waiter.join();
    if (waiter_loaded) continue;
    EXPECT(loader_failed);
    EXPECT(waiter_failed);
    EXPECT_MSG(get(key, [] { return 9; })->model == 9, "a failed load was remembered");
    return;
  }
  EXPECT_MSG(false, "the waiter never joined a load under way in 5 attempts");
}

}  // namespace

int main() {
  different_models_load_in_parallel();
  one_model_loads_once();
  failures_reach_waiters_and_are_not_kept();
  return wan::test::check_exit("test-model-registry");
}
