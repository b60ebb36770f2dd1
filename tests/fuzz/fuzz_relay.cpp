// libFuzzer target: the whole relay engine as the Durable Object runs it.
// Input lines are operations: the first byte picks a connection (1-4) and an
// operation (frame / an hour passes / reconnect / hibernate / a NIP-86 call
// whose body is the rest of the line, validly signed by an administrator, or
// sent unsigned), the rest is the frame. An input whose first byte has its top
// bit set runs with NIP-42 required (20 s to authenticate), connection 4
// opening from a blocked address and tight rate limits, so the policy stage,
// rate limits and both kinds of timers are exercised. D1 and DO
// storage are real SQLite databases (schema.sql). Invariants: nothing crashes
// or trips a sanitizer, every frame the relay sends is a JSON array, every
// budget counter stays within its limit (small limits, so they are reached),
// and once all storage work completed nothing stays charged.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <memory>
#include <set>
#include <string>

#include "../support/host_driver.h"
#include "../support/nip98_token.h"
#include "../support/signer.h"
#include "../support/sqlite_exec.h"
#include "durable/relay.h"

namespace {

void check(bool cond) {
  if (!cond) std::abort();
}

const nostr::test::Signer& admin_key() {
  static const nostr::test::Signer key(4242);
  return key;
}

// Budgets small enough for short inputs to reach them.
nostr::RelayConfig fuzz_config(bool strict) {
  nostr::RelayConfig c;
  c.auth_required = strict;
  c.auth_timeout = 20;
  if (strict) c.blocked_ips = {"203.0.113.9"};
  if (strict) c.limits.max_connections_per_ip = 2;  // connections 1-3 share an address
  c.limits.max_connections = 3;
  c.limits.max_subscriptions = 4;
  c.limits.max_subscriptions_total = 10;
  c.limits.max_filter_bytes = 16 * 1024;
  c.limits.max_filter_bytes_total = 24 * 1024;
  c.limits.max_pending_events = 3;
  c.limits.max_pending_event_bytes = 131072;
  c.limits.max_pending_event_bytes_total = 256 * 1024;
  c.limits.max_query_page_bytes = 131072;
  c.limits.max_query_bytes_total = 300 * 1024;
  c.limits.max_pending_counts = 2;
  c.limits.max_pending_counts_total = 3;
  c.limits.max_logins = 2;
  c.admin_pubkeys = {*nostr::Pubkey::from_hex(admin_key().pubkey())};
  if (strict) {
    c.rate_limits.event_per_connection = {60, 3};
    c.rate_limits.req_per_ip = {60, 5};
    c.rate_limits.event_per_pubkey = {60, 2};
    c.rate_limits.max_refusals = 4;
  }
  return c;
}

class Host {
 public:
  explicit Host(bool strict)
      : strict_(strict),
        d1_(std::string(NOSTR_SOURCE_DIR) + "/schema.sql"),
        relay_(std::make_unique<nostr::durable::Relay>(fuzz_config(strict))) {
    relay_->restore(now_);
    drain();
  }
  // One frame; storage completes at once unless `async` (then on a later pump).
  void frame(uint32_t conn, const std::string& f, bool async) {
    if (!open_.count(conn)) open(conn);
    relay_->frame(conn, f, false, now_);
    drain();
    check_budgets();
    if (!async) pump();
  }
  void check_budgets() const {
    const auto u = relay_->usage();
    const auto& l = relay_->config().limits;
    check(u.connections <= l.max_connections);
    check(u.subscriptions <= l.max_subscriptions_total);
    check(u.filter_bytes <= l.max_filter_bytes_total + u.connections * 1024);
    check(u.pending_event_bytes <= l.max_pending_event_bytes_total);
    check(u.query_list_bytes <= l.max_query_bytes_total / 2 + 5000 * 200);
    check(u.query_list_bytes + u.query_page_bytes <=
          l.max_query_bytes_total + l.max_query_page_bytes + 5000 * 200);
    check(u.pending_counts <= l.max_pending_counts_total);
  }
  // Everything completed: nothing may stay charged.
  void finish() {
    pump();
    for (int i = 0; i < 1000 && relay_->next_deadline() != 0; ++i) {  // paced pages: let time pass
      now_ = std::max(now_, relay_->next_deadline());
      pump();
    }
    check(relay_->next_deadline() == 0);
    const auto u = relay_->usage();
    check(u.pending_event_bytes == 0 && u.query_list_bytes == 0 && u.query_page_bytes == 0 &&
          u.pending_counts == 0);
  }
  void reconnect(uint32_t conn) {
    relay_->close(conn);
    open_.erase(conn);
    drain();
    open(conn);
  }
  void hibernate() {
    pump();
    relay_ = std::make_unique<nostr::durable::Relay>(fuzz_config(strict_));
    for (const uint32_t c : open_) check(relay_->open(c, "", attach_[c], now_));
    relay_->restore(now_);
    drain();
  }
  void tick() { now_ += 7; }
  // A NIP-86 call with `body`, signed by the administrator or not at all.
  void admin(const std::string& body, bool signed_call) {
    const std::string url = "https://relay.example.com/";
    const std::string auth = signed_call
                                 ? nostr::test::nip98_header(admin_key(), url, body, now_, "POST",
                                                             std::to_string(++calls_))
                                 : "Nostr " + body;
    relay_->http_admin(++calls_, url, auth, body, now_);
    drain();
    pump();
  }
  // An hour passes: AUTH deadlines and the expiry sweep come due.
  void hour() {
    now_ += 3601;
    pump();
  }

 private:
  void open(uint32_t conn) {
    const nostr::ConnMeta meta{strict_ && conn == 4 ? "203.0.113.9" : "198.51.100.1", "", "", ""};
    check(relay_->open(conn, "challenge", "", now_, meta));
    if (relay_->connection_count() > open_.size())
      open_.insert(conn);  // else refused: over max_connections
    drain();
  }
  void fire_due_timer() {
    if (nostr::test::timer_due(*relay_, now_)) {
      relay_->timer(now_);
      drain();
    }
  }
  void pump() {
    fire_due_timer();
    while (!pending_.empty()) {
      auto [token, stmts] = pending_.front();
      pending_.pop_front();
      std::string out, err;
      const bool ok = d1_.run_batch(stmts, out, err);
      check(ok);  // the engine's SQL must always be valid
      relay_->store_done(token, ok, out, now_);
      drain();
      check_budgets();
      fire_due_timer();
    }
  }
  void drain() { nostr::test::perform_actions(*relay_, *this, now_); }

 public:  // perform_actions' callbacks: every frame is a JSON array; the engine's SQL is always
          // valid.
  void on_send(uint32_t /*conn*/, const std::string& frame) {
    simdjson::dom::element el;
    check(json_.parse(frame).get(el) == simdjson::SUCCESS && el.is_array());
  }
  void on_store(uint32_t token, std::vector<nostr::SqlStatement> stmts) {
    pending_.emplace_back(token, std::move(stmts));
  }
  nostr::test::SqliteDb& local_db() { return do_sql_; }
  void on_local_sql_error(const std::string& /*err*/) { check(false); }
  void on_save_conn_state(uint32_t conn, std::string state) { attach_[conn] = std::move(state); }
  void on_http_reply(nostr::durable::HttpReply r) {
    const uint32_t status = r.status;
    const std::string& body = r.body;
    check(status == 200 || status == 400 || status == 401 || status == 404 || status == 413 ||
          status == 500 || status == 503);
    simdjson::dom::element el;
    check(json_.parse(body).get(el) == simdjson::SUCCESS && el.is_object());
  }
  void on_log(std::string line) { check(!line.empty() && line.front() == '{'); }
  void on_close(uint32_t conn, uint32_t code, const std::string& reason) {
    check(code >= 1000 && code < 5000 && !reason.empty());
    open_.erase(conn);  // the host drops the socket
  }

 private:
  bool strict_;
  uint32_t calls_ = 0;
  uint64_t now_ =
      1760000000;  // the nostr-tools corpus (scripts/gen-corpus.mjs) is signed around this time
  nostr::test::SqliteDb d1_;
  nostr::test::SqliteDb do_sql_;
  std::unique_ptr<nostr::durable::Relay> relay_;
  simdjson::dom::parser json_;
  std::set<uint32_t> open_;
  std::string attach_[8];
  std::deque<std::pair<uint32_t, std::vector<nostr::SqlStatement>>> pending_;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  Host host(size > 0 && (data[0] & 0x80) != 0);
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
      case 3:
        host.admin(line.substr(1), (b & 1) == 0);
        break;
      case 4:
        host.hour();
        break;
      case 5:
        host.frame(conn, line.substr(1), /*async=*/true);
        break;
      case 6:
        host.reconnect(conn);
        break;
      case 7:
        host.hibernate();
        break;
      default:
        host.frame(conn, line.substr(1), /*async=*/false);
        break;
    }
    host.tick();
  }
  host.finish();
  return 0;
}
