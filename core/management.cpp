#include "core/management.h"

#include <algorithm>

#include "core/event.h"
#include "core/json_writer.h"
#include "core/nip98.h"
#include "core/text.h"
#include "simdjson.h"

namespace nostr {
namespace {

template <typename T>
bool contains(const std::vector<T>& v, const T& x) {
  return std::find(v.begin(), v.end(), x) != v.end();
}

SqlParam text(std::string s) { return SqlParam::of(std::move(s)); }
SqlParam integer(uint64_t v) { return SqlParam::of(static_cast<int64_t>(v)); }

struct MethodName {
  std::string_view name;
  AdminMethod method;
};
constexpr MethodName kMethods[] = {
    {"supportedmethods", AdminMethod::supportedmethods},
    {"banpubkey", AdminMethod::banpubkey},
    {"unbanpubkey", AdminMethod::unbanpubkey},
    {"listbannedpubkeys", AdminMethod::listbannedpubkeys},
    {"allowpubkey", AdminMethod::allowpubkey},
    {"unallowpubkey", AdminMethod::unallowpubkey},
    {"listallowedpubkeys", AdminMethod::listallowedpubkeys},
    {"banevent", AdminMethod::banevent},
    {"unbanevent", AdminMethod::unbanevent},
    {"allowevent", AdminMethod::allowevent},
    {"unallowevent", AdminMethod::unallowevent},
    {"listbannedevents", AdminMethod::listbannedevents},
    {"listallowedevents", AdminMethod::listallowedevents},
    {"listeventsneedingmoderation", AdminMethod::listeventsneedingmoderation},
    {"allowkind", AdminMethod::allowkind},
    {"disallowkind", AdminMethod::disallowkind},
    {"listallowedkinds", AdminMethod::listallowedkinds},
    {"listdisallowedkinds", AdminMethod::listdisallowedkinds},
    {"blockip", AdminMethod::blockip},
    {"unblockip", AdminMethod::unblockip},
    {"listblockedips", AdminMethod::listblockedips},
    {"changerelayname", AdminMethod::changerelayname},
    {"changerelaydescription", AdminMethod::changerelaydescription},
    {"changerelayicon", AdminMethod::changerelayicon},
    {"setmaintenance", AdminMethod::setmaintenance},
    {"listconnections", AdminMethod::listconnections},
    {"disconnect", AdminMethod::disconnect},
};

// Longest free text kept (reasons, names, descriptions, icon URLs).
constexpr size_t kMaxText = 2048;

Reject bad(std::string why) { return reject(Code::bad_json, std::move(why)); }

// The pubkey/event state changes: (table, key column, key, new state or -1 to
// delete the row when it has `only_state`).
struct ListChange {
  const char* table;
  const char* column;
  std::string key;
  int state;       // 0 banned, 1 allowed, -1 remove
  int only_state;  // remove: only a row in this state
};

std::optional<ListChange> list_change(const AdminRequest& r) {
  const std::string pk = r.pubkey ? r.pubkey->hex() : std::string();
  const std::string id = r.event ? r.event->hex() : std::string();
  switch (r.method) {
    case AdminMethod::banpubkey:
      return ListChange{"mgmt_pubkeys", "pubkey", pk, 0, 0};
    case AdminMethod::allowpubkey:
      return ListChange{"mgmt_pubkeys", "pubkey", pk, 1, 0};
    case AdminMethod::unbanpubkey:
      return ListChange{"mgmt_pubkeys", "pubkey", pk, -1, 0};
    case AdminMethod::unallowpubkey:
      return ListChange{"mgmt_pubkeys", "pubkey", pk, -1, 1};
    case AdminMethod::banevent:
      return ListChange{"mgmt_events", "id", id, 0, 0};
    case AdminMethod::allowevent:
      return ListChange{"mgmt_events", "id", id, 1, 0};
    case AdminMethod::unbanevent:
      return ListChange{"mgmt_events", "id", id, -1, 0};
    case AdminMethod::unallowevent:
      return ListChange{"mgmt_events", "id", id, -1, 1};
    default:
      return std::nullopt;
  }
}

const char* setting_key(AdminMethod m) {
  switch (m) {
    case AdminMethod::changerelayname:
      return "name";
    case AdminMethod::changerelaydescription:
      return "description";
    case AdminMethod::changerelayicon:
      return "icon";
    case AdminMethod::setmaintenance:
      return "maintenance";
    default:
      return nullptr;
  }
}

template <typename Map, typename Key>
void set_entry(Map& m, const Key& k, int state, int only_state, const std::string& reason) {
  if (state >= 0) {
    m[k] = ManagementState::Entry{state == 1, reason};
    return;
  }
  auto it = m.find(k);
  if (it != m.end() && it->second.allowed == (only_state == 1)) m.erase(it);
}

void write_entries_of(JsonWriter& w, const char* key_name, bool allowed, const auto& map) {
  w.begin_array();
  for (const auto& [k, e] : map) {
    if (e.allowed != allowed) continue;
    w.begin_object().key(key_name).string(k.hex()).key("reason").string(e.reason).end_object();
  }
  w.end_array();
}

void write_kinds(JsonWriter& w, const std::vector<uint32_t>& kinds) {
  w.begin_array();
  for (uint32_t kind : kinds) w.uint(kind);
  w.end_array();
}

}  // namespace

bool ManagementState::pubkey_banned(const WritePolicy& w, const Pubkey& pk) const {
  auto it = pubkeys.find(pk);
  if (it != pubkeys.end()) return !it->second.allowed;
  return contains(w.banned_pubkeys, pk);
}

bool ManagementState::pubkey_allowed(const WritePolicy& w, const Pubkey& pk) const {
  auto it = pubkeys.find(pk);
  if (it != pubkeys.end()) return it->second.allowed;
  return contains(w.allowed_pubkeys, pk);
}

bool ManagementState::event_banned(const EventId& id) const {
  auto it = events.find(id);
  return it != events.end() && !it->second.allowed;
}

bool ManagementState::kind_allowed(const WritePolicy& w, uint32_t kind) const {
  auto it = kinds.find(kind);
  if (it != kinds.end()) return it->second;
  if (contains(w.banned_kinds, kind)) return false;
  if (w.allowed_kinds.empty() &&
      std::none_of(kinds.begin(), kinds.end(), [](const auto& k) { return k.second; })) {
    return true;  // no allow list at all
  }
  return contains(w.allowed_kinds, kind);
}

// The configured list `base` with management's kinds in state `allowed`
// added and those in the other state removed, sorted.
std::vector<uint32_t> merged_kinds(const std::vector<uint32_t>& base,
                                   const std::map<uint32_t, bool>& kinds, bool allowed) {
  std::set<uint32_t> out(base.begin(), base.end());
  for (const auto& [k, state] : kinds) {
    if (state == allowed) {
      out.insert(k);
    } else {
      out.erase(k);
    }
  }
  return {out.begin(), out.end()};
}

std::vector<uint32_t> ManagementState::allowed_kinds(const WritePolicy& w) const {
  return merged_kinds(w.allowed_kinds, kinds, true);
}

std::vector<uint32_t> ManagementState::disallowed_kinds(const WritePolicy& w) const {
  return merged_kinds(w.banned_kinds, kinds, false);
}

bool ManagementState::would_grow(const AdminRequest& r) const {
  switch (r.method) {
    case AdminMethod::banpubkey:
    case AdminMethod::allowpubkey:
      return r.pubkey && !pubkeys.count(*r.pubkey);
    case AdminMethod::banevent:
    case AdminMethod::allowevent:
      return r.event && !events.count(*r.event);
    case AdminMethod::allowkind:
    case AdminMethod::disallowkind:
      return !kinds.count(r.kind);
    case AdminMethod::blockip:
      return !ips.count(r.text);
    default:
      return false;
  }
}

bool ManagementState::ip_blocked(const RelayConfig& c, std::string_view ip) const {
  auto a = IpAddress::parse(ip);
  return a && (ip_ranges_.contains(*a) || c.blocked_ips.contains(*a));
}

void ManagementState::block_ip(const std::string& text, const std::string& reason) {
  ips[text] = reason;
  if (auto r = AddressRange::parse(text))
    ip_ranges_.add(*r);  // rows from before ranges may not parse
}

void ManagementState::unblock_ip(const std::string& text) {
  ips.erase(text);
  if (auto r = AddressRange::parse(text)) ip_ranges_.remove(*r);
}

std::vector<SqlStatement> plan_management_load(uint64_t now) {
  const uint64_t since = now > 2 * kAdminAuthWindow ? now - 2 * kAdminAuthWindow : 0;
  return {
      SqlStatement{"SELECT version FROM mgmt_version WHERE id = 0", {}},
      SqlStatement{"SELECT pubkey, state, reason FROM mgmt_pubkeys", {}},
      SqlStatement{"SELECT id, state, reason FROM mgmt_events", {}},
      SqlStatement{"SELECT kind, state FROM mgmt_kinds", {}},
      SqlStatement{"SELECT ip, reason FROM mgmt_ips", {}},
      SqlStatement{"SELECT key, value FROM mgmt_settings", {}},
      SqlStatement{"SELECT id FROM mgmt_auth_ids WHERE created_at >= ?", {integer(since)}},
  };
}

SqlStatement plan_management_version() {
  return SqlStatement{"SELECT version FROM mgmt_version WHERE id = 0", {}};
}

bool parse_management(const std::vector<ResultSet>& rs, ManagementState& out) {
  if (rs.size() < 7) return false;  // more: statements the caller appended
  ManagementState s;
  if (rs[0].rows == 1 && rs[0].cols == 1 && !parse_decimal(rs[0].cell(0, 0), s.version))
    return false;
  for (uint32_t i = 0; i < rs[1].rows; ++i) {
    if (rs[1].cols != 3) return false;
    auto pk = Pubkey::from_hex(rs[1].cell(i, 0));
    if (!pk) continue;  // written by us, so only a hand edit gets here: skip it
    s.pubkeys[*pk] = ManagementState::Entry{rs[1].cell(i, 1) == "1", std::string(rs[1].cell(i, 2))};
  }
  for (uint32_t i = 0; i < rs[2].rows; ++i) {
    if (rs[2].cols != 3) return false;
    auto id = EventId::from_hex(rs[2].cell(i, 0));
    if (!id) continue;
    s.events[*id] = ManagementState::Entry{rs[2].cell(i, 1) == "1", std::string(rs[2].cell(i, 2))};
  }
  for (uint32_t i = 0; i < rs[3].rows; ++i) {
    uint64_t k = 0;
    if (rs[3].cols != 2 || !parse_decimal(rs[3].cell(i, 0), k) || k > 65535) continue;
    s.kinds[static_cast<uint32_t>(k)] = rs[3].cell(i, 1) == "1";
  }
  for (uint32_t i = 0; i < rs[4].rows; ++i) {
    if (rs[4].cols != 2) return false;
    s.block_ip(std::string(rs[4].cell(i, 0)), std::string(rs[4].cell(i, 1)));
  }
  for (uint32_t i = 0; i < rs[5].rows; ++i) {
    if (rs[5].cols != 2) return false;
    const std::string_view k = rs[5].cell(i, 0);
    std::string* field = k == "name"          ? &s.name
                         : k == "description" ? &s.description
                         : k == "icon"        ? &s.icon
                         : k == "maintenance" ? &s.maintenance
                                              : nullptr;
    if (field) field->assign(rs[5].cell(i, 1));
  }
  for (uint32_t i = 0; i < rs[6].rows; ++i) {
    if (auto id = EventId::from_hex(rs[6].cell(i, 0))) s.auth_ids.insert(*id);
  }
  // Written through the API, which keeps within the cap; a hand-filled table
  // beyond it is refused rather than held.
  if (s.entries() > kMaxManagedEntries) return false;
  out = std::move(s);
  return true;
}

Result<VerifiedEvent> authorize_admin(simdjson::dom::parser& parser, const RelayConfig& config,
                                      std::string_view url, std::string_view authorization,
                                      std::string_view body, uint64_t now) {
  // The relay's ws(s):// URL is "the relay URL" too (NIP-86 `u`), in its http(s) form.
  std::string also_url;
  if (config.relay_url.rfind("ws", 0) == 0) also_url = "http" + config.relay_url.substr(2);
  auto auth = verify_http_auth(
      parser, HttpAuthCheck{authorization, url, "POST", body, now, kAdminAuthWindow}, also_url);
  if (!auth) return reject(Code::restricted, "unauthorized: " + auth.error().text);
  const Pubkey& pk = auth.value().event().pubkey();
  if (!contains(config.admin_pubkeys, pk))
    return reject(Code::restricted, "unauthorized: " + pk.hex() + " is not an administrator");
  return auth;
}

std::string_view admin_method_name(AdminMethod m) {
  for (const MethodName& x : kMethods) {
    if (x.method == m) return x.name;
  }
  return "unknown";
}

bool AdminRequest::changes_state() const {
  switch (method) {
    case AdminMethod::supportedmethods:
    case AdminMethod::listbannedpubkeys:
    case AdminMethod::listallowedpubkeys:
    case AdminMethod::listbannedevents:
    case AdminMethod::listallowedevents:
    case AdminMethod::listeventsneedingmoderation:
    case AdminMethod::listallowedkinds:
    case AdminMethod::listdisallowedkinds:
    case AdminMethod::listblockedips:
    case AdminMethod::listconnections:
    case AdminMethod::disconnect:
      return false;
    default:
      return true;
  }
}

Result<AdminRequest> parse_admin_request(std::string_view body) {
  if (body.size() > kMaxAdminBody)
    return bad("request body is larger than " + std::to_string(kMaxAdminBody) + " bytes");
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  if (parser.parse(body.data(), body.size(), true).get(root) != simdjson::SUCCESS)
    return bad("request is not valid JSON");
  std::string_view name;
  if (root["method"].get_string().get(name) != simdjson::SUCCESS)
    return bad("request has no \"method\" string");
  // "params" may be missing (no parameters); a default dom::array has no
  // document and must not be iterated (found by fuzz_relay).
  std::vector<simdjson::dom::element> args;
  if (auto p = root["params"]; p.error() != simdjson::NO_SUCH_FIELD) {
    simdjson::dom::array params;
    if (p.get_array().get(params) != simdjson::SUCCESS) return bad("\"params\" must be an array");
    for (simdjson::dom::element e : params) args.push_back(e);
  }
  const MethodName* m = std::find_if(std::begin(kMethods), std::end(kMethods),
                                     [&](const MethodName& x) { return x.name == name; });
  if (m == std::end(kMethods)) return bad("unsupported method: " + std::string(utf8_prefix(name, 64)));
  AdminRequest r;
  r.method = m->method;
  auto str = [&](size_t i, std::string& out, bool required, std::string_view what) -> Status {
    if (i >= args.size())
      return required ? Status(bad(std::string(name) + ": missing " + std::string(what)))
                      : Status();
    std::string_view s;
    if (args[i].get_string().get(s) != simdjson::SUCCESS)
      return bad(std::string(name) + ": " + std::string(what) + " must be a string");
    if (s.size() > kMaxText)
      return bad(std::string(name) + ": " + std::string(what) + " is too long");
    out.assign(s);
    return {};
  };
  std::string key;
  Status st;
  switch (r.method) {
    case AdminMethod::banpubkey:
    case AdminMethod::unbanpubkey:
    case AdminMethod::allowpubkey:
    case AdminMethod::unallowpubkey:
      if (st = str(0, key, true, "pubkey"); !st) return st.error();
      r.pubkey = Pubkey::from_hex(key);
      if (!r.pubkey) return bad(std::string(name) + ": pubkey must be 64 lowercase hex characters");
      if (st = str(1, r.reason, false, "reason"); !st) return st.error();
      break;
    case AdminMethod::banevent:
    case AdminMethod::unbanevent:
    case AdminMethod::allowevent:
    case AdminMethod::unallowevent:
      if (st = str(0, key, true, "event id"); !st) return st.error();
      r.event = EventId::from_hex(key);
      if (!r.event)
        return bad(std::string(name) + ": event id must be 64 lowercase hex characters");
      if (st = str(1, r.reason, false, "reason"); !st) return st.error();
      break;
    case AdminMethod::allowkind:
    case AdminMethod::disallowkind: {
      uint64_t k = 0;
      if (args.empty() || args[0].get_uint64().get(k) != simdjson::SUCCESS || k > 65535) {
        return bad(std::string(name) + ": kind must be an integer in 0..65535");
      }
      r.kind = static_cast<uint32_t>(k);
      break;
    }
    case AdminMethod::blockip:
    case AdminMethod::unblockip:
      if (st = str(0, r.text, true, "ip address"); !st) return st.error();
      if (auto range = AddressRange::parse(r.text)) {
        r.text = range->str();  // one spelling per range: "2001:DB8::/48" and "2001:db8:0::/48" are
                                // one entry
      } else {
        return bad(std::string(name) +
                   ": not an IP address or CIDR range (\"10.0.0.0/8\", \"2001:db8::/48\")");
      }
      if (st = str(1, r.reason, false, "reason"); !st) return st.error();
      break;
    case AdminMethod::changerelayname:
    case AdminMethod::changerelaydescription:
    case AdminMethod::changerelayicon:
      if (st = str(0, r.text, true, "value"); !st) return st.error();
      break;
    case AdminMethod::setmaintenance:
      if (args.empty() || args[0].get_bool().get(r.flag) != simdjson::SUCCESS) {
        return bad("setmaintenance: the first parameter must be true or false");
      }
      if (st = str(1, r.reason, false, "reason"); !st) return st.error();
      if (r.flag && r.reason.empty()) r.reason = "the relay is in maintenance";
      break;
    case AdminMethod::disconnect:
      if (st = str(0, r.target, true, "target"); !st) return st.error();
      if (r.target != "connection" && r.target != "ip" && r.target != "pubkey") {
        return bad("disconnect: target must be \"connection\", \"ip\" or \"pubkey\"");
      }
      if (st = str(1, r.text, true, "value"); !st) return st.error();
      if (r.target == "pubkey" && !Pubkey::from_hex(r.text))
        return bad("disconnect: pubkey must be 64 lowercase hex characters");
      if (r.target == "ip") {
        auto range = AddressRange::parse(r.text);
        if (!range) return bad("disconnect: not an IP address or CIDR range");
        r.text = range->str();
      }
      if (st = str(2, r.reason, false, "reason"); !st) return st.error();
      break;
    default:
      break;  // list methods take no parameters (extra ones are ignored)
  }
  return r;
}

std::vector<SqlStatement> plan_admin_change(const AdminRequest& r, const EventId& auth_id,
                                            uint64_t auth_at, uint64_t now) {
  std::vector<SqlStatement> out;
  const uint64_t keep_since = now > 2 * kAdminAuthWindow ? now - 2 * kAdminAuthWindow : 0;
  out.push_back({"DELETE FROM mgmt_auth_ids WHERE created_at < ?", {integer(keep_since)}});
  // A replayed id fails the batch (primary key): nothing changes.
  out.push_back({"INSERT INTO mgmt_auth_ids (id, created_at) VALUES (?, ?)",
                 {text(auth_id.hex()), integer(auth_at)}});
  if (auto c = list_change(r)) {
    const std::string t = c->table, col = c->column;
    if (c->state >= 0) {
      out.push_back({"INSERT INTO " + t + " (" + col +
                         ", state, reason) VALUES (?, ?, ?) ON CONFLICT (" + col +
                         ") DO UPDATE SET state = excluded.state, reason = excluded.reason",
                     {text(c->key), integer(static_cast<uint64_t>(c->state)), text(r.reason)}});
    } else {
      out.push_back({"DELETE FROM " + t + " WHERE " + col + " = ? AND state = ?",
                     {text(c->key), integer(static_cast<uint64_t>(c->only_state))}});
    }
    if (r.method == AdminMethod::banpubkey) {
      out.push_back({"DELETE FROM tags WHERE event_id IN (SELECT id FROM events WHERE pubkey = ?)",
                     {text(c->key)}});
      out.push_back({"DELETE FROM events WHERE pubkey = ?", {text(c->key)}});
    } else if (r.method == AdminMethod::banevent) {
      out.push_back({"DELETE FROM tags WHERE event_id = ?", {text(c->key)}});
      out.push_back({"DELETE FROM events WHERE id = ?", {text(c->key)}});
    }
  } else if (r.method == AdminMethod::allowkind || r.method == AdminMethod::disallowkind) {
    out.push_back(
        {"INSERT INTO mgmt_kinds (kind, state) VALUES (?, ?) ON CONFLICT (kind) DO UPDATE SET "
         "state = excluded.state",
         {integer(r.kind), integer(r.method == AdminMethod::allowkind ? 1 : 0)}});
  } else if (r.method == AdminMethod::blockip) {
    out.push_back(
        {"INSERT INTO mgmt_ips (ip, reason) VALUES (?, ?) ON CONFLICT (ip) DO UPDATE SET reason = "
         "excluded.reason",
         {text(r.text), text(r.reason)}});
  } else if (r.method == AdminMethod::unblockip) {
    out.push_back({"DELETE FROM mgmt_ips WHERE ip = ?", {text(r.text)}});
  } else if (const char* key = setting_key(r.method)) {
    const std::string value =
        r.method == AdminMethod::setmaintenance ? (r.flag ? r.reason : std::string()) : r.text;
    out.push_back(
        {"INSERT INTO mgmt_settings (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET "
         "value = excluded.value",
         {text(key), text(value)}});
  }
  if (r.changes_state()) {
    out.push_back(
        {"INSERT INTO mgmt_version (id, version) VALUES (0, 1) ON CONFLICT (id) DO UPDATE SET "
         "version = version + 1",
         {}});
  }
  return out;
}

void apply_admin_change(ManagementState& s, const AdminRequest& r) {
  if (auto c = list_change(r)) {
    if (r.pubkey) set_entry(s.pubkeys, *r.pubkey, c->state, c->only_state, r.reason);
    if (r.event) set_entry(s.events, *r.event, c->state, c->only_state, r.reason);
  } else if (r.method == AdminMethod::allowkind || r.method == AdminMethod::disallowkind) {
    s.kinds[r.kind] = r.method == AdminMethod::allowkind;
  } else if (r.method == AdminMethod::blockip) {
    s.block_ip(r.text, r.reason);
  } else if (r.method == AdminMethod::unblockip) {
    s.unblock_ip(r.text);
  } else if (r.method == AdminMethod::changerelayname) {
    s.name = r.text;
  } else if (r.method == AdminMethod::changerelaydescription) {
    s.description = r.text;
  } else if (r.method == AdminMethod::changerelayicon) {
    s.icon = r.text;
  } else if (r.method == AdminMethod::setmaintenance) {
    s.maintenance = r.flag ? r.reason : std::string();
  }
  ++s.version;
}

SqlStatement plan_moderation_queue() {
  return {"SELECT raw FROM events WHERE kind = 1984 ORDER BY created_at DESC LIMIT 500", {}};
}

std::string moderation_queue_json(const ResultSet& rows, const ManagementState& s) {
  simdjson::dom::parser parser;
  Limits limits;
  std::set<EventId> seen;
  JsonWriter w;
  w.begin_array();
  for (uint32_t i = 0; i < rows.rows && rows.cols == 1; ++i) {
    auto e = Event::parse(parser, rows.cell(i, 0), limits);
    if (!e) continue;
    for (size_t t = 0; t < e->tag_count(); ++t) {
      const TagView tag = e->tag(t);
      if (tag.size() < 2 || tag[0] != "e") continue;
      auto id = EventId::from_hex(tag[1]);
      if (!id || s.events.count(*id) || !seen.insert(*id).second) continue;
      // NIP-56: the report type is the e tag's third element.
      w.begin_object().key("id").string(id->hex());
      w.key("reason").string(tag.size() > 2 ? tag[2] : std::string_view("reported")).end_object();
    }
  }
  w.end_array();
  return w.take();
}

std::string admin_list_result(AdminMethod m, const ManagementState& s, const RelayConfig& c) {
  JsonWriter w;
  switch (m) {
    case AdminMethod::supportedmethods:
      w.begin_array();
      for (const MethodName& x : kMethods) {
        if (x.method != AdminMethod::supportedmethods) w.string(x.name);
      }
      w.end_array();
      break;
    case AdminMethod::listbannedpubkeys:
    case AdminMethod::listallowedpubkeys: {
      // Configured entries count too (unless management overrides them).
      std::map<Pubkey, ManagementState::Entry> all = s.pubkeys;
      for (const Pubkey& pk : c.write_policy.banned_pubkeys)
        all.emplace(pk, ManagementState::Entry{false, "configured"});
      for (const Pubkey& pk : c.write_policy.allowed_pubkeys)
        all.emplace(pk, ManagementState::Entry{true, "configured"});
      write_entries_of(w, "pubkey", m == AdminMethod::listallowedpubkeys, all);
      break;
    }
    case AdminMethod::listbannedevents:
    case AdminMethod::listallowedevents:
      write_entries_of(w, "id", m == AdminMethod::listallowedevents, s.events);
      break;
    case AdminMethod::listallowedkinds:
      write_kinds(w, s.allowed_kinds(c.write_policy));
      break;
    case AdminMethod::listdisallowedkinds:
      write_kinds(w, s.disallowed_kinds(c.write_policy));
      break;
    case AdminMethod::listblockedips: {
      std::map<std::string, std::string> all = s.ips;
      for (const AddressRange& r : c.blocked_ips.ranges()) all.emplace(r.str(), "configured");
      w.begin_array();
      for (const auto& [ip, reason] : all)
        w.begin_object().key("ip").string(ip).key("reason").string(reason).end_object();
      w.end_array();
      break;
    }
    default:
      w.boolean(true);
  }
  return w.take();
}

std::string admin_result(std::string_view result_json) {
  JsonWriter w;
  w.begin_object().key("result").raw(result_json).end_object();
  return w.take();
}

std::string admin_error(std::string_view text) {
  JsonWriter w;
  w.begin_object().key("result").null().key("error").string(text).end_object();
  return w.take();
}

}  // namespace nostr
