// Test support: a simulated Durable Object host for durable::Relay. It performs
// the engine's actions like js-glue/relay_do.js does -- D1 batches on a real
// SQLite database loaded with schema.sql (completed later, on pump(), as D1
// completes asynchronously), DO SQL on a second SQLite database (synchronously),
// frames into per-connection inboxes, attachments kept per socket -- with a fake
// clock. "Hibernation" rebuilds the engine from attachments + DO storage.
#pragma once

#include <doctest/doctest.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <deque>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/config.h"
#include "durable/relay.h"
#include "host_driver.h"
#include "sqlite_exec.h"

namespace nostr::test {

class SimHost {
 public:
  explicit SimHost(RelayConfig config = {})
      : config_(std::move(config)),
        d1_(std::string(NOSTR_SOURCE_DIR) + "/schema.sql"),
        relay_(std::make_unique<durable::Relay>(config_)) {
    relay_->restore(now);
    drain();
    pump();  // the management state load
  }
  // One of several relay objects named `name` sharing the D1 `shared`
  // (borrowed: it must outlive this host). Forward actions are kept in
  // `forwards` for the test to deliver (or not).
  SimHost(RelayConfig config, SqliteDb& shared, const std::string& name)
      : config_(std::move(config)),
        shared_d1_(&shared),
        name_(name),
        relay_(std::make_unique<durable::Relay>(config_)) {
    relay_->set_object_name(name);
    relay_->restore(now);
    drain();
    pump();
  }
  // Forward actions so far: (peer, events).
  std::vector<std::pair<std::string, std::string>> forwards;
  // Archive actions not completed yet, and completing them (then pump()).
  struct PendingArchiveWrite {
    uint32_t token;
    std::string key, body;
  };
  std::vector<PendingArchiveWrite> archives;
  void complete_archives(bool ok) {
    auto done = std::move(archives);
    archives.clear();
    for (const auto& a : done) relay_->archive_done(a.token, ok, now);
    drain();
    pump();
  }
  // Events forwarded by another object (Relay::deliver), then pump().
  void deliver(const std::string& events) {
    relay_->deliver(events, now);
    drain();
    pump();
  }

  uint64_t now = 1700000000;
  bool fail_d1 = false;  // make every D1 batch fail (storage outage)

  void connect(uint32_t conn, const ConnMeta& meta = {}) {
    REQUIRE(relay_->open(conn, "challenge-" + std::to_string(conn), "", now, meta));
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
  // Fires the engine's timer if it is due (what the glue's setTimeout does).
  void fire_due_timer() {
    if (nostr::test::timer_due(*relay_, now)) {
      relay_->timer(now);
      drain();
    }
  }
  // An event whose verification a host ran itself and saw fail
  // (Relay::refuse_invalid), then pump().
  void refuse_invalid(uint32_t conn, const nostr::Event& e, const nostr::Reject& why) {
    relay_->refuse_invalid(conn, e, why, now);
    drain();
    pump();
  }
  // An event a host verified itself (Relay::apply_verified), then pump().
  void apply_verified(uint32_t conn, VerifiedEvent&& v) {
    relay_->apply_verified(conn, std::move(v), now);
    drain();
    pump();
  }
  // Completes pending D1 batches in order (and due timers: D1 completes later
  // than the frames already received, as in workerd).
  void pump() {
    fire_due_timer();
    while (!pending_.empty()) {
      auto [token, stmts] = pending_.front();
      pending_.pop_front();
      std::string out, err;
      ++d1_batches_run;
      if (!fail_d1 && inject_d1_fault(token, stmts)) {
        drain();
        fire_due_timer();
        continue;
      }
      if (!fail_d1 && d1().run_batch(stmts, out, err)) {
        max_d1_result_bytes = std::max(max_d1_result_bytes, out.size());
        relay_->store_done(token, true, out, now);
      } else {
        relay_->store_done(token, false, fail_d1 ? "D1 unavailable" : err, now);
        last_d1_error = err;
      }
      drain();
      fire_due_timer();
    }
  }
  size_t pending_d1() const { return pending_.size(); }

  // Faults (tests/durable/test_relay_faults.cpp). A D1 batch is one
  // transaction: it commits whole or not at all. Two ways it goes wrong:
  //  - d1_fail_at_statement = k (>= 0): a batch with more than k statements
  //    fails at its statement k (0-based): statements 0..k-1 ran, then the
  //    whole batch rolled back; the completion reports the error (store_done
  //    ok=false). A batch with at most k statements runs normally.
  //  - d1_commit_then_fail: the batch commits, but its completion reports a
  //    failure ("D1 timeout"): a call that timed out on the caller's side
  //    after D1 committed it. The engine cannot tell it from a rollback.
  // Both apply only to batches whose statement JSON contains d1_fault_match
  // ("" : every batch), and at most d1_faults_left times (then they stop
  // by themselves; SIZE_MAX: until reset).
  int d1_fail_at_statement = -1;
  bool d1_commit_then_fail = false;
  std::string d1_fault_match;
  size_t d1_faults_left = SIZE_MAX;
  size_t d1_faults_injected = 0;

  // Drops completions execute_first_and_hold() kept (their batches did
  // commit): the engine that asked for them is gone, e.g. after
  // hibernate_and_wake() or redeploy(), and a new engine must not receive them.
  void drop_held() { held_.clear(); }
  // Batches the engine asked for and nobody ran yet: run on D1 now without
  // telling the engine (`commit`: they reached D1) or dropped (they never
  // did). Returns how many.
  size_t settle_pending_silently(bool commit) {
    size_t n = 0;
    while (!pending_.empty()) {
      auto [token, stmts] = pending_.front();
      pending_.pop_front();
      ++n;
      if (!commit) continue;
      std::string out, err;
      ++d1_batches_run;
      d1().run_batch(stmts, out, err);
    }
    return n;
  }
  // A redeploy (or an engine failure reset): every socket is dropped and the
  // engine's memory is lost. Pending batches are settled first (see
  // settle_pending_silently); held completions are lost. The new engine
  // starts with no sockets, as a fresh object does; clients connect again.
  void redeploy(bool commit_pending) {
    settle_pending_silently(commit_pending);
    drop_held();
    open_.clear();
    attachments_.clear();
    relay_ = std::make_unique<durable::Relay>(config_);
    if (!name_.empty()) relay_->set_object_name(name_);
    relay_->restore(now);
    drain();
    pump();
  }
  // Calls the engine's timer() now, due or not (an alarm firing early, twice
  // or late), and performs its actions; D1 work stays pending until pump().
  void fire_timer() {
    relay_->timer(now);
    drain();
  }
  // Every open connection, for a test that drops them all.
  const std::vector<uint32_t>& open_connections() const { return open_; }
  // Runs the oldest pending D1 batch on the database now but holds its
  // completion until release_held(): D1 committed, the engine not told yet.
  void execute_first_and_hold() {
    REQUIRE(!pending_.empty());
    auto [token, stmts] = pending_.front();
    pending_.pop_front();
    std::string out, err;
    REQUIRE_MESSAGE(d1().run_batch(stmts, out, err), err);
    held_.emplace_back(token, out);
  }
  void release_held() {
    for (auto& [token, out] : held_) {
      relay_->store_done(token, true, out, now);
      drain();
    }
    held_.clear();
  }
  // Lets `seconds` pass: fires the engine's timer if due, completes storage.
  void advance(uint64_t seconds) {
    now += seconds;
    pump();
  }
  size_t d1_batches_run = 0;
  size_t max_d1_result_bytes = 0;  // the largest D1 answer handed to the engine
  size_t do_sql_statements = 0;

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
    if (!name_.empty()) relay_->set_object_name(name_);  // as the glue does at every wake
    for (const uint32_t conn : open_) REQUIRE(relay_->open(conn, "", attachments_[conn], now));
    relay_->restore(now);
    drain();
    pump();
  }
  // A NIP-86 request (see Relay::http_admin); returns {status, body} once
  // storage work is done, or {0, ""} if no answer came.
  std::pair<uint32_t, std::string> admin(const std::string& url, const std::string& authorization,
                                         const std::string& body) {
    const uint32_t request = ++next_request_;
    relay_->http_admin(request, url, authorization, body, now);
    drain();
    pump();
    auto it = replies_.find(request);
    if (it == replies_.end()) return {0, ""};
    return it->second;
  }
  // An HTTP API call (Relay::http_api); returns {status, body} once storage
  // work is done (and due timers ran), or {0, ""} if no answer came.
  std::pair<uint32_t, std::string> api(const std::string& method, const std::string& path,
                                       const std::string& body = "", const ConnMeta& meta = {}) {
    const uint32_t request = ++next_request_;
    relay_->http_api(request, method, path, body, meta, now);
    drain();
    pump();
    auto it = replies_.find(request);
    if (it == replies_.end()) return {0, ""};
    return it->second;
  }
  // An HTTP API call left in progress (no storage work done): its request id
  // for reply(); pump() completes it.
  uint32_t api_async(const std::string& method, const std::string& path,
                     const std::string& body = "", const ConnMeta& meta = {}) {
    const uint32_t request = ++next_request_;
    relay_->http_api(request, method, path, body, meta, now);
    drain();
    return request;
  }
  // The answer to request `request` so far ({0, ""}: none yet).
  std::pair<uint32_t, std::string> reply(uint32_t request) const {
    auto it = replies_.find(request);
    return it == replies_.end() ? std::pair<uint32_t, std::string>{0, ""} : it->second;
  }
  // Structured log lines (Log actions) so far.
  std::vector<std::string> logs;

  durable::Relay& relay() { return *relay_; }
  // Connections the engine asked to close (CLOSE actions), in order.
  const std::vector<uint32_t>& closed() const { return closed_; }
  // The reason of the last Close action for conn ("" if none).
  std::string close_reason(uint32_t conn) const {
    auto it = close_reasons_.find(conn);
    return it == close_reasons_.end() ? std::string() : it->second;
  }
  // Connects without expecting success (the engine may refuse it).
  void try_connect(uint32_t conn, const ConnMeta& meta = {}) {
    REQUIRE(relay_->open(conn, "challenge-" + std::to_string(conn), "", now, meta));
    drain();
  }
  SqliteDb& d1() { return shared_d1_ ? *shared_d1_ : d1_; }
  const std::string& attachment(uint32_t conn) { return attachments_[conn]; }
  std::string last_d1_error;

 private:
  // Performs the engine's actions (tests/support/host_driver.h).
  void drain() { perform_actions(*relay_, *this, now); }
  // The fault knobs above, for one pending batch: returns true if a fault
  // was injected (the engine was told), false to run the batch normally.
  bool inject_d1_fault(uint32_t token, const std::vector<nostr::SqlStatement>& stmts) {
    if (d1_faults_left == 0 || (d1_fail_at_statement < 0 && !d1_commit_then_fail)) return false;
    if (!d1_fault_match.empty() &&
        nostr::batch_json(stmts).find(d1_fault_match) == std::string::npos)
      return false;
    std::string out, err;
    if (d1_fail_at_statement >= 0) {
      const size_t k = static_cast<size_t>(d1_fail_at_statement);
      if (stmts.size() <= k) return false;  // too few statements: runs normally
      d1().run_batch(stmts, out, err, /*fail_at=*/k);
    } else {
      REQUIRE_MESSAGE(d1().run_batch(stmts, out, err), err);  // commits
      err = "D1 timeout: the batch committed but its answer was lost";
    }
    if (d1_faults_left != SIZE_MAX) --d1_faults_left;
    ++d1_faults_injected;
    last_d1_error = err;
    relay_->store_done(token, false, err, now);
    return true;
  }

 public:  // perform_actions' callbacks
  void on_send(uint32_t conn, std::string frame) { inbox_[conn].push_back(std::move(frame)); }
  void on_store(uint32_t token, std::vector<nostr::SqlStatement> stmts) {
    pending_.emplace_back(token, std::move(stmts));
  }
  SqliteDb& local_db() {
    ++do_sql_statements;
    return do_sql_;
  }
  void on_local_sql_error(const std::string& err) { FAIL("local SQL failed: " << err); }
  void on_save_conn_state(uint32_t conn, std::string state) { attachments_[conn] = std::move(state); }
  void on_http_reply(durable::HttpReply r) {
    replies_[r.request] = {r.status, std::move(r.body)};
    reply_order.push_back(r.request);
  }
  std::vector<uint32_t> reply_order;  // HTTP requests in the order they were answered
  void on_log(std::string line) { logs.push_back(std::move(line)); }
  void on_forward(const std::string& peer, const std::string& events) {
    forwards.emplace_back(peer, events);
  }
  void on_archive(uint32_t token, const std::string& key, const std::string& body) {
    archives.push_back({token, key, body});
  }
  void on_close(uint32_t conn, uint32_t code, const std::string& reason) {
    closed_.push_back(conn);
    close_reasons_[conn] = std::to_string(code) + " " + reason;
  }

 private:
  RelayConfig config_;
  SqliteDb d1_;
  SqliteDb* shared_d1_ = nullptr;
  std::string name_;
  SqliteDb do_sql_;
  std::unique_ptr<durable::Relay> relay_;
  std::map<uint32_t, std::vector<std::string>> inbox_;
  std::map<uint32_t, std::string> attachments_;
  std::deque<std::pair<uint32_t, std::vector<nostr::SqlStatement>>> pending_;
  std::vector<std::pair<uint32_t, std::string>> held_;
  std::vector<uint32_t> open_;
  std::vector<uint32_t> closed_;
  std::map<uint32_t, std::string> close_reasons_;
  std::map<uint32_t, std::pair<uint32_t, std::string>> replies_;
  uint32_t next_request_ = 0;
};

}  // namespace nostr::test
