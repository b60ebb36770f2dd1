#include "core/config.h"

#include "core/json_writer.h"
#include "simdjson.h"

namespace nostr {
namespace {

using simdjson::SUCCESS;

Reject bad_config(std::string text) { return reject(Code::bad_json, "config: " + std::move(text)); }

// The 32-bit limit named `k`, or nullptr.
uint32_t* u32_limit(Limits& l, std::string_view k) {
  struct Entry {
    std::string_view name;
    uint32_t Limits::*field;
  };
  static constexpr Entry kFields[] = {
      {"max_message_length", &Limits::max_message_length},
      {"max_subscriptions", &Limits::max_subscriptions},
      {"max_filters", &Limits::max_filters},
      {"max_limit", &Limits::max_limit},
      {"default_limit", &Limits::default_limit},
      {"max_subid_length", &Limits::max_subid_length},
      {"max_event_tags", &Limits::max_event_tags},
      {"max_content_length", &Limits::max_content_length},
      {"max_event_size", &Limits::max_event_size},
      {"max_filter_values", &Limits::max_filter_values},
      {"max_connections", &Limits::max_connections},
      {"max_connections_per_ip", &Limits::max_connections_per_ip},
      {"max_logins", &Limits::max_logins},
      {"min_pow_difficulty", &Limits::min_pow_difficulty},
      {"max_subscriptions_total", &Limits::max_subscriptions_total},
      {"max_filter_bytes", &Limits::max_filter_bytes},
      {"max_filter_bytes_total", &Limits::max_filter_bytes_total},
      {"max_pending_events", &Limits::max_pending_events},
      {"max_pending_event_bytes", &Limits::max_pending_event_bytes},
      {"max_pending_event_bytes_total", &Limits::max_pending_event_bytes_total},
      {"max_query_page_bytes", &Limits::max_query_page_bytes},
      {"max_query_bytes_total", &Limits::max_query_bytes_total},
      {"max_query_output_rate", &Limits::max_query_output_rate},
      {"max_queries_in_flight", &Limits::max_queries_in_flight},
      {"max_queries_in_flight_total", &Limits::max_queries_in_flight_total},
      {"max_pending_counts", &Limits::max_pending_counts},
      {"max_pending_counts_total", &Limits::max_pending_counts_total},
      {"max_neg_sessions", &Limits::max_neg_sessions},
      {"max_neg_records", &Limits::max_neg_records},
      {"max_neg_bytes_total", &Limits::max_neg_bytes_total},
  };
  for (const Entry& e : kFields) {
    if (e.name == k) return &(l.*e.field);
  }
  return nullptr;
}

Status parse_limits(simdjson::dom::object obj, Limits& l) {
  for (simdjson::dom::key_value_pair kv : obj) {
    uint64_t v = 0;
    if (kv.value.get_uint64().get(v) != SUCCESS) {
      return bad_config("limits." + std::string(kv.key) + " must be a non-negative integer");
    }
    const std::string_view k = kv.key;
    auto u32 = [&](uint32_t& field) -> Status {
      if (v > 0xffffffffu) return bad_config("limits." + std::string(k) + " is too large");
      field = static_cast<uint32_t>(v);
      return {};
    };
    Status st;
    if (k == "created_at_lower_limit") {
      l.created_at_lower_limit = v;
    } else if (k == "created_at_upper_limit") {
      l.created_at_upper_limit = v;
    } else if (uint32_t* field = u32_limit(l, k)) {
      st = u32(*field);
    } else {
      return bad_config("unknown limit " + std::string(k));
    }
    if (!st) return st;
  }
  if (std::string why = check_limits(l); !why.empty()) return bad_config("limits: " + why);
  return {};
}

Status parse_strings(simdjson::dom::element v, std::string_view key,
                     std::vector<std::string>& out) {
  simdjson::dom::array arr;
  if (v.get_array().get(arr) != SUCCESS)
    return bad_config(std::string(key) + " must be an array of strings");
  for (simdjson::dom::element item : arr) {
    std::string_view s;
    if (item.get_string().get(s) != SUCCESS || s.empty()) {
      return bad_config(std::string(key) + " must be an array of non-empty strings");
    }
    out.emplace_back(s);
  }
  return {};
}

// An array of addresses or CIDR ranges (core/address.h), each named when bad.
Status parse_addresses(simdjson::dom::element v, std::string_view key, AddressSet& out) {
  std::vector<std::string> texts;
  if (auto st = parse_strings(v, key, texts); !st) return st;
  for (const std::string& t : texts) {
    auto r = AddressRange::parse(t);
    if (!r)
      return bad_config(std::string(key) + ": \"" + t + "\" is not an IP address or CIDR range");
    out.add(*r);
  }
  return {};
}

Status parse_pubkeys(simdjson::dom::element v, std::string_view key, std::vector<Pubkey>& out) {
  std::vector<std::string> hex;
  if (auto st = parse_strings(v, key, hex); !st) return st;
  for (const std::string& h : hex) {
    auto pk = Pubkey::from_hex(h);
    if (!pk)
      return bad_config(std::string(key) + ": \"" + h +
                        "\" is not a 64-character lowercase hex pubkey");
    out.push_back(*pk);
  }
  return {};
}

Status parse_kinds(simdjson::dom::element v, std::string_view key, std::vector<uint32_t>& out) {
  simdjson::dom::array arr;
  if (v.get_array().get(arr) != SUCCESS)
    return bad_config(std::string(key) + " must be an array of kinds");
  for (simdjson::dom::element item : arr) {
    uint64_t k = 0;
    if (item.get_uint64().get(k) != SUCCESS || k > 65535) {
      return bad_config(std::string(key) + " must be an array of integers in 0..65535");
    }
    out.push_back(static_cast<uint32_t>(k));
  }
  return {};
}

// ADMIN_PUBKEYS: comma-separated hex, spaces ignored, empty items skipped.
Status parse_admins(simdjson::dom::element v, std::vector<Pubkey>& out) {
  std::string_view s;
  if (v.get_string().get(s) != SUCCESS)
    return bad_config("ADMIN_PUBKEYS (admin_pubkeys) must be a string");
  size_t pos = 0;
  while (pos <= s.size()) {
    size_t end = s.find(',', pos);
    if (end == std::string_view::npos) end = s.size();
    std::string_view item = s.substr(pos, end - pos);
    while (!item.empty() && (item.front() == ' ' || item.front() == '\t')) item.remove_prefix(1);
    while (!item.empty() && (item.back() == ' ' || item.back() == '\t')) item.remove_suffix(1);
    if (!item.empty()) {
      auto pk = Pubkey::from_hex(item);
      if (!pk) {
        return bad_config("ADMIN_PUBKEYS: \"" + std::string(item) +
                          "\" is not a 64-character lowercase hex pubkey");
      }
      out.push_back(*pk);
    }
    pos = end + 1;
  }
  return {};
}

Status parse_retention(simdjson::dom::element v, Retention& r) {
  simdjson::dom::object obj;
  if (v.get_object().get(obj) != SUCCESS) return bad_config("retention must be an object");
  for (simdjson::dom::key_value_pair kv : obj) {
    const std::string_view k = kv.key;
    uint64_t n = 0;
    if (k == "max_events") {
      if (kv.value.get_uint64().get(n) != SUCCESS)
        return bad_config("retention.max_events must be a non-negative integer");
      r.max_events = n;
    } else if (k == "interval_seconds") {
      if (kv.value.get_uint64().get(n) != SUCCESS || n == 0 || n > 86400)
        return bad_config("retention.interval_seconds must be an integer in 1..86400");
      r.interval_seconds = static_cast<uint32_t>(n);
    } else if (k == "archive") {
      if (kv.value.get_bool().get(r.archive) != SUCCESS)
        return bad_config("retention.archive must be true or false");
    } else if (k == "rules") {
      simdjson::dom::array rules;
      if (kv.value.get_array().get(rules) != SUCCESS || rules.size() > Retention::kMaxRules)
        return bad_config("retention.rules must be an array of at most 16 rules");
      for (simdjson::dom::element rule : rules) {
        simdjson::dom::object ro;
        if (rule.get_object().get(ro) != SUCCESS)
          return bad_config("retention.rules: each rule must be an object");
        RetentionRule out;
        for (simdjson::dom::key_value_pair f : ro) {
          const std::string_view fk = f.key;
          if (fk == "kinds") {
            simdjson::dom::array range;
            uint64_t a = 0, b = 0;
            if (f.value.get_array().get(range) != SUCCESS || range.size() != 2 ||
                range.at(0).get_uint64().get(a) != SUCCESS ||
                range.at(1).get_uint64().get(b) != SUCCESS || a > b || b > 65535)
              return bad_config(
                  "retention.rules: kinds must be [from, to] with 0 <= from <= to <= 65535");
            out.kind_from = static_cast<uint32_t>(a);
            out.kind_to = static_cast<uint32_t>(b);
          } else if (fk == "max_age_days" || fk == "max_age_seconds") {
            if (f.value.get_uint64().get(n) != SUCCESS || n == 0 || n > 100ull * 365 * 86400)
              return bad_config("retention.rules: " + std::string(fk) +
                                " must be a positive integer");
            out.max_age_seconds = fk == "max_age_days" ? n * 86400 : n;
          } else {
            return bad_config("retention.rules: unknown key " + std::string(fk));
          }
        }
        if (out.max_age_seconds == 0)
          return bad_config("retention.rules: each rule needs max_age_days or max_age_seconds");
        r.rules.push_back(out);
      }
    } else {
      return bad_config("retention: unknown key " + std::string(k));
    }
  }
  return {};
}

Status parse_rate_limits(simdjson::dom::element v, RateLimits& r) {
  simdjson::dom::object obj;
  if (v.get_object().get(obj) != SUCCESS) return bad_config("rate_limits must be an object");
  for (simdjson::dom::key_value_pair kv : obj) {
    const std::string_view k = kv.key;
    const std::string name = "rate_limits." + std::string(k);
    if (k == "max_refusals") {
      uint64_t n = 0;
      if (kv.value.get_uint64().get(n) != SUCCESS || n == 0 || n > 1000000) {
        return bad_config(name + " must be an integer in 1..1000000");
      }
      r.max_refusals = static_cast<uint32_t>(n);
      continue;
    }
    RateLimit* l = k == "event_per_connection" ? &r.event_per_connection
                   : k == "event_per_ip"       ? &r.event_per_ip
                   : k == "event_per_pubkey"   ? &r.event_per_pubkey
                   : k == "req_per_connection" ? &r.req_per_connection
                   : k == "req_per_ip"         ? &r.req_per_ip
                   : k == "req_per_pubkey"     ? &r.req_per_pubkey
                                               : nullptr;
    if (!l) return bad_config("unknown rate limit " + name);
    simdjson::dom::object lim;
    if (kv.value.get_object().get(lim) != SUCCESS)
      return bad_config(name + " must be {per_minute, burst}");
    RateLimit out;
    for (simdjson::dom::key_value_pair f : lim) {
      uint64_t n = 0;
      if (f.value.get_uint64().get(n) != SUCCESS || n > 1000000) {
        return bad_config(name + "." + std::string(f.key) + " must be an integer in 0..1000000");
      }
      if (f.key == "per_minute") {
        out.per_minute = static_cast<uint32_t>(n);
      } else if (f.key == "burst") {
        out.burst = static_cast<uint32_t>(n);
      } else {
        return bad_config("unknown key " + name + "." + std::string(f.key));
      }
    }
    if (out.per_minute > 0 && out.burst == 0)
      return bad_config(name + ".burst must be at least 1 when per_minute is set");
    *l = out;
  }
  return {};
}

}  // namespace

Result<RelayConfig> parse_config(std::string_view json) {
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  if (parser.parse(json.data(), json.size(), true).get(root) != SUCCESS)
    return bad_config("not valid JSON");
  simdjson::dom::object obj;
  if (root.get_object().get(obj) != SUCCESS) return bad_config("must be a JSON object");
  RelayConfig c;
  for (simdjson::dom::key_value_pair kv : obj) {
    const std::string_view k = kv.key;
    if (k == "limits") {
      simdjson::dom::object lim;
      if (kv.value.get_object().get(lim) != SUCCESS) return bad_config("limits must be an object");
      if (auto st = parse_limits(lim, c.limits); !st) return st.error();
      continue;
    }
    if (k == "auth_required") {
      if (kv.value.get_bool().get(c.auth_required) != SUCCESS)
        return bad_config("auth_required must be true or false");
      continue;
    }
    if (k == "regions" || k == "route_pinning") {
      if (kv.value.get_bool().get(k == "regions" ? c.regions : c.route_pinning) != SUCCESS)
        return bad_config(std::string(k) + " must be true or false");
      continue;
    }
    if (k == "interest_shrink_seconds") {
      uint64_t v = 0;
      if (kv.value.get_uint64().get(v) != SUCCESS || v == 0 || v > 3600)
        return bad_config("interest_shrink_seconds must be an integer in 1..3600");
      c.interest_shrink_seconds = static_cast<uint32_t>(v);
      continue;
    }
    if (k == "shards") {
      uint64_t v = 0;
      if (kv.value.get_uint64().get(v) != SUCCESS || v == 0 || v > 64)
        return bad_config("shards must be an integer in 1..64");
      c.shards = static_cast<uint32_t>(v);
      continue;
    }
    if (k == "default_region") {
      std::string_view v;
      if (kv.value.get_string().get(v) != SUCCESS || !is_location_hint(v))
        return bad_config(
            "default_region must be one of wnam, enam, sam, weur, eeur, apac, oc, afr, me");
      c.default_region.assign(v);
      continue;
    }
    if (k == "auth_timeout") {
      uint64_t v = 0;
      if (kv.value.get_uint64().get(v) != SUCCESS || v == 0 || v > 86400) {
        return bad_config("auth_timeout must be an integer number of seconds in 1..86400");
      }
      c.auth_timeout = static_cast<uint32_t>(v);
      continue;
    }
    if (k == "blocked_ips") {
      if (auto st = parse_addresses(kv.value, k, c.blocked_ips); !st) return st.error();
      continue;
    }
    WritePolicy& w = c.write_policy;
    Status st;
    bool handled = true;
    if (k == "admin_pubkeys") {
      st = parse_admins(kv.value, c.admin_pubkeys);
    } else if (k == "restricted_writes") {
      if (kv.value.get_bool().get(w.restricted_writes) != SUCCESS)
        st = bad_config("restricted_writes must be true or false");
    } else if (k == "allowed_pubkeys") {
      st = parse_pubkeys(kv.value, k, w.allowed_pubkeys);
    } else if (k == "banned_pubkeys") {
      st = parse_pubkeys(kv.value, k, w.banned_pubkeys);
    } else if (k == "trusted_pubkeys") {
      st = parse_pubkeys(kv.value, k, w.trusted_pubkeys);
    } else if (k == "allowed_kinds") {
      st = parse_kinds(kv.value, k, w.allowed_kinds);
    } else if (k == "banned_kinds") {
      st = parse_kinds(kv.value, k, w.banned_kinds);
    } else if (k == "relay_countries") {
      st = parse_strings(kv.value, k, c.relay_countries);
      for (const std::string& cc : c.relay_countries) {
        const bool code = cc.size() == 2 && std::all_of(cc.begin(), cc.end(), [](char ch) {
                            return ch >= 'A' && ch <= 'Z';
                          });
        if (st && !code)
          st = bad_config("relay_countries: \"" + cc +
                          "\" is not an ISO 3166-1 alpha-2 code (or EU)");
      }
    } else if (k == "language_tags") {
      st = parse_strings(kv.value, k, c.language_tags);
    } else if (k == "tags") {
      st = parse_strings(kv.value, k, c.tags);
    } else if (k == "search_kinds") {
      c.search_kinds.clear();
      st = parse_kinds(kv.value, k, c.search_kinds);
      std::sort(c.search_kinds.begin(), c.search_kinds.end());
      c.search_kinds.erase(std::unique(c.search_kinds.begin(), c.search_kinds.end()),
                           c.search_kinds.end());
    } else if (k == "blocked_phrases") {
      st = parse_strings(kv.value, k, w.blocked_phrases);
    } else if (k == "unlimited_ips") {
      st = parse_addresses(kv.value, k, w.unlimited_ips);
    } else if (k == "rate_limits") {
      st = parse_rate_limits(kv.value, c.rate_limits);
    } else if (k == "retention") {
      st = parse_retention(kv.value, c.retention);
    } else {
      handled = false;
    }
    if (!st) return st.error();
    if (handled) continue;
    std::string* field = k == "name"               ? &c.name
                         : k == "description"      ? &c.description
                         : k == "pubkey"           ? &c.pubkey
                         : k == "contact"          ? &c.contact
                         : k == "icon"             ? &c.icon
                         : k == "banner"           ? &c.banner
                         : k == "self"             ? &c.self
                         : k == "terms_of_service" ? &c.terms_of_service
                         : k == "posting_policy"   ? &c.posting_policy
                         : k == "privacy_policy"   ? &c.privacy_policy
                         : k == "relay_url"        ? &c.relay_url
                         : k == "software"         ? &c.software
                         : k == "version"          ? &c.version
                                                   : nullptr;
    if (!field) return bad_config("unknown key " + std::string(k));
    std::string_view s;
    if (kv.value.get_string().get(s) != SUCCESS)
      return bad_config(std::string(k) + " must be a string");
    field->assign(s);
    const bool url = field == &c.icon || field == &c.banner || field == &c.terms_of_service ||
                     field == &c.posting_policy || field == &c.privacy_policy;
    if (url && !s.empty() && s.rfind("https://", 0) != 0 && s.rfind("http://", 0) != 0) {
      return bad_config(std::string(k) + " must be an http(s) URL");
    }
    if (field == &c.relay_url && !s.empty() && (s.rfind("ws", 0) != 0 || !relay_url_host(s))) {
      return bad_config(
          "relay_url must be the relay's public ws:// or wss:// URL (or be left out)");
    }
    if ((field == &c.self || field == &c.pubkey) && !s.empty() && !Pubkey::from_hex(s)) {
      return bad_config(std::string(k) + " must be a 64-character lowercase hex pubkey");
    }
  }
  return c;
}

std::string relay_info_json(const RelayConfig& c) {
  JsonWriter w;
  w.begin_object();
  w.key("name").string(c.name);
  w.key("description").string(c.description);
  if (!c.pubkey.empty()) w.key("pubkey").string(c.pubkey);
  if (!c.contact.empty()) w.key("contact").string(c.contact);
  const std::pair<const char*, const std::string*> texts[] = {
      {"icon", &c.icon},
      {"banner", &c.banner},
      {"self", &c.self},
      {"terms_of_service", &c.terms_of_service},
      {"posting_policy", &c.posting_policy},
      {"privacy_policy", &c.privacy_policy},
  };
  for (const auto& [key, value] : texts) {
    if (!value->empty()) w.key(key).string(*value);
  }
  const std::pair<const char*, const std::vector<std::string>*> lists[] = {
      {"relay_countries", &c.relay_countries},
      {"language_tags", &c.language_tags},
      {"tags", &c.tags},
  };
  for (const auto& [key, values] : lists) {
    if (values->empty()) continue;
    w.key(key).begin_array();
    for (const std::string& v : *values) w.string(v);
    w.end_array();
  }
  // Only what this relay really implements, each with end-to-end tests:
  // NIP-50 where search is on, NIP-86 where it answers (administrators set).
  w.key("supported_nips").begin_array();
  for (uint64_t nip : {1u, 9u, 11u, 13u, 17u, 40u, 42u, 45u}) w.uint(nip);
  if (!c.search_kinds.empty()) w.uint(50);
  for (uint64_t nip : {59u, 62u, 70u, 77u}) w.uint(nip);
  if (!c.admin_pubkeys.empty()) w.uint(86);
  w.end_array();
  w.key("software").string(c.software);
  w.key("version").string(c.version);
  w.key("limitation");
  // Writing needs a condition a user should know beforehand: an allow list
  // of pubkeys, or only some kinds (NIP-11's examples).
  write_nip11_limitation(w, c.limits, c.auth_required, /*payment_required=*/false,
                         /*restricted_writes=*/c.write_policy.restricted_writes ||
                             !c.write_policy.allowed_kinds.empty());
  // Retention (NIP-11): only what is enforced. Banned kinds are never stored.
  if (!c.write_policy.banned_kinds.empty()) {
    w.key("retention").begin_array().begin_object().key("kinds").begin_array();
    for (uint32_t kind : c.write_policy.banned_kinds) w.uint(kind);
    w.end_array().key("time").uint(0).end_object().end_array();
  }
  w.end_object();
  return w.take();
}

}  // namespace nostr
