#include "server/verify_pool.h"

#include <variant>

#include "core/message.h"

namespace nostr::server {

VerifyPool::VerifyPool(unsigned threads, const Limits& limits, std::function<void()> wake)
    : wake_(std::move(wake)) {
  for (unsigned i = 0; i < std::max(threads, 1u); ++i)
    threads_.emplace_back([this, limits] { work(limits); });
}

VerifyPool::~VerifyPool() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  for (auto& t : threads_) t.join();
}

bool VerifyPool::is_event(std::string_view frame) {
  size_t i = 0;
  auto skip = [&] {
    while (i < frame.size() &&
           (frame[i] == ' ' || frame[i] == '\t' || frame[i] == '\n' || frame[i] == '\r'))
      ++i;
  };
  skip();
  if (i >= frame.size() || frame[i] != '[') return false;
  ++i;
  skip();
  return frame.substr(i, 7) == "\"EVENT\"";
}

void VerifyPool::submit(uint32_t conn, std::string frame) {
  const bool event = is_event(frame);
  bytes_ += frame.size();
  auto slot = std::make_unique<Slot>();
  slot->item.conn = conn;
  slot->item.frame = std::move(frame);
  Slot* s = slot.get();
  slots_.push_back(std::move(slot));
  if (!event) {
    s->done.store(true, std::memory_order_release);
    return;
  }
  {
    std::lock_guard lock(mu_);
    jobs_.push_back(s);
  }
  cv_.notify_one();
}

void VerifyPool::submit_close(uint32_t conn) {
  auto slot = std::make_unique<Slot>();
  slot->item.conn = conn;
  slot->item.closed = true;
  slot->done.store(true, std::memory_order_relaxed);
  slots_.push_back(std::move(slot));
}

void VerifyPool::drain(const std::function<void(Item&&)>& f) {
  while (!slots_.empty() && slots_.front()->done.load(std::memory_order_acquire)) {
    std::unique_ptr<Slot> s = std::move(slots_.front());
    slots_.pop_front();
    bytes_ -= s->item.frame.size();
    f(std::move(s->item));
  }
}

void VerifyPool::work(const Limits& limits) {
  MessageParser parser(limits);  // one per thread: simdjson parsers are not shared
  for (;;) {
    Slot* s = nullptr;
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [this] { return stop_ || !jobs_.empty(); });
      if (stop_) return;
      s = jobs_.front();
      jobs_.pop_front();
    }
    // The slot's frame is not touched by the engine's thread until done.
    ParsedFrame r = parser.parse(s->item.frame, /*padded=*/false);
    if (r.ok()) {
      if (auto* ev = std::get_if<EventMessage>(&*r.message)) {
        // validate_event leaves its argument untouched when it fails.
        if (auto v = validate_event(std::move(ev->event))) {
          s->item.verified.emplace(std::move(v).value());
        } else {
          s->item.why.emplace(v.error());
          s->item.invalid.emplace(std::move(ev->event));
        }
      }
    }
    s->done.store(true, std::memory_order_release);
    wake_();
  }
}

}  // namespace nostr::server
