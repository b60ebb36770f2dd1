// Test support: a simulated Durable Object host for durable::Relay. It performs
// the engine's actions like js-glue/relay_do.js does -- D1 batches on a real
// SQLite database loaded with schema.sql (completed later, on pump(), as D1
// completes asynchronously), DO SQL on a second SQLite database (synchronously),
// frames into per-connection inboxes, attachments kept per socket -- with a fake
// clock. "Hibernation" rebuilds the engine from attachments + DO storage.
#pragma once

#include <doctest/doctest.h>

#include <algorithm>
#include <cstring>
#include <deque>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/config.h"
#include "durable/relay.h"
#include "sqlite_exec.h"

namespace nostr::test {

class SimHost {
 public:
  explicit SimHost(RelayConfig config = {})
      : config_(std::move(config)), d1_(std::string(NOSTR_SOURCE_DIR) + "/schema.sql"), relay_(std::make_unique<durable::Relay>(config_)) {
    relay_->restore(now);
    drain();
  }

  uint64_t now = 1700000000;
  bool fail_d1 = false;  // make every D1 batch fail (storage outage)

  void connect(uint32_t conn) {
    REQUIRE(relay_->open(conn, "challenge-" + std::to_string(conn), "", now));
    open_.push_back(conn);
    drain();
  }
  void disconnect(uint32_t conn) {
    relay_->close(conn);
    open_.erase(std::remove(open_.begin(), open_.end(), conn), open_.end());
    drain();
  }
  // Sends a frame and completes all storage work.
  void send(uint32_t conn, const std::string& frame) {
    send_async(conn, frame);
    pump();
  }
  // Sends a frame; D1 work stays pending until pump().
  void send_async(uint32_t conn, const std::string& frame) {
    relay_->frame(conn, frame, /*padded=*/false, now);
    drain();
  }
  // Completes pending D1 batches in order.
  void pump() {
    while (!pending_.empty()) {
      auto [token, json] = pending_.front();
      pending_.pop_front();
      std::string out, err;
      ++d1_batches_run;
      if (!fail_d1 && d1_.run_batch(json, out, err)) {
        relay_->d1_done(token, true, out, now);
      } else {
        relay_->d1_done(token, false, fail_d1 ? "D1 unavailable" : err, now);
        last_d1_error = err;
      }
      drain();
    }
  }
  size_t pending_d1() const { return pending_.size(); }
  size_t d1_batches_run = 0;

  // Frames received by conn since the last take().
  std::vector<std::string> take(uint32_t conn) {
    std::vector<std::string> out;
    out.swap(inbox_[conn]);
    return out;
  }

  // Drops the engine's memory and rebuilds it the way the DO constructor does
  // after eviction: open every surviving socket with its attachment, restore.
  void hibernate_and_wake() {
    relay_ = std::make_unique<durable::Relay>(config_);
    for (const uint32_t conn : open_) REQUIRE(relay_->open(conn, "", attachments_[conn], now));
    relay_->restore(now);
    drain();
  }

  durable::Relay& relay() { return *relay_; }
  SqliteDb& d1() { return d1_; }
  const std::string& attachment(uint32_t conn) { return attachments_[conn]; }
  std::string last_d1_error;

 private:
  static uint32_t u32(const std::string& b, size_t at) {
    uint32_t v;
    std::memcpy(&v, b.data() + at, 4);
    return v;
  }

  // Performs the action records, like the JS glue.
  void drain() {
    const std::string bytes = relay_->actions().bytes();  // copy: callbacks overwrite it
    relay_->actions().clear();
    size_t at = 0;
    while (at < bytes.size()) {
      const uint32_t type = u32(bytes, at), a = u32(bytes, at + 4), len = u32(bytes, at + 12);
      const std::string payload = bytes.substr(at + 16, len);
      at += 16 + ((len + 3) & ~3u);
      switch (type) {
        case 1: inbox_[a].push_back(payload); break;
        case 2: {
          const uint32_t raw_len = u32(payload, 0);
          const std::string raw = payload.substr(4, raw_len);
          size_t p = 4 + ((raw_len + 3) & ~3u);
          for (uint32_t i = 0; i < a; ++i) {
            const uint32_t conn = u32(payload, p), plen = u32(payload, p + 4);
            inbox_[conn].push_back(payload.substr(p + 8, plen) + raw + "]");
            p += 8 + ((plen + 3) & ~3u);
          }
          break;
        }
        case 3: pending_.emplace_back(a, payload); break;
        case 4: {
          std::string out, err;
          const bool ok = do_sql_.run_one(payload, out, err);
          REQUIRE_MESSAGE(ok, err);
          if (a != 0) {
            relay_->sql_done(a, out, now);
            drain();
          }
          break;
        }
        case 5: attachments_[a] = payload; break;
        case 6: closed_.push_back(a); break;
        default: FAIL("unknown action type " << type);
      }
    }
  }

  RelayConfig config_;
  SqliteDb d1_;
  SqliteDb do_sql_;
  std::unique_ptr<durable::Relay> relay_;
  std::map<uint32_t, std::vector<std::string>> inbox_;
  std::map<uint32_t, std::string> attachments_;
  std::deque<std::pair<uint32_t, std::string>> pending_;
  std::vector<uint32_t> open_;
  std::vector<uint32_t> closed_;
};

}  // namespace nostr::test
