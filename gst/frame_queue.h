// The hand-over between the generation thread and the streaming thread. The
// generation thread waits for room before it starts a clip, so a slow
// downstream holds generation back; the frames of the clip being decoded go
// in without waiting, because the decoder holds model locks that another
// element sharing the models may need (waiting there could deadlock an
// aggregator fed by both). An unlock() wakes create() at any time.
#pragma once
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <mutex>
#include <string>
#include <vector>

namespace wan::gst {

// What the element needs to tag a clip.
struct ClipInfo {
  int clip = 0;
  int64_t seed = 0;
  int steps = 0;  // as run (the task default resolved)
  double guidance_scale = 0;
  std::string prompt;
  std::string loras;  // "path:strength,..." as run; empty without LoRAs
};

struct WorkerItem {
  enum class Kind { ClipStart, Frame, End, Error };
  Kind kind = Kind::End;
  ClipInfo clip;             // ClipStart
  std::vector<uint8_t> rgb;  // Frame: packed RGB rows of the negotiated size
  std::string error;         // Error: the message for the user
};

class FrameQueue {
 public:
  enum class PopResult { Item, Flushing, Closed };

  explicit FrameQueue(size_t capacity) : capacity_(capacity) {}

  // Blocks while `capacity` or more items wait. False once close() was
  // called: the consumer is gone.
  bool wait_for_room() {
    std::unique_lock<std::mutex> lock(mutex_);
    not_full_.wait(lock, [&] { return closed_ || items_.size() < capacity_; });
    return !closed_;
  }

  // Never blocks. False once closed.
  bool push(WorkerItem item) {
    std::lock_guard<std::mutex> lock(mutex_);
    if (closed_) return false;
    items_.push_back(std::move(item));
    not_empty_.notify_all();
    return true;
  }

  // Blocks while empty; returns at once while flushing (items are kept).
  PopResult pop(WorkerItem& out) {
    std::unique_lock<std::mutex> lock(mutex_);
    not_empty_.wait(lock, [&] { return flushing_ || closed_ || !items_.empty(); });
    if (flushing_) return PopResult::Flushing;
    if (items_.empty()) return PopResult::Closed;
    out = std::move(items_.front());
    items_.pop_front();
    not_full_.notify_all();
    return PopResult::Item;
  }

  void set_flushing(bool flushing) {
    std::lock_guard<std::mutex> lock(mutex_);
    flushing_ = flushing;
    not_empty_.notify_all();
  }

  // Wakes both sides for good; push() fails from now on.
  void close() {
    std::lock_guard<std::mutex> lock(mutex_);
    closed_ = true;
    not_empty_.notify_all();
    not_full_.notify_all();
  }

  // Back to empty and open, for the next start().
  void reset() {
    std::lock_guard<std::mutex> lock(mutex_);
    items_.clear();
    closed_ = false;
    flushing_ = false;
  }

 private:
  const size_t capacity_;
  std::mutex mutex_;
  std::condition_variable not_full_, not_empty_;
  std::deque<WorkerItem> items_;
  bool flushing_ = false;
  bool closed_ = false;
};

}  // namespace wan::gst
