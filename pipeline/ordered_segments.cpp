#include "pipeline/ordered_segments.h"

#include <thread>

#include <ATen/ATen.h>

#include "models/common/error.h"

namespace wan {

OrderedSegments::OrderedSegments(int workers, int segments)
    : workers_(workers), segments_(segments), pending_(size_t(std::max(segments, 0))) {
  if (workers < 1) throw Error("segments need at least one worker, got " + std::to_string(workers));
  if (segments < 0) throw Error("a negative segment count (" + std::to_string(segments) + ")");
}

void OrderedSegments::cancel() {
  cancel_.cancel();
  std::lock_guard<std::mutex> lock(mutex_);
  changed_.notify_all();
}

int OrderedSegments::most_segments_waiting() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return most_waiting_;
}

void OrderedSegments::fail(std::exception_ptr error) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (!error_) error_ = error;
  }
  cancel();
}

void OrderedSegments::work(int worker, const Produce& produce) {
  for (;;) {
    int segment = 0;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      // The bound: never more than workers_ segments from the one being handed on.
      changed_.wait(lock, [&] { return cancel_.cancelled() || next_to_start_ < emitting_ + workers_; });
      if (cancel_.cancelled() || next_to_start_ >= segments_) return;
      segment = next_to_start_++;
    }
    const Sink sink = [&, segment](const at::Tensor& frames) {
      if (frames.size(0) == 0) return;
      // A copy: the producer may reuse its buffer, and the piece may wait for a while.
      at::Tensor piece = frames.contiguous().clone();
      std::lock_guard<std::mutex> lock(mutex_);
      pending_[size_t(segment)].pieces.push_back(std::move(piece));
      changed_.notify_all();
    };
    try {
      produce(worker, segment, sink, cancel_);
    } catch (const Cancelled&) {
      return;
    } catch (...) {
      fail(std::current_exception());
      return;
    }
    std::lock_guard<std::mutex> lock(mutex_);
    pending_[size_t(segment)].done = true;
    int waiting = 0;
    for (int s = emitting_ + 1; s < segments_; ++s) waiting += pending_[size_t(s)].done ? 1 : 0;
    most_waiting_ = std::max(most_waiting_, waiting);
    changed_.notify_all();
  }
}

void OrderedSegments::run(const Produce& produce, const Emit& emit) {
  std::vector<std::thread> threads;
  threads.reserve(size_t(workers_));
  for (int w = 0; w < std::min(workers_, segments_); ++w)
    threads.emplace_back([this, w, &produce] { work(w, produce); });
  try {
    for (;;) {
      at::Tensor piece;
      int segment = 0;
      {
        std::unique_lock<std::mutex> lock(mutex_);
        changed_.wait(lock, [&] {
          if (cancel_.cancelled() || emitting_ >= segments_) return true;
          const Pending& p = pending_[size_t(emitting_)];
          return !p.pieces.empty() || p.done;
        });
        if (cancel_.cancelled() || emitting_ >= segments_) break;
        Pending& p = pending_[size_t(emitting_)];
        segment = emitting_;
        if (p.pieces.empty()) {  // done and all out: on to the next segment
          ++emitting_;
          changed_.notify_all();
          continue;
        }
        piece = std::move(p.pieces.front());
        p.pieces.pop_front();
      }
      emit(segment, piece);  // outside the lock: it may wait for downstream
    }
  } catch (...) {
    fail(std::current_exception());
  }
  for (auto& t : threads) t.join();
  std::lock_guard<std::mutex> lock(mutex_);
  if (error_) std::rethrow_exception(error_);
  if (cancel_.cancelled()) throw Cancelled();
}

}  // namespace wan
