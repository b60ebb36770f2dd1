// The engine's counters for GET /metrics (Prometheus text format). Counters
// live in the engine's memory; OpsLog (durable/ops_log.h) saves them to local
// SQL at most kCounterFlush seconds after a change and adds them back at a
// wake, so an evicted (hibernated) object keeps counting where it left off.
// Gauges and histograms start afresh. The native server's local SQL is in
// memory: there, as with any Prometheus exporter, a process restart starts
// from zero.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <utility>

namespace nostr::durable {

struct Histogram {
  // Upper bounds in seconds (the +Inf bucket is `count`).
  static constexpr std::array<double, 10> kBounds = {0.001, 0.0025, 0.005, 0.01, 0.025,
                                                     0.05,  0.1,    0.25,  1,    5};
  std::array<uint64_t, kBounds.size()> buckets{};  // non-cumulative
  uint64_t count = 0;
  double sum = 0;
  void observe(double seconds);
};

struct Metrics {
  uint64_t events_accepted = 0;
  uint64_t events_duplicate = 0;
  std::map<std::string, uint64_t>
      events_refused;                           // by NIP-01 prefix ("blocked", "rate-limited", ...)
  std::map<std::string, uint64_t> messages_in;  // by message type ("EVENT", "REQ", ..., "invalid")
  uint64_t reqs_refused = 0;
  uint64_t connections_opened = 0;
  uint64_t connections_refused = 0;
  uint64_t rate_limited = 0;
  uint64_t rate_disconnects = 0;
  uint64_t admin_requests = 0;
  uint64_t admin_refused = 0;  // 401s
  uint64_t wakes = 0;          // persisted (local SQL)
  // Several relay objects (relay_peers.cpp).
  uint64_t forwarded_events = 0;       // events queued for another object (one per object)
  uint64_t forward_requests = 0;       // Forward actions: object-to-object requests
  uint64_t delivered_events = 0;       // events from other objects fanned out here
  uint64_t interest_publications = 0;  // summaries sent to relay_objects
  uint64_t retention_pruned = 0;       // events deleted by retention (archived first)
  uint64_t retention_archives = 0;     // archive objects written
  uint64_t retention_failures = 0;     // runs stopped by a storage or archive failure
  // Host bugs the engine caught: a completion for a token it does not know
  // ("unknown_token") or of the wrong kind ("wrong_completion").
  std::map<std::string, uint64_t> host_errors;
  Histogram store_latency;
  // A refusal message "prefix: text": counted under its prefix.
  void refused(std::string_view message);
  // Calls fn(name, value&) for every counter (not the histogram): how they are
  // saved in local SQL (table counters) and restored at a wake.
  template <typename F>
  void for_each_counter(F&& fn) {
    each_counter(*this, fn);
  }
  template <typename F>
  void for_each_counter(F&& fn) const {
    each_counter(*this, fn);
  }
  // Adds one saved counter to this one (unknown names are ignored).
  void restore(std::string_view name, uint64_t value);

 private:
  template <typename M, typename F>
  static void each_counter(M& m, F& fn) {
    fn("events_accepted", m.events_accepted);
    fn("events_duplicate", m.events_duplicate);
    fn("reqs_refused", m.reqs_refused);
    fn("connections_opened", m.connections_opened);
    fn("connections_refused", m.connections_refused);
    fn("rate_limited", m.rate_limited);
    fn("rate_disconnects", m.rate_disconnects);
    fn("admin_requests", m.admin_requests);
    fn("admin_refused", m.admin_refused);
    fn("forwarded_events", m.forwarded_events);
    fn("forward_requests", m.forward_requests);
    fn("delivered_events", m.delivered_events);
    fn("interest_publications", m.interest_publications);
    fn("retention_pruned", m.retention_pruned);
    fn("retention_archives", m.retention_archives);
    fn("retention_failures", m.retention_failures);
    for (auto& [k, v] : m.events_refused) fn("refused:" + k, v);
    for (auto& [k, v] : m.messages_in) fn("in:" + k, v);
    for (auto& [k, v] : m.host_errors) fn("host_error:" + k, v);
  }
};

// Gauges the engine reads at render time.
struct Gauges {
  uint64_t connections, subscriptions, memory_bytes, frames_out, pending_events;
};

// Returns the text exposition (version 0.0.4) of `m` and `g`.
std::string render_metrics(const Metrics& m, const Gauges& g);

}  // namespace nostr::durable
