// The hand-over of previews from the generation thread to the preview pad's task. The
// generation thread never waits here: when the pad cannot push as fast as the steps come
// (a slow or prerolling sink), the oldest waiting preview is dropped.
#pragma once
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <mutex>

#include "pipeline/preview.h"

namespace wan::gst {

struct PreviewItem {
  int clip = 0;
  Preview preview;
  uint64_t pts_ns = 0;       // the clip's first frame in the main stream
  uint64_t duration_ns = 0;  // the clip's frames
};

class PreviewSlot {
 public:
  enum class TakeResult { Item, End, Closed };

  explicit PreviewSlot(size_t capacity) : capacity_(capacity) {}

  // Never blocks. False once finished or closed (the item is not kept).
  bool put(PreviewItem item) {
    std::lock_guard<std::mutex> lock(mutex_);
    if (closed_ || finished_) return false;
    if (items_.size() >= capacity_) {
      items_.pop_front();
      ++dropped_;
    }
    items_.push_back(std::move(item));
    changed_.notify_all();
    return true;
  }

  // Blocks while nothing waits. End once finish() was called and the items before it are
  // taken; Closed at once after close().
  TakeResult take(PreviewItem& out) {
    std::unique_lock<std::mutex> lock(mutex_);
    changed_.wait(lock, [&] { return closed_ || finished_ || !items_.empty(); });
    if (closed_) return TakeResult::Closed;
    if (items_.empty()) return TakeResult::End;
    out = std::move(items_.front());
    items_.pop_front();
    return TakeResult::Item;
  }

  // No more previews: take() ends after the waiting ones.
  void finish() {
    std::lock_guard<std::mutex> lock(mutex_);
    finished_ = true;
    changed_.notify_all();
  }

  // Wakes take() for good and drops what waits.
  void close() {
    std::lock_guard<std::mutex> lock(mutex_);
    closed_ = true;
    items_.clear();
    changed_.notify_all();
  }

  uint64_t dropped() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return dropped_;
  }

 private:
  const size_t capacity_;
  mutable std::mutex mutex_;
  std::condition_variable changed_;
  std::deque<PreviewItem> items_;
  uint64_t dropped_ = 0;
  bool finished_ = false;
  bool closed_ = false;
};

}  // namespace wan::gst
