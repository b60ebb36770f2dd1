// The HTTP API's call slots, shared fairly between callers' addresses
// (address_key: IPv6 by its /64), as a component.
//
// At most kMaxCalls calls run at once, at most kMaxCallsPerAddress of them
// for one address; more wait in a queue per address (at most
// kMaxWaitingPerAddress calls, kMaxWaitingBytes of frames in all) and are
// started round-robin between addresses as calls end; beyond that the caller
// is refused (429). An address's calls share one set of per-connection
// buckets, so looping on the API is charged as one connection would be.
// At most kMaxAddresses addresses are remembered (the idle one used longest
// ago is forgotten first).
//
// It answers to the engine, which runs each call it lets start on an
// internal connection, and tells it when that call ends.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "core/policy.h"
#include "durable/conn_id.h"
#include "durable/conn_state.h"

namespace nostr::durable {

class ApiSlots {
 public:
  static constexpr size_t kMaxCalls = 8;            // running, relay-wide
  static constexpr size_t kMaxCallsPerAddress = 3;  // running, per address
  static constexpr size_t kMaxWaitingPerAddress = 16;
  static constexpr size_t kMaxWaitingBytes = 1 << 20;
  static constexpr size_t kMaxAddresses = 4096;  // addresses remembered

  // A call as it waits: the engine's request id and kind, the frame it
  // becomes, and its caller's metadata.
  struct Call {
    uint32_t request = 0;
    uint8_t kind = 0;
    std::string frame;
    ConnMeta meta;
  };

  enum class Admit : uint8_t {
    start,         // may start now: the engine starts it (and calls started())
    waiting,       // queued; next() hands it out in its turn
    full,          // refused: every remembered address has calls (429)
    address_full,  // refused: this address's queue is full (429)
  };
  // Whether `call` from address key `key` may start at `now`. The call is
  // moved from only when it is queued (waiting).
  [[nodiscard]] Admit admit(const std::string& key, Call& call, uint64_t now);
  // A call of `key` runs on internal connection `conn`. Returns the
  // address's buckets, for the connection to start from (borrowed until the
  // next call on this).
  const ConnBuckets& started(const std::string& key, ConnId conn);
  // The call on `conn` ended (now): its connection's buckets (if it still
  // had them) are the address's again. No-op for a connection that is not a call's.
  void ended(ConnId conn, const ConnBuckets* buckets, uint64_t now);
  // The next waiting call to start, with its address key, while a slot is
  // free (round-robin between addresses); or nullopt.
  [[nodiscard]] std::optional<std::pair<std::string, Call>> next();

  size_t running() const { return running_; }
  size_t addresses() const { return addresses_.size(); }
  size_t waiting_bytes() const { return waiting_bytes_; }

 private:
  struct Address {
    size_t active = 0;  // calls running
    std::deque<Call> waiting;
    ConnBuckets buckets;  // what its calls' connections share
    uint64_t last_used = 0;
  };
  std::map<std::string, Address> addresses_;    // by address key; bounded (kMaxAddresses)
  std::deque<std::string> turns_;               // addresses with waiting calls, round-robin
  std::map<ConnId, std::string> conn_address_;  // running call's connection -> its address
  size_t running_ = 0;
  size_t waiting_bytes_ = 0;
};

}  // namespace nostr::durable
