// The generation thread of a wanvideosrc worker (ClipWorker, LiveWorker). Its body must not
// throw (an exception leaving a thread entry ends the process): one that escapes closes the
// frame queue, so that fill() ends instead of waiting for ever. Stopping joins it, or lets
// it go when the stop runs on the generation itself (a bus sync handler of one of its
// messages), which cannot join itself; the body keeps what it uses alive until it ends.
#pragma once
#include <functional>
#include <memory>
#include <system_error>
#include <thread>

#include "gst/frame_queue.h"

namespace wan::gst {

class WorkerThread {
 public:
  void start(std::function<void()> body, std::shared_ptr<FrameQueue> queue) {
    thread_ = std::thread([body = std::move(body), queue = std::move(queue)] {
      try {
        body();
      } catch (...) {
        try {
          queue->close();
        } catch (...) {
        }
      }
    });
  }

  // Joins the thread, or lets it go when called from it or when `let_go`. Called from the
  // element's stop() and destructors: nothing leaves it.
  void finish(bool let_go = false) noexcept {
    if (!thread_.joinable()) return;
    try {
      if (let_go || thread_.get_id() == std::this_thread::get_id())
        thread_.detach();
      else
        thread_.join();
    } catch (const std::system_error&) {
    }
  }

 private:
  std::thread thread_;
};

}  // namespace wan::gst
