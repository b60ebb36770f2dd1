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

}  // namespace

Result<RelayConfig> parse_config(std::string_view json) {
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  if (parser.parse(json.data(), json.size(), true).get(root) != SUCCESS) return bad_config("not valid JSON");
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
      if (kv.value.get_bool().get(c.auth_required) != SUCCESS) return bad_config("auth_required must be true or false");
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
      simdjson::dom::array ips;
      if (kv.value.get_array().get(ips) != SUCCESS) return bad_config("blocked_ips must be an array of strings");
      for (simdjson::dom::element ip : ips) {
        std::string_view s;
        if (ip.get_string().get(s) != SUCCESS || s.empty()) return bad_config("blocked_ips must be an array of strings");
        c.blocked_ips.emplace_back(s);
      }
      continue;
    }
    std::string* field = k == "name"          ? &c.name
                         : k == "description" ? &c.description
                         : k == "pubkey"      ? &c.pubkey
                         : k == "contact"     ? &c.contact
                         : k == "icon"        ? &c.icon
                         : k == "relay_url"   ? &c.relay_url
                         : k == "software"    ? &c.software
                         : k == "version"     ? &c.version
                                              : nullptr;
    if (!field) return bad_config("unknown key " + std::string(k));
    std::string_view s;
    if (kv.value.get_string().get(s) != SUCCESS) return bad_config(std::string(k) + " must be a string");
    field->assign(s);
  }
  return c;
}

std::string relay_info_json(const RelayConfig& c) {
  std::string out = "{\"name\":";
  append_json_string(out, c.name);
  out += ",\"description\":";
  append_json_string(out, c.description);
  if (!c.pubkey.empty()) {
    out += ",\"pubkey\":";
    append_json_string(out, c.pubkey);
  }
  if (!c.contact.empty()) {
    out += ",\"contact\":";
    append_json_string(out, c.contact);
  }
  if (!c.icon.empty()) {
    out += ",\"icon\":";
    append_json_string(out, c.icon);
  }
  // Only what this relay really implements end to end.
  out += ",\"supported_nips\":[1,9,11,40,42,45,70],\"software\":";
  append_json_string(out, c.software);
  out += ",\"version\":";
  append_json_string(out, c.version);
  out += ",\"limitation\":";
  append_nip11_limitation(out, c.limits, c.auth_required, /*payment_required=*/false,
                          /*restricted_writes=*/false);
  out += '}';
  return out;
}

}  // namespace nostr
