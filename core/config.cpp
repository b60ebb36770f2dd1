#include "core/config.h"

#include "core/json_writer.h"
#include "simdjson.h"

namespace nostr {
namespace {

using simdjson::SUCCESS;

Reject bad_config(std::string text) { return reject(Code::bad_json, "config: " + std::move(text)); }

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
    if (k == "max_message_length") st = u32(l.max_message_length);
    else if (k == "max_subscriptions") st = u32(l.max_subscriptions);
    else if (k == "max_filters") st = u32(l.max_filters);
    else if (k == "max_limit") st = u32(l.max_limit);
    else if (k == "default_limit") st = u32(l.default_limit);
    else if (k == "max_subid_length") st = u32(l.max_subid_length);
    else if (k == "max_event_tags") st = u32(l.max_event_tags);
    else if (k == "max_content_length") st = u32(l.max_content_length);
    else if (k == "max_event_size") st = u32(l.max_event_size);
    else if (k == "max_filter_values") st = u32(l.max_filter_values);
    else if (k == "created_at_lower_limit") l.created_at_lower_limit = v;
    else if (k == "created_at_upper_limit") l.created_at_upper_limit = v;
    else return bad_config("unknown limit " + std::string(k));
    if (!st) return st;
  }
  if (l.max_subid_length == 0 || l.max_subid_length > 64) return bad_config("max_subid_length must be 1-64");
  if (l.max_filters == 0) return bad_config("max_filters must be at least 1");
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
    std::string* field = k == "name"          ? &c.name
                         : k == "description" ? &c.description
                         : k == "pubkey"      ? &c.pubkey
                         : k == "contact"     ? &c.contact
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
  // Only what this relay really implements end to end.
  out += ",\"supported_nips\":[1,9,11,40,42,45,70],\"software\":";
  append_json_string(out, c.software);
  out += ",\"version\":";
  append_json_string(out, c.version);
  out += ",\"limitation\":";
  append_nip11_limitation(out, c.limits, /*auth_required=*/false, /*payment_required=*/false,
                          /*restricted_writes=*/false);
  out += '}';
  return out;
}

}  // namespace nostr
