// Relay: the relay engine both hosts run (the Durable Object through the wasm
// ABI, the native server directly), sans-IO. It consumes socket events,
// frames, HTTP requests and storage results and emits typed actions
// (durable/action.h, queued in an Outbox) that the host performs: frames,
// store batches, local SQL, connection state, HTTP replies, logs. Time always
// comes in as an argument. Its state lives in components it owns (see
// docs/architecture.md "Components"); what stays here is what needs a
// connection.
//
// Guarantees: OK true for a stored kind is sent only after its D1 batch
// committed; every refusal gets a NIP-01 answer; nothing a client sends can
// make a call fail.
#pragma once

#include <cstdint>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/config.h"
#include "core/message.h"
#include "core/policy.h"
#include "core/verify.h"
#include "durable/action.h"
#include "durable/api_slots.h"
#include "durable/connection.h"
#include "durable/connections.h"
#include "durable/maintenance.h"
#include "durable/management.h"
#include "durable/metrics.h"
#include "durable/neg_syncs.h"
#include "durable/ops_log.h"
#include "durable/peers.h"
#include "durable/pending_ops.h"
#include "durable/query_budget.h"
#include "durable/rate_limits.h"
#include "durable/recent_ids.h"
#include "durable/reply.h"
#include "durable/retention.h"
#include "durable/subscriptions.h"
#include "durable/timers.h"
#include "durable/token_table.h"
#include "durable/write_queue.h"

namespace nostr::durable {

class Relay {
 public:
  // Changed counters are saved to local SQL this long after the first change.
  static constexpr uint64_t kCounterFlush = OpsLog::kCounterFlush;
  explicit Relay(RelayConfig config);

  // A socket opened (state empty: new, send the NIP-42 challenge, at most 64
  // bytes are kept) or survived hibernation (state: its last ConnState; the
  // metadata it was opened with is in there). `meta`: what the host knows of
  // a new socket (remote address, origin, user agent).
  // Returns false if conn is open. A new socket that policy does not admit
  // (blocked address, beyond limits.max_connections) gets a NOTICE and a Close
  // action and is not registered.
  // `local`: see open_local.
  [[nodiscard]] bool open(uint32_t conn, std::string_view challenge, std::string_view state,
                          uint64_t now, const ConnMeta& meta = {}, ReplySink* local = nullptr);
  // An in-process client (the import tool) on connection `conn`: a socket in
  // every rule, except that its replies go to `sink` (borrowed until close)
  // as typed values. Returns false if conn is open or policy refuses it.
  [[nodiscard]] bool open_local(uint32_t conn, ReplySink& sink, uint64_t now);
  // After waking: reload persisted subscriptions of open sockets.
  void restore(uint64_t now);
  // One text frame. If `padded`, SIMDJSON_PADDING bytes follow frame.data().
  void frame(uint32_t conn, std::string_view frame, bool padded, uint64_t now);
  // An EVENT whose validate step (core/verify.h validate_event) a host ran
  // elsewhere, e.g. on a worker thread: the same answer as the EVENT frame
  // would get, with the same policy and budget checks but no second verify.
  void apply_verified(uint32_t conn, VerifiedEvent&& e, uint64_t now);
  // An EVENT whose validate step a host ran elsewhere and that failed with
  // `why` (bad id or signature): the answer the EVENT frame would get, without
  // verifying it again. It is charged to the connection's and address's
  // buckets and counts as a refusal (rate_limits.max_refusals).
  void refuse_invalid(uint32_t conn, const Event& e, const Reject& why, uint64_t now);
  // Whether connection `conn` holds as many events waiting for storage as its
  // write budget allows (count or bytes): a host with backpressure (the
  // native server) stops reading it until this is false again, instead of
  // letting the engine refuse what it reads.
  bool write_budget_full(uint32_t conn) const;
  // Several relay objects (durable/interest.h, docs/scale.md): this object's
  // name, set by the host before other calls. From then on the engine
  // publishes what its subscriptions can match (with the stored query that
  // needs it), reads the other objects' summaries with every store batch, and
  // forwards each event it stores or broadcasts to the objects that may want
  // it (Forward actions). Without a name: one object, none of that.
  void set_object_name(std::string_view name);
  // Completion of an Archive action (retention): ok = false keeps the events.
  void archive_done(uint32_t token, bool ok, uint64_t now);
  // Events another object forwarded (raw JSON, one per line; already verified
  // and stored there): fanned out to this object's subscriptions, each event
  // at most once (an event this object already fanned out is skipped).
  void deliver(std::string_view events, uint64_t now);
  // A frame too large to be worth copying in: at least `size` bytes, more than
  // limits.max_message_length. Answers NOTICE like an oversized frame().
  void oversized_frame(uint32_t conn, uint64_t size);
  // The socket is gone.
  void close(uint32_t conn) { forget(conn); }
  // Completion of a Store action: its result sets, or the host's error.
  void store_done(uint32_t token, const BatchResult& r, uint64_t now);
  // Completion of a LocalSql action that asked for its rows.
  void local_sql_done(uint32_t token, const BatchResult& r, uint64_t now);
  // The same from a host that holds the results format (durable/abi/relay_abi.h
  // "Results"; on failure `results` is the error text), decoded once here.
  void store_done(uint32_t token, bool ok, std::string_view results, uint64_t now);
  void local_sql_done(uint32_t token, std::string_view results, uint64_t now);
  // Two kinds of timed work; timer(now) runs both (and may be called early).
  // Returns when short-lived work that only matters while the host is awake
  // (paced stored-query pages, REQs deferred behind a burst) is due, or 0 if
  // none: the host arms an in-memory timer for it after every call, and 0 lets
  // it hibernate. A deadline of `now` or earlier means "as soon as the frames
  // already received are handled".
  uint64_t next_deadline() const;
  // Returns when durable timed work is due (the NIP-40 expiry sweep, AUTH
  // deadlines), or 0 if none: the host keeps a wake-up alarm at that time
  // (the Durable Object alarm), which survives hibernation.
  uint64_t next_alarm() const;
  // Time passed: runs whatever of both kinds is due.
  void timer(uint64_t now);

  // A NIP-86 management request (HTTP POST with Content-Type
  // application/nostr+json+rpc) with the host's id `request`: `url` as the host
  // received it, the Authorization header, the body. Answered by one HttpReply
  // action (status + JSON body), at once or when its storage work completes.
  // Borrows its arguments only for the call.
  void http_admin(uint32_t request, std::string_view url, std::string_view authorization,
                  std::string_view body, uint64_t now);
  // The HTTP API (docs/http-api.md), answered by one HttpReply for `request`:
  //   POST /api/v1/events       body: an event -> {"id","accepted","message"}
  //   POST /api/v1/query        body: [filter, ...] -> the events as NDJSON, in
  //                             REQ order (206: cut at ApiCall::kMaxAnswer bytes)
  //   GET  /api/v1/events/{id}  -> the event, or 404
  // Statuses from the refusal's code (durable/api_call.h). Each call runs on
  // an internal connection with `meta`, so the rules for WebSocket clients
  // apply; calls are shared fairly between callers' addresses, an address's
  // calls charged as one connection (durable/api_slots.h: kMaxCalls running,
  // queues, 429 beyond). The host caps the body at limits.max_message_length.
  // Borrows its arguments.
  void http_api(uint32_t request, std::string_view method, std::string_view path,
                std::string_view body, const ConnMeta& meta, uint64_t now);

  // A store batch took `seconds` (measured by the host): the latency histogram.
  void observe_store_latency(double seconds) { metrics_.store_latency.observe(seconds); }
  // The Prometheus text exposition of the engine's metrics (docs/operations.md).
  std::string metrics_text(uint64_t memory_bytes) const;
  // A small JSON object of the engine's health: {"connections",
  //  "subscriptions","events_accepted","management_loaded","maintenance"}.
  std::string health_json() const;
  // The body of GET /health, the same on both hosts: {"ok","d1" (whether the
  // store answered the host's probe), ...health_json()'s fields[, "error"]}.
  std::string health_report(bool store_answers, std::string_view error = {}) const;
  void health_fields(JsonWriter& w) const;
  const ManagementState& management() const { return management_.state(); }
  const Metrics& metrics() const { return metrics_; }

  // Returns what clients currently make the relay hold, as a JSON object:
  // {"connections","subscriptions","filter_bytes","pending_events",
  //  "pending_event_bytes","query_list_bytes","query_page_bytes","queries_active",
  //  "queries_waiting","pending_counts","recent_ids","memory_bytes"}.
  std::string stats_json(uint64_t memory_bytes) const;

  // What the budgets count (docs/limits.md), for tests and the fuzzer.
  struct Usage {
    size_t connections, subscriptions, filter_bytes, pending_event_bytes, query_list_bytes,
        query_page_bytes, pending_counts;
  };
  Usage usage() const;

  const SubscriptionIndex& index() const { return index_; }
  Outbox& actions() { return out_; }
  // Returns the actions queued since the last take, oldest first.
  std::vector<Action> take_actions() { return out_.take(); }
  // Open sockets (HTTP API calls are not connections).
  size_t connection_count() const { return sockets(); }
  size_t subscription_count() const { return subs_.size(); }
  const RelayConfig& config() const { return config_; }
  // The metadata conn was opened with, or nullptr if it is not open.
  const ConnMeta* meta(uint32_t conn) const {
    const Connection* c = conns_.find(conn);
    return c ? &c->meta : nullptr;
  }

 private:
  void on_event(ConnId conn, Event&& e, uint64_t now);
  void on_req(ConnId conn, ReqMessage&& m, uint64_t now);
  void on_count(ConnId conn, CountMessage&& m, uint64_t now);
  void on_close(ConnId conn, const CloseMessage& m);
  // NIP-77 (durable/neg_syncs.h): a page read it asks for becomes a store batch.
  void read_neg_page(std::optional<NegSyncs::Read> next);
  void on_auth(ConnId conn, const Event& e, uint64_t now);
  // EVENT pipeline: admit (policy before verify, cheap duplicate check, write
  // budgets; false: answered) -> validate_event -> apply (policy after verify,
  // then broadcast or queue_store).
  bool admit_event(ConnId conn, const Event& e);
  // `charged_unverified`: the connection and address buckets were charged
  // before the author was known; a verified exempt author gets them back.
  void apply_event(ConnId conn, VerifiedEvent&& v, uint64_t now, bool charged_unverified);
  // An event that failed verification: the answer, counted as a refusal.
  void refuse_unverified(ConnId conn, const EventId& id, const Reject& why, uint64_t now);
  void queue_store(ConnId conn, VerifiedEvent&& v);
  void flush_writes();
  void on_store_done(const PendingStore& p, std::optional<StoreOutcome> outcome);
  // Gives back the write budgets a pending event held.
  void release_pending(const PendingStore& p);
  void on_query_done(const PendingQuery& p, const BatchResult& r, uint64_t now);
  void on_ids_done(Subscription& s, std::span<const ResultSet> rs);
  void on_page_done(Subscription& s, size_t rows, std::span<const ResultSet> rs);
  void on_count_done(PendingCount p, const BatchResult& r);
  void on_write_done(WriteBatch batch, const BatchResult& r);
  void on_schema_version(const BatchResult& r);
  void expire_auth(uint64_t now);
  // Policy's view of a connection.
  ConnView view(const Connection& c) const { return ConnView{c.meta, c.authed}; }
  // A woken connection's state (challenge, logins, subscriptions).
  void restore_conn_state(ConnId conn, Connection& c, std::string_view challenge, ConnState st);
  uint32_t add_pending(PendingOp op) { return pending_.add(std::move(op)); }
  void on_restore_rows(const BatchResult& r);

  // Management (durable/management.h; the engine's side in relay_admin.cpp):
  // a check of the state's version when due (and a waiting NIP-62 retry).
  void maybe_check_management(uint64_t now);
  void on_management_loaded(const BatchResult& r, uint64_t now);
  // A request whose answer acts on connections or the engine's caches.
  void on_admin_done(Management::Done done);
  // Closes connections by id, address or pubkey; returns how many.
  size_t disconnect_where(const std::string& target, const std::string& value, const Reject& why);
  void enforce_management();  // closes connections the state no longer admits
  // Sinks the components' asks go through (store batches with tokens,
  // replies, logs, archive writes), made per call: durable/relay_parts.h.
  struct ManagementSink;
  struct RetentionSink;
  struct MaintenanceSink;

  // Rate limits (relay_rates.cpp). Each returns false after answering the
  // refusal (and closing a connection that keeps hammering).
  // `verified_author`: the event's pubkey once its signature is checked
  // (exemptions go only to a verified author), else nullptr.
  bool rate_event(ConnId conn, Connection& c, const Event& e, const Pubkey* verified_author,
                  uint64_t now);
  // Gives back rate_event's connection and address tokens when the verified
  // author turns out to be exempt (trusted pubkey, administrator).
  void refund_exempt_author(ConnId conn, Connection& c, const Event& e, uint64_t now);
  bool rate_event_author(ConnId conn, Connection& c, const Event& e, uint64_t now);
  // `neg`: a NEG-OPEN/NEG-MSG, refused with NEG-ERR (ending the sync), not CLOSED.
  bool rate_req(ConnId conn, Connection& c, const SubId& sub, uint64_t now, bool neg = false);
  // A refusal was sent (`rate`: over a rate limit; else an event that failed
  // verification): counts it, closes conn past rate_limits.max_refusals.
  void count_refusal(ConnId conn, Connection& c, uint64_t now, bool rate = true);
  // Saves the buckets that changed (the limiter's rows, connections' states).
  void flush_rate_state(uint64_t now);
  RateLimiter::Client rate_client(ConnId conn, Connection& c) {
    return {conn, c.buckets, c.meta.ip};
  }
  // The guard every entry point starts with (durable/relay_parts.h).
  struct Entry;
  // The operation waiting for `token` if it waits for completion `kind`, taken
  // out of the pending table; otherwise a host error (unknown token, or a
  // completion of the wrong kind: the operation stays pending), counted and
  // logged, and nullopt. `entry`: the host call, for the log.
  std::optional<PendingOp> take_pending(uint32_t token, Completion kind, std::string_view entry);

  // One structured log line (at most kLogPerSecond a second; the rest counted).
  void log_refusal(ConnId conn, std::string_view what, std::string_view reason);
  void log_json(std::string line);

  // Stored queries: steps wait per connection and run round-robin while the
  // query budgets allow (limits.max_query_bytes_total).
  void enqueue_query_step(SubHandle h);
  void run_query_steps(uint64_t now);
  bool start_query_step(Subscription& s, SubHandle h, uint64_t now);
  void finish_stored_query(Subscription& s);
  // Sends the rows from s.next_row whose raw JSON is already here; returns
  // true when the answer is complete (then EOSE was sent).
  bool send_prefetched(Subscription& s);
  void release_prefetch(Subscription& s);
  // Counts stored-event bytes sent outside a paced page against conn's tokens.
  void spend_output(ConnId conn, size_t bytes);

  void remember(const Event& e);
  // `forwarded`: the event came from another relay object (deliver), so a
  // stored answer sent just before may already hold it (Peers::answered).
  void fan_out(const Event& e, bool forwarded = false);
  // Several objects: a smaller interest summary, when Peers says it may go.
  void maybe_shrink_interest(uint64_t now);
  // Answers CLOSED for sub id `sub` of conn and ends the subscription with that
  // id if one is open: after CLOSED nothing more is delivered on it.
  void refuse_req(ConnId conn, std::string sub, const Reject& why);
  SubHandle add_subscription(ConnId conn, Connection& c, SubId id,
                             std::vector<CompiledFilter> filters, bool live);
  void remove_subscription(SubHandle h);
  void persist_subscription(const Subscription& s);
  // After a REQ/CLOSE changed conn's subscriptions: record them for hibernation.
  void save_subscriptions(ConnId conn, Connection& c, const Subscription* changed,
                          const std::string& closed);
  // OK for an event (metrics and the refusal log too); why.code ok: no message.
  void send_ok(ConnId conn, const EventId& id, bool accepted, Reject why = {});
  // Hands `r` to conn's sink: its socket (a frame) or its API call.
  void reply(ConnId conn, const Reply& r);
  // NOTICE `why`, then closes conn (a socket with `code`; an API call answers).
  void disconnect(ConnId conn, uint32_t code, const Reject& why);
  size_t sockets() const { return conns_.sockets(); }
  void attach_state(ConnId conn, Connection& c);
  // Registers conn with `meta` and a full output burst; returns it.
  Connection& add_connection(ConnId conn, ConnMeta meta, uint64_t now);
  // Drops a connection (a closed socket, an ended API call) and what it held.
  void forget(ConnId conn);

  RelayConfig config_;
  Metrics metrics_;
  Management management_{config_, metrics_};  // NIP-86 state and requests
  Policy policy_{config_, management_.state()};
  OpsLog ops_log_;                                    // the structured log and the saved counters
  uint64_t now_ = 0;                                  // the latest time any call brought
  RateLimiter rates_{config_.rate_limits, metrics_};  // buckets by address and pubkey
  MessageParser parser_;
  Outbox out_;
  SubscriptionIndex index_;
  RecentIds recent_{16384};
  Connections conns_;  // open sockets and API calls (durable/connections.h)
  NegSyncs negs_{config_.limits};
  // HTTP API calls (relay_http.cpp): each runs on an internal connection
  // (ids from kFirstApiConn) whose sink is its ApiCall.
  ApiSlots api_slots_;  // who may start an API call, fairly by address
  void start_api_call(const std::string& key, ApiSlots::Call call, uint64_t now);
  // Sends the replies of calls that ended and starts waiting calls.
  void finish_api_calls(uint64_t now);
  std::vector<std::pair<ConnId, HttpReply>> api_finished_;
  // One frame of an open connection (a socket's, or an API call's request).
  void dispatch(ConnId conn, Connection& c, std::string_view bytes, bool padded, uint64_t now);
  Subscriptions subs_;  // every open REQ, by handle (durable/subscriptions.h)
  // Group commit: one store batch in flight; events verified meanwhile wait
  // and go together in the next batch (durable/write_queue.h).
  WriteQueue writes_{config_.limits};
  TokenTable<PendingOp> pending_;        // what the host will complete, by token
  QueryBudget queries_{config_.limits};  // stored-query budgets and read turns
  // Budget counters (docs/limits.md).
  size_t pending_counts_ = 0;
  Timers timers_;                   // the engine's own timed work (durable/timers.h)
  Maintenance maintenance_;         // the NIP-40 expiry sweep, NIP-62 vanish steps
  Peers peers_{config_, metrics_};  // several relay objects (durable/peers.h)
  RetentionRuns retention_{config_.retention, metrics_};
};

}  // namespace nostr::durable
