#include "models/dit/reusable_barrier.h"

#include <string>

#include "models/common/error.h"

namespace wan::dit {

ReusableBarrier::ReusableBarrier(int64_t participants) : participants_(participants) {
  if (participants < 1) throw Error("barrier: needs at least one participant, got " + std::to_string(participants));
}

void ReusableBarrier::arrive_and_wait() {
  std::unique_lock<std::mutex> lock(mutex_);
  const uint64_t round = generation_;
  if (++waiting_ == participants_) {
    waiting_ = 0;
    ++generation_;
    all_arrived_.notify_all();
    return;
  }
  // Waiting on the generation (not the count) makes the barrier safe to re-enter at once.
  all_arrived_.wait(lock, [&] { return generation_ != round; });
}

}  // namespace wan::dit
