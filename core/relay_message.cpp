#include "core/relay_message.h"

#include "core/json_writer.h"

namespace nostr {

// Hot path / byte-exact: direct appends (every frame sent to a client).

std::string ok_message(std::string_view event_id_hex, bool accepted, std::string_view message) {
  std::string out = "[\"OK\",";
  append_json_string(out, event_id_hex);
  out += accepted ? ",true," : ",false,";
  append_json_string(out, message);
  out += ']';
  return out;
}

std::string event_message_prefix(const SubId& sub) {
  std::string out = "[\"EVENT\",";
  append_json_string(out, sub.str());
  out += ',';
  return out;
}

std::string event_message(const SubId& sub, std::string_view raw_event) {
  std::string out = event_message_prefix(sub);
  out.reserve(out.size() + raw_event.size() + 1);
  out += raw_event;
  out += ']';
  return out;
}

std::string eose_message(const SubId& sub) {
  std::string out = "[\"EOSE\",";
  append_json_string(out, sub.str());
  out += ']';
  return out;
}

std::string closed_message(std::string_view sub_id, std::string_view message) {
  std::string out = "[\"CLOSED\",";
  append_json_string(out, sub_id);
  out += ',';
  append_json_string(out, message);
  out += ']';
  return out;
}

std::string notice_message(std::string_view message) {
  std::string out = "[\"NOTICE\",";
  append_json_string(out, message);
  out += ']';
  return out;
}

std::string auth_message(std::string_view challenge) {
  std::string out = "[\"AUTH\",";
  append_json_string(out, challenge);
  out += ']';
  return out;
}

std::string count_message(const SubId& sub, uint64_t count, bool approximate, std::string_view hll_hex) {
  std::string out = "[\"COUNT\",";
  append_json_string(out, sub.str());
  out += ",{\"count\":";
  append_uint(out, count);
  if (approximate) out += ",\"approximate\":true";
  if (!hll_hex.empty()) {
    out += ",\"hll\":\"";
    out += hll_hex;
    out += '"';
  }
  out += "}]";
  return out;
}

std::string neg_msg_message(std::string_view sub_id, std::string_view hex) {
  std::string out = "[\"NEG-MSG\",";
  append_json_string(out, sub_id);
  out += ",\"";
  out += hex;  // lowercase hex: nothing to escape
  out += "\"]";
  return out;
}

std::string neg_err_message(std::string_view sub_id, std::string_view reason) {
  std::string out = "[\"NEG-ERR\",";
  append_json_string(out, sub_id);
  out += ',';
  append_json_string(out, reason);
  out += ']';
  return out;
}

}  // namespace nostr
