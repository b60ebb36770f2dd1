// The validate step (core/verify.h) on worker threads: EVENT frames are
// parsed and their id and signature checked off the engine's thread, which
// then only applies them (durable::Relay::apply_verified) or answers their
// failure (durable::Relay::refuse_invalid), never verifying them again. Frames leave the
// pool in the order they entered it, other frames waiting behind earlier
// EVENTs, so every connection's messages reach the engine in the order sent.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "core/limits.h"
#include "core/verify.h"

namespace nostr::server {

class VerifyPool {
 public:
  // One finished frame. `verified` is set for an EVENT whose id and signature
  // checked out; `invalid` and `why` for an EVENT that parsed but whose id or
  // signature did not (the engine answers it without verifying it again);
  // otherwise (another message, a malformed frame) none of them, and the
  // engine handles the frame itself and gives the usual answer.
  struct Item {
    uint32_t conn = 0;
    std::string frame;
    std::optional<VerifiedEvent> verified;
    std::optional<Event> invalid;
    std::optional<Reject> why;  // set with `invalid`
    bool closed = false;        // not a frame: the socket closed after the frames before it
  };
  // `threads` workers (at least 1). `wake` runs on a worker when a frame is
  // done: it must only schedule drain() on the engine's thread.
  VerifyPool(unsigned threads, const Limits& limits, std::function<void()> wake);
  ~VerifyPool();  // joins the workers; unfinished frames are dropped
  VerifyPool(const VerifyPool&) = delete;
  VerifyPool& operator=(const VerifyPool&) = delete;

  // Engine thread only, from here on.
  // Queues a frame: EVENT frames go to a worker, others wait their turn.
  void submit(uint32_t conn, std::string frame);
  // Queues the socket's close behind its frames.
  void submit_close(uint32_t conn);
  // Hands finished frames, in submission order, to `f(Item&&)`; stops at the
  // first unfinished one.
  void drain(const std::function<void(Item&&)>& f);
  size_t frames() const { return slots_.size(); }
  size_t bytes() const { return bytes_; }

  // True if `frame` is an EVENT message (a cheap look at its start).
  static bool is_event(std::string_view frame);

 private:
  struct Slot {
    Item item;
    std::atomic<bool> done{false};
  };
  void work(const Limits& limits);
  std::function<void()> wake_;
  std::deque<std::unique_ptr<Slot>> slots_;  // engine thread
  size_t bytes_ = 0;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Slot*> jobs_;  // guarded by mu_
  bool stop_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace nostr::server
