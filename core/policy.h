// Policy: every decision about who may do what, in one place, as explicit
// decision points the engine calls. Fed only by configuration (RelayConfig)
// and, later, by management state the engine holds (NIP-86 bans, admissions).
// Each point returns std::nullopt to allow, or the Reject the client is told.
// Pure: no I/O, time comes in as an argument.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/address.h"
#include "core/config.h"
#include "core/event.h"
#include "core/filter.h"
#include "core/management.h"
#include "core/reject.h"
#include "simdjson.h"

namespace nostr {

// NIP-42 AUTH events.
inline constexpr uint32_t kAuthKind = 22242;

// What the host knows about a connection when it opens.
struct ConnMeta {
  std::string ip;          // remote address (CF-Connecting-IP on Cloudflare); "" unknown
  std::string origin;      // Origin header; "" none
  std::string user_agent;  // User-Agent header; "" none
  // The host (and port) the client reached: the upgrade request's URL on
  // Workers, the Host header natively; "" unknown. NIP-42 and NIP-62 compare
  // relay URLs with it when relay_url is not configured.
  std::string host;

  // Parses the host's {"ip":..,"origin":..,"user_agent":..,"host":..} (every field
  // optional; other keys ignored; each value cut to kMaxField bytes). Invalid
  // JSON gives empty metadata: the host's bug must not refuse a client.
  static ConnMeta from_json(std::string_view json);
  // The same from a parsed object (non-objects give empty metadata).
  static ConnMeta from_element(simdjson::dom::element obj);
  // The same object, for connection state that survives hibernation.
  std::string to_json() const;
  static constexpr size_t kMaxField = 256;
};

// What policy may know about one connection.
struct ConnView {
  const ConnMeta& meta;
  const std::vector<Pubkey>& authed;  // NIP-42 pubkeys, in login order
  bool is_authed(const Pubkey& pk) const;
};

class Policy {
 public:
  // Borrows `config`, which must outlive the policy.
  explicit Policy(const RelayConfig& config) : config_(config) {}
  // Borrows `config` and the management state (NIP-86), both of which must
  // outlive the policy.
  Policy(const RelayConfig& config, const ManagementState& mgmt) : config_(config), mgmt_(&mgmt) {}

  // A socket opens with `open` connections already open, `from_ip` of them
  // from meta.ip. Returns the refusal sent as NOTICE before the socket is closed.
  [[nodiscard]] std::optional<Reject> admit(const ConnMeta& meta, size_t open,
                                            size_t from_ip) const;

  // An EVENT before its signature is checked: rules that need no proven author.
  [[nodiscard]] std::optional<Reject> event_before_verify(const ConnView& c, const Event& e) const;

  // The write policy (configuration + management state): bans, allow lists,
  // kinds, blocked phrases, restricted writes. Checked before verification
  // and again just before the event is stored (the state may have changed).
  // Administrators are exempt.
  [[nodiscard]] std::optional<Reject> write_rules(const Event& e) const;

  // Whether rate limits skip this connection (an unlimited address, or logged
  // in as a trusted pubkey or administrator) or this event's author (trusted,
  // administrator; `author` may be null).
  bool rate_exempt(const ConnView& c, const Pubkey* author) const;
  bool is_admin(const Pubkey& pk) const;

  // NIP-62: whether request to vanish `e` has a relay tag naming this relay
  // (by host, as AUTH compares it: own_host) or ALL_RELAYS.
  bool vanish_targets_us(const ConnView& c, const Event& e) const;
  // This relay's host as connection `c` knows it: relay_url's host when
  // configured, else the host the connection reached; "" when neither is known.
  std::string own_host(const ConnView& c) const;

  // A verified EVENT: rules about its proven author and its time.
  [[nodiscard]] std::optional<Reject> event_after_verify(const ConnView& c, const Event& e,
                                                         uint64_t now) const;

  // The filters of a REQ or COUNT.
  [[nodiscard]] std::optional<Reject> filters(const ConnView& c,
                                              const std::vector<CompiledFilter>& filters) const;

  // Whether a live event may be delivered to this connection. (Stored answers
  // are governed by `filters`: what may not be delivered is never queried.)
  [[nodiscard]] bool may_deliver(const ConnView& c, const Event& e) const;

  // NIP-42: whether AUTH event `e` (signature already verified) logs this
  // connection in, given the challenge it was sent.
  [[nodiscard]] std::optional<Reject> auth(const ConnView& c, const Event& e,
                                           std::string_view challenge, uint64_t now) const;

  // When a connection opened at `opened_at` that has not authenticated is
  // closed, or 0 if authentication is not required.
  uint64_t auth_deadline(uint64_t opened_at) const {
    return config_.auth_required ? opened_at + config_.auth_timeout : 0;
  }
  // The refusal a connection gets when its AUTH deadline passes.
  Reject auth_timed_out() const;

 private:
  std::optional<Reject> require_auth(const ConnView& c, std::string_view what) const;
  const RelayConfig& config_;
  const ManagementState* mgmt_ = nullptr;
  ManagementState empty_;
  const ManagementState& mgmt() const { return mgmt_ ? *mgmt_ : empty_; }
};

// NIP-13: the number of leading zero bits of `id` (its difficulty).
uint32_t pow_difficulty(const EventId& id);
// NIP-13 with a minimum of `min_difficulty` (0: none): the event needs a nonce
// tag whose committed target (third element) is at least the minimum, and an
// id of at least that difficulty. Returns the "pow:" refusal, or nullopt.
[[nodiscard]] std::optional<Reject> proof_of_work(const Event& e, uint32_t min_difficulty);

}  // namespace nostr
