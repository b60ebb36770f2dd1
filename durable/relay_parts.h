// Internal to the engine's source files (durable/relay*.cpp): the nested
// helpers Relay declares but only its own files need. The entry guard, and
// the sinks through which the management and retention components' asks
// become store batches with tokens, HTTP replies, archive writes and logs
// (made for each call; they only hold the engine: self() lends the
// temporary to the component for that call).
#pragma once

#include <algorithm>
#include <variant>

#include "durable/relay.h"

namespace nostr::durable {

// Every entry point starts with one: it brings the latest time (now_) and, at
// the end of the call, sends the replies of API calls that ended and
// schedules saving counters that changed.
struct Relay::Entry {
  Entry(Relay& r, uint64_t t) : relay(r), now(t) { r.now_ = std::max(r.now_, t); }
  ~Entry() {
    relay.finish_api_calls(now);
    relay.ops_log_.note(relay.metrics_, now);
  }
  Entry(const Entry&) = delete;
  Entry& operator=(const Entry&) = delete;
  Relay& relay;
  uint64_t now;
};

struct Relay::ManagementSink final : Management::Sink {
  explicit ManagementSink(Relay& r) : relay(r) {}
  Management::Sink& self() { return *this; }
  void store(Management::Ticket ticket, std::vector<SqlStatement> stmts) override;
  void reply(uint32_t request, uint32_t status, std::string body) override {
    relay.out_.http_reply(request, status, std::move(body));
  }
  void log(std::string line) override { relay.log_json(std::move(line)); }
  Relay& relay;
};

struct Relay::MaintenanceSink final : Maintenance::Sink {
  explicit MaintenanceSink(Relay& r) : relay(r) {}
  Maintenance::Sink& self() { return *this; }
  void store(std::variant<Maintenance::Sweep, Maintenance::Vanish> ticket,
             std::vector<SqlStatement> stmts) override {
    const uint32_t token = std::visit([&](auto t) { return relay.add_pending(t); }, ticket);
    relay.out_.store(token, std::move(stmts));
  }
  void local_sql(std::optional<Maintenance::SavedRead> ticket, SqlStatement stmt) override {
    relay.out_.local_sql(ticket ? relay.add_pending(*ticket) : 0, std::move(stmt));
  }
  void log(std::string line) override { relay.log_json(std::move(line)); }
  Relay& relay;
};

struct Relay::RetentionSink final : RetentionRuns::Sink {
  explicit RetentionSink(Relay& r) : relay(r) {}
  RetentionRuns::Sink& self() { return *this; }
  void store(std::variant<RetentionRuns::Select, RetentionRuns::Deleted> ticket,
             std::vector<SqlStatement> stmts) override;
  void archive(std::string key, std::string body) override;
  void log(std::string line) override { relay.log_json(std::move(line)); }
  Relay& relay;
};

}  // namespace nostr::durable
