// The action records the wasm ABI carries (durable/abi/action_codec.h) against
// the golden vectors in tests/golden/actions.json, which the JS side
// (tests/workers/node/codec.test.mjs) decodes: the two codecs cannot drift.
// NOSTR_UPDATE_GOLDEN=1 rewrites the file's "hex" from the C++ encoding.
#include <doctest/doctest.h>
#include <simdjson.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

#include "core/hex.h"
#include "durable/abi/action_codec.h"

using namespace nostr::durable;

namespace {

const std::string kGolden = std::string(NOSTR_SOURCE_DIR) + "/tests/golden/actions.json";

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string str(simdjson::dom::element e, const char* key) {
  std::string_view v;
  REQUIRE(e[key].get_string().get(v) == simdjson::SUCCESS);
  return std::string(v);
}
uint32_t u32(simdjson::dom::element e, const char* key) {
  uint64_t v = 0;
  REQUIRE(e[key].get_uint64().get(v) == simdjson::SUCCESS);
  return static_cast<uint32_t>(v);
}
simdjson::dom::array arr(simdjson::dom::element e, const char* key) {
  simdjson::dom::array a;
  REQUIRE(e[key].get_array().get(a) == simdjson::SUCCESS);
  return a;
}

// A statement in the ABI's JSON form ({"sql","params"}), typed again.
nostr::SqlStatement statement(simdjson::dom::element st) {
  nostr::SqlStatement out{str(st, "sql"), {}};
  for (simdjson::dom::element p : arr(st, "params")) {
    std::string_view text;
    int64_t v = 0;
    if (p.get_string().get(text) == simdjson::SUCCESS) {
      out.params.push_back(nostr::SqlParam::of(std::string(text)));
    } else if (p.get_int64().get(v) == simdjson::SUCCESS) {
      out.params.push_back(nostr::SqlParam::of(v));
    } else {
      REQUIRE(p.is_null());
      out.params.push_back(nostr::SqlParam::null());
    }
  }
  return out;
}
// The statements of a golden entry's JSON text (a batch, or one statement).
std::vector<nostr::SqlStatement> statements(const std::string& json, bool batch) {
  static simdjson::dom::parser parser;  // the elements borrow it until the next parse
  simdjson::dom::element root;
  REQUIRE(parser.parse(json).get(root) == simdjson::SUCCESS);
  if (!batch) return {statement(root)};
  std::vector<nostr::SqlStatement> out;
  for (simdjson::dom::element st : arr(root, "stmts")) out.push_back(statement(st));
  return out;
}

// The typed actions a golden entry describes.
Action from_json(simdjson::dom::element e) {
  const std::string type = str(e, "type");
  if (type == "send") return Send{u32(e, "conn"), str(e, "text")};
  if (type == "fanout") {
    Fanout f{str(e, "raw"), {}};
    for (simdjson::dom::element t : arr(e, "targets"))
      f.targets.push_back({u32(t, "conn"), str(t, "prefix")});
    return f;
  }
  if (type == "store") return Store{u32(e, "token"), statements(str(e, "stmts_json"), true)};
  if (type == "local_sql")
    return LocalSql{u32(e, "token"), statements(str(e, "stmt_json"), false).front()};
  if (type == "save_conn_state") return SaveConnState{u32(e, "conn"), str(e, "state")};
  if (type == "http_reply") {
    HttpReply r{u32(e, "request"), u32(e, "status"), str(e, "body"), {}};
    for (simdjson::dom::element h : arr(e, "headers")) {
      simdjson::dom::array pair;
      REQUIRE(h.get_array().get(pair) == simdjson::SUCCESS);
      std::string_view name, value;
      REQUIRE(pair.at(0).get_string().get(name) == simdjson::SUCCESS);
      REQUIRE(pair.at(1).get_string().get(value) == simdjson::SUCCESS);
      r.headers.emplace_back(std::string(name), std::string(value));
    }
    return r;
  }
  if (type == "log") return Log{str(e, "line")};
  if (type == "forward") return Forward{str(e, "peer"), str(e, "events")};
  if (type == "archive") return Archive{u32(e, "token"), str(e, "key"), str(e, "body")};
  REQUIRE(type == "close");
  return Close{u32(e, "conn"), u32(e, "code"), str(e, "reason")};
}

}  // namespace

TEST_CASE("action records: the C++ encoding of the golden actions is the golden hex") {
  const std::string text = read_file(kGolden);
  REQUIRE(!text.empty());
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  REQUIRE(parser.parse(text).get(root) == simdjson::SUCCESS);
  std::vector<Action> actions;
  for (simdjson::dom::element e : arr(root, "actions")) actions.push_back(from_json(e));
  REQUIRE(actions.size() >= 6);
  // Every kind of action is covered.
  std::vector<bool> seen(std::variant_size_v<Action>, false);
  for (const Action& a : actions) seen[a.index()] = true;
  CHECK(std::find(seen.begin(), seen.end(), false) == seen.end());

  std::string bytes;
  encode_actions(actions, bytes);
  CHECK(bytes.size() % 4 == 0);
  const std::string hex =
      nostr::to_hex(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());

  if (const char* update = std::getenv("NOSTR_UPDATE_GOLDEN");
      update && std::string(update) == "1") {
    const std::string key = "\"hex\": \"";
    const size_t at = text.rfind(key);
    REQUIRE(at != std::string::npos);
    const size_t end = text.find('"', at + key.size());
    std::ofstream(kGolden, std::ios::binary)
        << text.substr(0, at + key.size()) << hex << text.substr(end);
    MESSAGE("rewrote " << kGolden);
    return;
  }
  CHECK(hex == str(root, "hex"));
}

TEST_CASE("action records: an HTTP reply's headers are the relay's, whatever the host") {
  const HttpReply denied = make_http_reply(3, 401, "{}");
  CHECK(denied.headers ==
        std::vector<std::pair<std::string, std::string>>{{"Content-Type", "application/json"},
                                                         {"Access-Control-Allow-Origin", "*"},
                                                         {"WWW-Authenticate", "Nostr"}});
  const HttpReply events = make_http_reply(4, 206, "", "application/x-ndjson");
  CHECK(events.headers.size() == 2);
  CHECK(events.headers[0].second == "application/x-ndjson");
}

TEST_CASE("action records: type numbers follow the variant (the ABI's wire numbers)") {
  CHECK(type_of(Send{}) == ActionType::send);
  CHECK(type_of(Fanout{}) == ActionType::fanout);
  CHECK(type_of(Store{}) == ActionType::store);
  CHECK(type_of(LocalSql{}) == ActionType::local_sql);
  CHECK(type_of(SaveConnState{}) == ActionType::save_conn_state);
  CHECK(type_of(Close{}) == ActionType::close);
  CHECK(static_cast<uint32_t>(ActionType::close) == 6);
  CHECK(type_of(HttpReply{}) == ActionType::http_reply);
  CHECK(type_of(Log{}) == ActionType::log);
  CHECK(static_cast<uint32_t>(ActionType::log) == 8);
}
