// The hand-over queue of wanvideosrc: order, back-pressure between clips, and the two ways
// the streaming side gets out of a wait (unlock -> flushing, stop -> close).
#include <chrono>
#include <future>
#include <thread>

#include "gst/frame_queue.h"
#include "tests/unit/check.h"

using wan::gst::FrameQueue;
using wan::gst::WorkerItem;
using namespace std::chrono_literals;

namespace {

WorkerItem frame(uint8_t value) {
  WorkerItem item;
  item.kind = WorkerItem::Kind::Frame;
  item.rgb = {value};
  return item;
}

// True when `f` is still blocked after a short while.
template <typename T>
bool blocked(std::future<T>& f) {
  return f.wait_for(100ms) == std::future_status::timeout;
}

void keeps_order() {
  FrameQueue queue(4);
  for (uint8_t i = 0; i < 3; ++i) EXPECT(queue.push(frame(i)));
  for (uint8_t i = 0; i < 3; ++i) {
    WorkerItem item;
    EXPECT(queue.pop(item) == FrameQueue::PopResult::Item);
    EXPECT_MSG(item.rgb.size() == 1 && item.rgb[0] == i, "items come out in the order they went in");
  }
}

void room_only_below_capacity() {
  FrameQueue queue(2);
  EXPECT(queue.wait_for_room());
  queue.push(frame(0));
  queue.push(frame(1));
  EXPECT_MSG(queue.push(frame(2)), "push does not wait, even beyond the capacity");
  auto room = std::async(std::launch::async, [&] { return queue.wait_for_room(); });
  EXPECT_MSG(blocked(room), "no room while capacity or more items wait");
  WorkerItem item;
  queue.pop(item);
  EXPECT_MSG(blocked(room), "still no room at capacity");
  queue.pop(item);
  EXPECT_MSG(room.wait_for(5s) == std::future_status::ready && room.get(), "room below capacity");
}

void flushing_wakes_pop_and_keeps_items() {
  FrameQueue queue(2);
  auto pop = std::async(std::launch::async, [&] {
    WorkerItem item;
    return queue.pop(item);
  });
  EXPECT_MSG(blocked(pop), "a pop from an empty queue waits");
  queue.set_flushing(true);
  EXPECT_MSG(pop.wait_for(5s) == std::future_status::ready && pop.get() == FrameQueue::PopResult::Flushing,
             "set_flushing wakes a waiting pop");
  queue.push(frame(7));
  WorkerItem item;
  EXPECT_MSG(queue.pop(item) == FrameQueue::PopResult::Flushing, "pop returns at once while flushing");
  queue.set_flushing(false);
  EXPECT_MSG(queue.pop(item) == FrameQueue::PopResult::Item && item.rgb[0] == 7, "items survive a flush");
}

void close_wakes_both_sides() {
  FrameQueue queue(1);
  queue.push(frame(0));
  auto room = std::async(std::launch::async, [&] { return queue.wait_for_room(); });
  EXPECT(blocked(room));
  queue.close();
  EXPECT_MSG(room.wait_for(5s) == std::future_status::ready && !room.get(), "close ends a wait for room");
  EXPECT_MSG(!queue.push(frame(2)), "push fails after close");
  WorkerItem item;
  EXPECT(queue.pop(item) == FrameQueue::PopResult::Item);
  EXPECT_MSG(queue.pop(item) == FrameQueue::PopResult::Closed, "a closed, empty queue does not wait");
  queue.reset();
  EXPECT_MSG(queue.push(frame(3)), "reset opens the queue again");
}

}  // namespace

int main() {
  keeps_order();
  room_only_below_capacity();
  flushing_wakes_pop_and_keeps_items();
  close_wakes_both_sides();
  return wan::test::check_exit("test-frame-queue");
}
