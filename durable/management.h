// Management (NIP-86) as a component: the state loaded from the store at
// start and re-read when its version changes (checked at most every kCheck
// seconds while the engine is active), and the requests (authorised by NIP-98
// from an ADMIN_PUBKEYS key), each one store batch, held in a bounded waiting
// room while the state loads.
//
// It answers to the engine through a Sink: store batches with its tickets,
// HTTP replies, log lines. What acts on connections (closing what a block no
// longer admits, listing or disconnecting connections) it hands back to the
// engine as a Done; the engine answers those. It counts admin_requests and
// admin_refused (401s).
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "core/config.h"
#include "core/management.h"
#include "core/results.h"
#include "core/sql.h"
#include "durable/completion.h"
#include "durable/metrics.h"

namespace nostr::durable {

class Management {
 public:
  // How often an active object asks whether the state changed, and retries a
  // load that failed.
  static constexpr uint64_t kCheck = 5;
  // Requests queued while the state loads, and in flight.
  static constexpr size_t kMaxWaiting = 8;
  static constexpr size_t kMaxInFlight = 8;

  // Tickets of the store batches it asks for, each completed once.
  struct Load {
    static constexpr Completion kCompletion = Completion::store;
  };
  struct Version {
    static constexpr Completion kCompletion = Completion::store;
  };
  struct Request {
    static constexpr Completion kCompletion = Completion::store;
    uint32_t request;
    AdminRequest req;
    Pubkey admin;
  };
  using Ticket = std::variant<Load, Version, Request>;

  struct Sink {
    virtual void store(Ticket ticket, std::vector<SqlStatement> stmts) = 0;
    virtual void reply(uint32_t request, uint32_t status, std::string body) = 0;
    virtual void log(std::string line) = 0;

   protected:
    ~Sink() = default;
  };

  // Borrows `config` and `metrics` for its lifetime.
  Management(const RelayConfig& config, Metrics& metrics) : config_(config), metrics_(metrics) {}

  const ManagementState& state() const { return state_; }
  bool loaded() const { return loaded_; }

  // Loads the state (at a wake).
  void load(uint64_t now, Sink& sink);
  // Whether a check is due: none in flight and kCheck seconds since the last.
  bool check_due(uint64_t now) const { return !busy_ && now >= checked_at_ + kCheck; }
  // If due: loads the state if it is not loaded, else reads its version.
  void check(uint64_t now, Sink& sink);
  // When a failed load is tried again while work waits for it (`writes_waiting`,
  // or requests), or nullopt: without it only client traffic would.
  std::optional<uint64_t> retry_at(bool writes_waiting) const;

  // What a completed load did.
  enum class Loaded : uint8_t {
    first,     // loaded for the first time this life
    reloaded,  // a newer state replaced the one held
    kept,      // failed, the state held stays (the next check retries)
    failed,    // failed and none is held: what waits for it must be refused
  };
  [[nodiscard]] Loaded on_loaded(const BatchResult& r, uint64_t now, Sink& sink);
  void on_version(const BatchResult& r, uint64_t now, Sink& sink);

  // A NIP-86 request (see Relay::http_admin): answered through the sink, at
  // once or when its batch completes. Borrows its arguments for the call.
  void request(uint32_t request, std::string_view url, std::string_view authorization,
               std::string_view body, uint64_t now, Sink& sink);
  // A request whose answer is the engine's, once its batch committed: a
  // state change (already applied here; answer "true" after acting on it),
  // listconnections or disconnect.
  struct Done {
    uint32_t request;
    AdminRequest req;
  };
  [[nodiscard]] std::optional<Done> on_request_done(Request r, const BatchResult& done, Sink& sink);
  // A reply to a request (counts 401s).
  void reply(uint32_t request, uint32_t status, std::string body, Sink& sink);

 private:
  void run(uint32_t request, std::string_view url, std::string_view authorization,
           std::string_view body, uint64_t now, Sink& sink);

  const RelayConfig& config_;
  Metrics& metrics_;
  ManagementState state_;
  bool loaded_ = false;
  bool busy_ = false;  // a load or version check in flight
  uint64_t checked_at_ = 0;
  struct Waiting {
    uint32_t request;
    std::string url, authorization, body;
  };
  std::deque<Waiting> waiting_;
  size_t in_flight_ = 0;
  simdjson::dom::parser parser_;  // NIP-98 events
};

}  // namespace nostr::durable
