// libFuzzer target: the whole relay engine as the Durable Object runs it.
// Input lines are operations: the first byte picks a connection (1-4) and an
// operation (frame / reconnect / hibernate), the rest is the frame. D1 and DO
// storage are real SQLite databases (schema.sql). Invariants: nothing crashes
// or trips a sanitizer, and every frame the relay sends is a JSON array.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <memory>
#include <set>
#include <string>

#include "durable/relay.h"
#include "../support/action_reader.h"
#include "../support/sqlite_exec.h"

namespace {

void check(bool cond) {
  if (!cond) std::abort();
}

class Host {
 public:
  Host() : d1_(std::string(NOSTR_SOURCE_DIR) + "/schema.sql"), relay_(std::make_unique<nostr::durable::Relay>(nostr::RelayConfig{})) {
    relay_->restore(now_);
    drain();
  }
  void frame(uint32_t conn, const std::string& f) {
    if (!open_.count(conn)) open(conn);
    relay_->frame(conn, f, false, now_);
    drain();
    pump();
  }
  void reconnect(uint32_t conn) {
    relay_->close(conn);
    open_.erase(conn);
    drain();
    open(conn);
  }
  void hibernate() {
    pump();
    relay_ = std::make_unique<nostr::durable::Relay>(nostr::RelayConfig{});
    for (const uint32_t c : open_) check(relay_->open(c, "", attach_[c], now_));
    relay_->restore(now_);
    drain();
  }
  void tick() { now_ += 7; }

 private:
  void open(uint32_t conn) {
    check(relay_->open(conn, "challenge", "", now_));
    open_.insert(conn);
    drain();
  }
  void pump() {
    while (!pending_.empty()) {
      auto [token, json] = pending_.front();
      pending_.pop_front();
      std::string out, err;
      const bool ok = d1_.run_batch(json, out, err);
      check(ok);  // the engine's SQL must always be valid
      relay_->d1_done(token, ok, out, now_);
      drain();
    }
  }
  void drain() {
    const std::string bytes = relay_->actions().bytes();
    relay_->actions().clear();
    for (const nostr::test::ActionRecord& r : nostr::test::read_actions(bytes)) {
      if (r.type == 1) {
        simdjson::dom::element el;
        check(json_.parse(r.payload).get(el) == simdjson::SUCCESS && el.is_array());
      } else if (r.type == 3) {
        pending_.emplace_back(r.a, r.payload);
      } else if (r.type == 4) {
        std::string out, err;
        check(do_sql_.run_one(r.payload, out, err));
        if (r.a != 0) {
          relay_->sql_done(r.a, out, now_);
          drain();
        }
      } else if (r.type == 5) {
        attach_[r.a] = r.payload;
      }
    }
  }

  uint64_t now_ = 1760000000;  // the nostr-tools corpus (scripts/gen-corpus.mjs) is signed around this time
  nostr::test::SqliteDb d1_;
  nostr::test::SqliteDb do_sql_;
  std::unique_ptr<nostr::durable::Relay> relay_;
  simdjson::dom::parser json_;
  std::set<uint32_t> open_;
  std::string attach_[8];
  std::deque<std::pair<uint32_t, std::string>> pending_;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  Host host;
  const std::string input(reinterpret_cast<const char*>(data), size);
  size_t pos = 0;
  int ops = 0;
  while (pos < input.size() && ops++ < 64) {
    size_t end = input.find('\n', pos);
    if (end == std::string::npos) end = input.size();
    const std::string line = input.substr(pos, end - pos);
    pos = end + 1;
    if (line.empty()) continue;
    const auto b = static_cast<uint8_t>(line[0]);
    const uint32_t conn = 1 + (b & 3);
    switch ((b >> 2) & 7) {
      case 6: host.reconnect(conn); break;
      case 7: host.hibernate(); break;
      default: host.frame(conn, line.substr(1)); break;
    }
    host.tick();
  }
  return 0;
}
