#include "core/policy.h"

#include <algorithm>

#include "core/json_writer.h"
#include "core/read_plan.h"
#include "core/text.h"
#include "simdjson.h"

namespace nostr {
namespace {

// NIP-42: created_at within about ten minutes of now.
constexpr uint64_t kAuthWindow = 600;

}  // namespace

ConnMeta ConnMeta::from_json(std::string_view json) {
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  if (json.empty() || parser.parse(json.data(), json.size(), true).get(root) != simdjson::SUCCESS)
    return {};
  return from_element(root);
}

ConnMeta ConnMeta::from_element(simdjson::dom::element root) {
  ConnMeta m;
  if (!root.is_object()) return m;
  auto field = [&root](const char* key, std::string& out) {
    std::string_view v;
    if (root[key].get_string().get(v) == simdjson::SUCCESS) out.assign(v.substr(0, kMaxField));
  };
  field("ip", m.ip);
  field("origin", m.origin);
  field("user_agent", m.user_agent);
  field("host", m.host);
  return m;
}

std::string ConnMeta::to_json() const {
  JsonObjectWriter w;
  if (!ip.empty()) w.string("ip", ip);
  if (!origin.empty()) w.string("origin", origin);
  if (!user_agent.empty()) w.string("user_agent", user_agent);
  if (!host.empty()) w.string("host", host);
  return w.finish();
}

bool ConnView::is_authed(const Pubkey& pk) const {
  return std::find(authed.begin(), authed.end(), pk) != authed.end();
}

std::optional<Reject> Policy::admit(const ConnMeta& meta, size_t open, size_t from_ip) const {
  if (mgmt().ip_blocked(config_, meta.ip)) {
    return reject(Code::blocked, "connections from this address are not accepted");
  }
  if (!mgmt().maintenance.empty()) {
    return reject(Code::restricted, "not accepting new connections: " + mgmt().maintenance);
  }
  const uint32_t per_ip = config_.limits.max_connections_per_ip;
  if (per_ip != 0 && !meta.ip.empty() && from_ip >= per_ip) {
    return reject(Code::rate_limited, "too many connections from this address (limit is " +
                                          std::to_string(per_ip) + "), try again later");
  }
  if (open >= config_.limits.max_connections) {
    return reject(Code::rate_limited, "the relay is at its connection limit (" +
                                          std::to_string(config_.limits.max_connections) +
                                          "), try again later");
  }
  return std::nullopt;
}

std::optional<Reject> Policy::require_auth(const ConnView& c, std::string_view what) const {
  if (!config_.auth_required || !c.authed.empty()) return std::nullopt;
  return reject(Code::auth_required,
                "this relay requires NIP-42 authentication to " + std::string(what));
}

std::optional<Reject> Policy::event_before_verify(const ConnView& c, const Event& e) const {
  if (e.kind() == kAuthKind)
    return reject(Code::auth_only_kind, "kind 22242 is for NIP-42 AUTH messages only");
  if (auto r = require_auth(c, "publish")) return r;
  // NIP-62: a request to vanish is honoured whatever its author's status;
  // write_rules decide after verification whether it is also served.
  if (e.kind() == kVanishKind) return std::nullopt;
  return write_rules(e);
}

std::optional<Reject> proof_of_work(const Event& e, uint32_t min_difficulty) {
  if (min_difficulty == 0) return std::nullopt;
  uint32_t committed = 0;
  bool has_nonce = false;
  for (size_t i = 0; i < e.tag_count(); ++i) {
    const TagView t = e.tag(i);
    if (t.size() < 3 || t[0] != "nonce") continue;
    has_nonce = true;
    uint64_t v = 0;
    if (parse_decimal(t[2], v)) committed = static_cast<uint32_t>(std::min<uint64_t>(v, 256));
    break;
  }
  const std::string need = std::to_string(min_difficulty);
  if (!has_nonce)
    return reject(Code::pow_too_low,
                  "this relay requires proof of work (NIP-13) of difficulty " + need);
  if (committed < min_difficulty) {
    return reject(Code::pow_too_low,
                  "committed target " + std::to_string(committed) + " is less than " + need);
  }
  const uint32_t bits = pow_difficulty(e.id());
  if (bits < min_difficulty) {
    return reject(Code::pow_too_low,
                  "difficulty " + std::to_string(bits) + " is less than " + need);
  }
  return std::nullopt;
}

uint32_t pow_difficulty(const EventId& id) {
  uint32_t bits = 0;
  for (const uint8_t b : id.bytes()) {
    if (b == 0) {
      bits += 8;
      continue;
    }
    bits += static_cast<uint32_t>(__builtin_clz(b)) - 24;  // leading zeros of the byte
    break;
  }
  return bits;
}

bool Policy::is_admin(const Pubkey& pk) const {
  return std::find(config_.admin_pubkeys.begin(), config_.admin_pubkeys.end(), pk) !=
         config_.admin_pubkeys.end();
}

std::optional<Reject> Policy::write_rules(const Event& e) const {
  const WritePolicy& w = config_.write_policy;
  const ManagementState& m = mgmt();
  if (is_admin(e.pubkey())) return std::nullopt;
  if (auto r = proof_of_work(e, config_.limits.min_pow_difficulty)) return r;
  if (m.event_banned(e.id())) return reject(Code::blocked, "this event is banned from this relay");
  if (m.pubkey_banned(w, e.pubkey()))
    return reject(Code::blocked, "this pubkey is banned from this relay");
  if (!m.kind_allowed(w, e.kind()))
    return reject(Code::blocked,
                  "kind " + std::to_string(e.kind()) + " is not accepted by this relay");
  if (!w.blocked_phrases.empty()) {
    const std::string content = ascii_lower(e.content());
    for (const std::string& phrase : w.blocked_phrases) {
      if (content.find(ascii_lower(phrase)) != std::string::npos)
        return reject(Code::blocked, "content contains a blocked phrase");
    }
  }
  if (w.restricted_writes && !m.pubkey_allowed(w, e.pubkey())) {
    return reject(Code::restricted, "only admitted pubkeys may publish to this relay");
  }
  return std::nullopt;
}

bool Policy::rate_exempt(const ConnView& c, const Pubkey* author) const {
  const WritePolicy& w = config_.write_policy;
  auto trusted = [&](const Pubkey& pk) {
    return is_admin(pk) || std::find(w.trusted_pubkeys.begin(), w.trusted_pubkeys.end(), pk) !=
                               w.trusted_pubkeys.end();
  };
  if (w.unlimited_ips.contains(c.meta.ip)) return true;
  if (author && trusted(*author)) return true;
  return std::any_of(c.authed.begin(), c.authed.end(), trusted);
}

std::optional<Reject> Policy::event_after_verify(const ConnView& c, const Event& e,
                                                 uint64_t now) const {
  if (auto st = check_event_time(e, config_.limits, now); !st) return st.error();
  if (e.is_protected() && !c.is_authed(e.pubkey())) {
    return reject(Code::protected_event, "this event may only be published by its author (NIP-70)");
  }
  if (e.kind() == kVanishKind && !vanish_targets_us(c, e)) {
    return reject(
        Code::vanish_elsewhere,
        "this request to vanish (NIP-62) has no relay tag naming this relay or ALL_RELAYS");
  }
  return std::nullopt;
}

std::string Policy::own_host(const ConnView& c) const {
  auto h =
      config_.relay_url.empty() ? authority_host(c.meta.host) : relay_url_host(config_.relay_url);
  return h.value_or(std::string());
}

bool Policy::vanish_targets_us(const ConnView& c, const Event& e) const {
  const std::string ours = own_host(c);
  for (size_t i = 0; i < e.tag_count(); ++i) {
    const TagView t = e.tag(i);
    if (t.size() < 2 || t[0] != "relay") continue;
    if (t[1] == "ALL_RELAYS") return true;
    // The relay's own URL, compared as NIP-42 AUTH compares it (by host).
    if (!ours.empty() && relay_url_host(t[1]) == ours) return true;
  }
  return false;
}

std::optional<Reject> Policy::filters(const ConnView& c,
                                      const std::vector<CompiledFilter>& filters) const {
  for (const auto& f : filters) {
    if (f.search_query() && config_.search_kinds.empty()) {
      return reject(Code::unsupported_filter, "search (NIP-50) is not enabled on this relay");
    }
  }
  if (auto r = require_auth(c, "read")) return r;
  // NIP-59: a REQ that can only match gift wraps needs a login to mean
  // anything (others' wraps are never served: the read plans leave them out).
  if (c.authed.empty()) {
    const bool only_wraps =
        std::all_of(filters.begin(), filters.end(), [](const CompiledFilter& f) {
          return f.kinds() && f.kinds()->size() == 1 && f.kinds()->front() == kGiftWrapKind;
        });
    if (only_wraps && !filters.empty()) {
      return reject(
          Code::auth_required,
          "gift wraps (kind 1059) are only served to their recipients: authenticate (NIP-42)");
    }
  }
  return std::nullopt;
}

bool Policy::may_deliver(const ConnView& c, const Event& e) const {
  if (config_.auth_required && c.authed.empty()) return false;
  if (e.kind() == kGiftWrapKind) {
    // NIP-59: only to a login that is one of its p-tagged recipients.
    for (size_t i = 0; i < e.tag_count(); ++i) {
      const TagView t = e.tag(i);
      if (t.size() < 2 || t[0] != "p") continue;
      if (auto pk = Pubkey::from_hex(t[1]); pk && c.is_authed(*pk)) return true;
    }
    return false;
  }
  return true;
}

std::optional<Reject> Policy::auth(const ConnView& c, const Event& e, std::string_view challenge,
                                   uint64_t now) const {
  if (e.kind() != kAuthKind) return reject(Code::bad_auth, "AUTH event must be kind 22242");
  const uint64_t t = e.created_at();
  if (t + kAuthWindow < now || t > now + kAuthWindow)
    return reject(Code::bad_auth, "AUTH event created_at is not recent");
  std::string_view got_challenge, relay;
  for (size_t i = 0; i < e.tag_count(); ++i) {
    const TagView tag = e.tag(i);
    if (tag.size() < 2) continue;
    if (tag[0] == "challenge") got_challenge = tag[1];
    if (tag[0] == "relay") relay = tag[1];
  }
  if (challenge.empty() || got_challenge != challenge)
    return reject(Code::bad_auth, "AUTH challenge does not match");
  if (relay.empty()) return reject(Code::bad_auth, "AUTH event has no relay tag");
  const auto host = relay_url_host(relay);
  if (!host)
    return reject(Code::bad_auth,
                  "AUTH relay tag is not a ws:// or wss:// URL of a host (no user info)");
  // The relay this login is for must be us: relay_url's host, or else the
  // host this connection reached (a hostile relay relaying our challenge to
  // a victim gets an AUTH event naming itself).
  const std::string ours = own_host(c);
  if (ours.empty())
    return reject(Code::bad_auth,
                  "this relay does not know its own URL: its operator must set relay_url");
  if (*host != ours) return reject(Code::bad_auth, "AUTH relay tag is for another relay");
  return std::nullopt;
}

Reject Policy::auth_timed_out() const {
  return reject(Code::auth_required, "no NIP-42 authentication within " +
                                         std::to_string(config_.auth_timeout) +
                                         " seconds of connecting");
}

}  // namespace nostr
