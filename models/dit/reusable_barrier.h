// A barrier for a fixed number of threads that can be passed again and again (one
// generation counter tells the waiters of one round from those of the next).
#pragma once

#include <condition_variable>
#include <cstdint>
#include <mutex>

namespace wan::dit {

class ReusableBarrier {
 public:
  explicit ReusableBarrier(int64_t participants);

  // Blocks until all participants of the current round have arrived.
  void arrive_and_wait();

 private:
  std::mutex mutex_;
  std::condition_variable all_arrived_;
  const int64_t participants_;
  int64_t waiting_ = 0;
  uint64_t generation_ = 0;
};

}  // namespace wan::dit
