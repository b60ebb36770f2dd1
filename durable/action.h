// Action: what the engine asks its host to do, as typed values. The engine
// queues them in an Outbox during each call; the host takes them after the
// call returns and performs them in order. Bytes exist only at the wasm ABI
// (durable/abi/action_codec.h); native hosts (server/, tests/support/
// host_driver.h) perform the values directly.
//
// Names say the role, not the Cloudflare product: the "store" is where events
// live (D1 on Cloudflare, SQLite natively); "local SQL" is the host's own
// synchronous database for connection state that outgrows ConnState (DO
// SQLite); "conn state" is kept with the socket across hibernation.
#pragma once

#include <cassert>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "core/results.h"
#include "core/sql.h"
#include "durable/conn_id.h"

namespace nostr::durable {

// One text frame for one socket.
struct Send {
  uint32_t conn;
  std::string text;
};

// One event for many subscribers: each target gets prefix + raw + "]".
struct Fanout {
  struct Target {
    uint32_t conn;
    std::string prefix;
  };
  std::string raw;
  std::vector<Target> targets;
};

// A batch of store statements, one transaction, run asynchronously; the host
// answers Relay::store_done(token).
struct Store {
  uint32_t token;
  std::vector<SqlStatement> stmts;
};

// One local SQL statement, run before the next action; token != 0: the host
// answers Relay::local_sql_done(token) with its rows.
struct LocalSql {
  uint32_t token;
  SqlStatement stmt;
};

// The connection's state to keep with its socket (small JSON text); handed
// back to Relay::open after hibernation.
struct SaveConnState {
  uint32_t conn;
  std::string state;
};

// Close the socket with a WebSocket close code and reason.
struct Close {
  uint32_t conn;
  uint32_t code;
  std::string reason;
};

// The answer to an HTTP request the host handed in (Relay::http_admin,
// Relay::http_api). Both hosts send `headers` as they are, so they answer the
// same bytes (make_http_reply builds them).
struct HttpReply {
  uint32_t request;
  uint32_t status;
  std::string body;  // JSON, or NDJSON for a query's events
  std::vector<std::pair<std::string, std::string>> headers;
};

// Returns a reply with the relay's headers: Content-Type `content_type`, any
// origin (CORS: the API and NIP-86 are for browsers too), and on a 401 the
// NIP-98 challenge (WWW-Authenticate: Nostr).
inline HttpReply make_http_reply(uint32_t request, uint32_t status, std::string body,
                                 std::string_view content_type = "application/json") {
  HttpReply r{request, status, std::move(body), {}};
  r.headers.emplace_back("Content-Type", std::string(content_type));
  r.headers.emplace_back("Access-Control-Allow-Origin", "*");
  if (status == 401) r.headers.emplace_back("WWW-Authenticate", "Nostr");
  return r;
}

// One structured log line (a JSON object) for the operator's logs.
struct Log {
  std::string line;
};

// Events for another relay object (several objects: durable/interest.h):
// deliver `events` (raw event JSON, one per line) to the object named `peer`,
// which hands them to Relay::deliver. Fire and forget: nothing comes back.
struct Forward {
  std::string peer;
  std::string events;
};

// Retention: keep `body` (raw event JSON, one per line, the events of one UTC
// day) in the archive under `key` (e.g. "events/2026-11-28/1764288000-ab12..";
// the host adds its extension: ".jsonl.gz" in R2, ".jsonl" on disk), then
// answer Relay::archive_done(token). The events are deleted only after that.
struct Archive {
  uint32_t token;
  std::string key;
  std::string body;
};

using Action = std::variant<Send, Fanout, Store, LocalSql, SaveConnState, Close, HttpReply, Log,
                            Forward, Archive>;

// Wire numbers of the action kinds (durable/abi/relay_abi.h): variant index + 1.
enum class ActionType : uint32_t {
  send = 1,
  fanout = 2,
  store = 3,
  local_sql = 4,
  save_conn_state = 5,
  close = 6,
  http_reply = 7,
  log = 8,
  forward = 9,
  archive = 10
};
inline ActionType type_of(const Action& a) { return static_cast<ActionType>(a.index() + 1); }

// The engine's queue of actions for the current call.
class Outbox {
 public:
  // Socket actions name a host socket id; an API call (ConnId from
  // kFirstApiConn) never reaches a socket (its replies go to its ApiCall).
  static uint32_t socket(ConnId conn) {
    assert(conn < kFirstApiConn);
    return static_cast<uint32_t>(conn);
  }
  void send(ConnId conn, std::string text) {
    ++frames_;
    q_.emplace_back(Send{socket(conn), std::move(text)});
  }
  void fanout(std::string_view raw, std::vector<Fanout::Target> targets) {
    frames_ += targets.size();
    q_.emplace_back(Fanout{std::string(raw), std::move(targets)});
  }
  void http_reply(uint32_t request, uint32_t status, std::string body,
                  std::string_view content_type = "application/json") {
    q_.emplace_back(make_http_reply(request, status, std::move(body), content_type));
  }
  void http_reply(HttpReply reply) { q_.emplace_back(std::move(reply)); }
  void log(std::string line) { q_.emplace_back(Log{std::move(line)}); }
  void forward(std::string peer, std::string events) {
    q_.emplace_back(Forward{std::move(peer), std::move(events)});
  }
  void archive(uint32_t token, std::string key, std::string body) {
    q_.emplace_back(Archive{token, std::move(key), std::move(body)});
  }
  void store(uint32_t token, std::vector<SqlStatement> stmts) {
    q_.emplace_back(Store{token, std::move(stmts)});
  }
  // A batch of one statement, moved in (a braced {stmt} would copy it).
  void store(uint32_t token, SqlStatement stmt) {
    std::vector<SqlStatement> one;
    one.push_back(std::move(stmt));
    store(token, std::move(one));
  }
  void local_sql(uint32_t token, SqlStatement stmt) {
    q_.emplace_back(LocalSql{token, std::move(stmt)});
  }
  void save_conn_state(ConnId conn, std::string state) {
    q_.emplace_back(SaveConnState{socket(conn), std::move(state)});
  }
  void close(ConnId conn, uint32_t code, std::string reason) {
    q_.emplace_back(Close{socket(conn), code, std::move(reason)});
  }

  // Returns the queued actions, oldest first, and empties the queue.
  std::vector<Action> take() { return std::exchange(q_, {}); }
  bool empty() const { return q_.empty(); }
  // Frames queued for sockets so far (sends + fan-out targets), ever.
  uint64_t frames() const { return frames_; }

 private:
  std::vector<Action> q_;
  uint64_t frames_ = 0;
};

}  // namespace nostr::durable
