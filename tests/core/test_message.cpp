// Client message parsing: valid messages become typed values; malformed frames
// get the right code and the right kind of reply (NOTICE / OK false / CLOSED).
#include <doctest/doctest.h>

#include <string>
#include <variant>

#include "core/message.h"

using nostr::Code;
using nostr::ReplyKind;

namespace {

const std::string kHex64(64, 'a');
const std::string kEvent = "{\"id\":\"" + kHex64 + "\",\"pubkey\":\"" + kHex64 +
                           "\",\"created_at\":1,\"kind\":1,\"tags\":[],\"content\":\"x\",\"sig\":\"" +
                           std::string(128, 'b') + "\"}";

std::string event_with(const std::string& from, const std::string& to) {
  std::string e = kEvent;
  e.replace(e.find(from), from.size(), to);
  return e;
}

struct Malformed {
  std::string frame;
  Code code;
  ReplyKind reply;
};

std::vector<Malformed> malformed_table() {
  const std::string deep(20000, '[');
  return {
      // Not JSON / wrong top level.
      {"", Code::bad_json, ReplyKind::notice},
      {" ", Code::bad_json, ReplyKind::notice},
      {"[", Code::bad_json, ReplyKind::notice},
      {"]", Code::bad_json, ReplyKind::notice},
      {"[\"REQ\",\"a\",{}", Code::bad_json, ReplyKind::notice},
      {"[\"EVENT\",{}]]", Code::bad_json, ReplyKind::notice},
      {"[\"CLOSE\",\"a\"] x", Code::bad_json, ReplyKind::notice},
      {"['REQ','a',{}]", Code::bad_json, ReplyKind::notice},
      {"[\"REQ\",\"a\",{},]", Code::bad_json, ReplyKind::notice},
      {"[\"CLOSE\",\"\xff\"]", Code::bad_json, ReplyKind::notice},  // invalid UTF-8
      {"[\"CLOSE\",\"\\x41\"]", Code::bad_json, ReplyKind::notice},
      {"[\"CLOSE\",\"a\nb\"]", Code::bad_json, ReplyKind::notice},  // raw control char
      {"[NaN]", Code::bad_json, ReplyKind::notice},
      {"\xef\xbb\xbf[\"EVENT\"," + kEvent + "]", Code::bad_json, ReplyKind::notice},  // BOM (found by fuzz_relay)
      {"\xef\xbb\xbf[\"CLOSE\",\"a\"]", Code::bad_json, ReplyKind::notice},
      {deep, Code::bad_json, ReplyKind::notice},  // unbalanced: refused before depth matters
      {deep + std::string(20000, ']'), Code::too_deep, ReplyKind::notice},
      {"{}", Code::not_array, ReplyKind::notice},
      {"\"EVENT\"", Code::not_array, ReplyKind::notice},
      {"42", Code::not_array, ReplyKind::notice},
      {"null", Code::not_array, ReplyKind::notice},
      {"[]", Code::bad_message_type, ReplyKind::notice},
      {"[1,2]", Code::bad_message_type, ReplyKind::notice},
      {"[null]", Code::bad_message_type, ReplyKind::notice},
      {"[[\"REQ\"]]", Code::bad_message_type, ReplyKind::notice},
      {"[\"HELLO\"]", Code::unknown_message_type, ReplyKind::notice},
      {"[\"event\",{}]", Code::unknown_message_type, ReplyKind::notice},
      {"[\"REQ \",\"a\",{}]", Code::unknown_message_type, ReplyKind::notice},
      // EVENT shape.
      {"[\"EVENT\"]", Code::wrong_arity, ReplyKind::notice},
      {"[\"EVENT\"," + kEvent + "," + kEvent + "]", Code::wrong_arity, ReplyKind::notice},
      {"[\"EVENT\",[]]", Code::event_not_object, ReplyKind::notice},
      {"[\"EVENT\",\"x\"]", Code::event_not_object, ReplyKind::notice},
      {"[\"EVENT\",{}]", Code::missing_field, ReplyKind::notice},
      {"[\"EVENT\"," + event_with("\"created_at\":1", "\"created_at\":1.5") + "]", Code::bad_created_at,
       ReplyKind::ok},
      {"[\"EVENT\"," + event_with("\"created_at\":1", "\"created_at\":\"1\"") + "]", Code::bad_created_at,
       ReplyKind::ok},
      {"[\"EVENT\"," + event_with("\"created_at\":1", "\"created_at\":1e3") + "]", Code::bad_created_at,
       ReplyKind::ok},
      {"[\"EVENT\"," + event_with("\"kind\":1", "\"kind\":70000") + "]", Code::bad_kind, ReplyKind::ok},
      {"[\"EVENT\"," + event_with("\"tags\":[]", "\"tags\":[[1]]") + "]", Code::bad_tags, ReplyKind::ok},
      {"[\"EVENT\"," + event_with("\"content\":\"x\"", "\"content\":null") + "]", Code::bad_content,
       ReplyKind::ok},
      {"[\"EVENT\"," + event_with("\"pubkey\":\"a", "\"pubkey\":\"A") + "]", Code::bad_pubkey, ReplyKind::ok},
      {"[\"EVENT\"," + event_with("\"id\":\"" + kHex64, "\"id\":\"" + std::string(64, 'A')) + "]",
       Code::bad_id, ReplyKind::ok},
      {"[\"EVENT\"," + event_with("\"id\":\"" + kHex64, "\"id\":\"short") + "]", Code::bad_id, ReplyKind::ok},
      {"[\"EVENT\"," + event_with("\"sig\":\"b", "\"sig\":\"B") + "]", Code::bad_sig, ReplyKind::ok},
      {"[\"EVENT\"," + event_with("\"kind\":1", "\"kind\":1,\"kind\":2") + "]", Code::duplicate_field,
       ReplyKind::ok},
      {"[\"EVENT\"," + event_with("\"kind\":1", "\"kind\":1,\"extra\":true") + "]", Code::unknown_field,
       ReplyKind::ok},
      // REQ / COUNT.
      {"[\"REQ\"]", Code::wrong_arity, ReplyKind::notice},
      {"[\"REQ\",\"\",{}]", Code::bad_sub_id, ReplyKind::notice},
      {"[\"REQ\"," + std::string("\"") + std::string(65, 's') + "\",{}]", Code::bad_sub_id, ReplyKind::notice},
      {"[\"REQ\",\"a\\u0001\",{}]", Code::bad_sub_id, ReplyKind::notice},
      {"[\"REQ\",7,{}]", Code::bad_sub_id, ReplyKind::notice},
      {"[\"REQ\",\"a\"]", Code::no_filters, ReplyKind::closed},
      {"[\"REQ\",\"a\",[]]", Code::bad_filter, ReplyKind::closed},
      {"[\"REQ\",\"a\",{\"ids\":[\"abc\"]}]", Code::bad_filter, ReplyKind::closed},
      {"[\"REQ\",\"a\",{\"authors\":[\"" + std::string(64, 'A') + "\"]}]", Code::bad_filter, ReplyKind::closed},
      {"[\"REQ\",\"a\",{\"kinds\":[1.5]}]", Code::bad_filter, ReplyKind::closed},
      {"[\"REQ\",\"a\",{\"kinds\":[-1]}]", Code::bad_filter, ReplyKind::closed},
      {"[\"REQ\",\"a\",{\"kinds\":[65536]}]", Code::bad_filter, ReplyKind::closed},
      {"[\"REQ\",\"a\",{\"kinds\":1}]", Code::bad_filter, ReplyKind::closed},
      {"[\"REQ\",\"a\",{\"since\":\"1\"}]", Code::bad_filter, ReplyKind::closed},
      {"[\"REQ\",\"a\",{\"until\":1.5}]", Code::bad_filter, ReplyKind::closed},
      {"[\"REQ\",\"a\",{\"limit\":-5}]", Code::bad_filter, ReplyKind::closed},
      {"[\"REQ\",\"a\",{\"#e\":[\"nothex\"]}]", Code::bad_filter, ReplyKind::closed},
      {"[\"REQ\",\"a\",{\"#p\":[1]}]", Code::bad_filter, ReplyKind::closed},
      {"[\"REQ\",\"a\",{\"#t\":[1]}]", Code::bad_filter, ReplyKind::closed},
      {"[\"REQ\",\"a\",{\"#tt\":[\"x\"]}]", Code::bad_filter, ReplyKind::closed},
      {"[\"REQ\",\"a\",{\"#1\":[\"x\"]}]", Code::bad_filter, ReplyKind::closed},
      {"[\"REQ\",\"a\",{\"foo\":1}]", Code::bad_filter, ReplyKind::closed},
      {"[\"REQ\",\"a\",{\"kinds\":[1],\"kinds\":[2]}]", Code::bad_filter, ReplyKind::closed},
      {"[\"REQ\",\"a\",{\"search\":5}]", Code::bad_filter, ReplyKind::closed},
      {"[\"REQ\",\"a\",{},{},{},{},{},{},{},{},{},{},{}]", Code::too_many_filters, ReplyKind::closed},
      {"[\"COUNT\",\"c\",{\"ids\":[1]}]", Code::bad_filter, ReplyKind::closed},
      {"[\"COUNT\",\"\"]", Code::bad_sub_id, ReplyKind::notice},
      // CLOSE.
      {"[\"CLOSE\"]", Code::wrong_arity, ReplyKind::notice},
      {"[\"CLOSE\",\"a\",\"b\"]", Code::wrong_arity, ReplyKind::notice},
      {"[\"CLOSE\",1]", Code::bad_sub_id, ReplyKind::notice},
      // AUTH.
      {"[\"AUTH\"]", Code::wrong_arity, ReplyKind::notice},
      {"[\"AUTH\",\"challenge\"]", Code::event_not_object, ReplyKind::notice},
  };
}

}  // namespace

TEST_CASE("malformed frames: code and reply kind, table-driven") {
  nostr::MessageParser parser{nostr::Limits{}};
  const auto table = malformed_table();
  CHECK(table.size() >= 50);
  for (const Malformed& m : table) {
    CAPTURE(m.frame.substr(0, 120));
    const nostr::ParsedFrame r = parser.parse(m.frame, false);
    REQUIRE_FALSE(r.ok());
    CHECK(nostr::code_name(r.error.reject.code) == nostr::code_name(m.code));
    CHECK(static_cast<int>(r.error.reply) == static_cast<int>(m.reply));
    CHECK_FALSE(r.error.reject.text.empty());
    if (m.reply == ReplyKind::closed) CHECK_FALSE(r.error.sub_id.empty());
    if (m.reply == ReplyKind::ok) CHECK_FALSE(r.error.event_id.empty());
  }
  // The parser stays usable after every failure.
  CHECK(parser.parse("[\"CLOSE\",\"ok\"]", false).ok());
}

TEST_CASE("refusals quoting client text stay valid UTF-8 (no split characters)") {
  nostr::MessageParser parser{nostr::Limits{}};
  const std::string x31(31, 'x');
  const std::string frames[] = {
      "[\"" + x31 + "\xf0\x9f\x98\x80\xf0\x9f\x98\x80\",\"s\"]",
      "[\"REQ\",\"sub\",{\"" + x31 + "\xf0\x9f\x98\x80\":1}]",
      "[\"EVENT\"," + event_with("\"kind\":1", "\"kind\":1,\"" + x31 + "\xe6\x97\xa5\xe6\x9c\xac\":1") + "]",
  };
  simdjson::dom::parser json;
  for (const std::string& f : frames) {
    CAPTURE(f);
    const auto r = parser.parse(f, false);
    REQUIRE_FALSE(r.ok());
    // simdjson validates UTF-8: a split character would fail to parse.
    const std::string reply = "[\"NOTICE\",\"" + r.error.reject.text + "\"]";
    simdjson::dom::element el;
    CHECK(json.parse(reply).get(el) == simdjson::SUCCESS);
    CHECK(r.error.reject.text.find("xxxx") != std::string::npos);
  }
}

TEST_CASE("oversized frames are refused before parsing") {
  nostr::Limits l;
  l.max_message_length = 100;
  nostr::MessageParser parser{l};
  const auto r = parser.parse("[\"NOTICE\",\"" + std::string(200, 'x') + "\"]", false);
  REQUIRE_FALSE(r.ok());
  CHECK(r.error.reject.code == Code::message_too_large);
}

TEST_CASE("valid messages become typed values") {
  nostr::MessageParser parser{nostr::Limits{}};
  {
    const std::string frame = "[\"EVENT\", " + kEvent + " ]";
    auto r = parser.parse(frame, false);
    REQUIRE(r.ok());
    auto* m = std::get_if<nostr::EventMessage>(&*r.message);
    REQUIRE(m);
    CHECK(m->event.raw() == kEvent);  // exact bytes, whitespace around excluded
  }
  {
    auto r = parser.parse("[\"REQ\",\"sub 1\",{\"kinds\":[1,1,0]},{\"#t\":[\"b\",\"a\"],\"limit\":0}]", false);
    REQUIRE(r.ok());
    auto* m = std::get_if<nostr::ReqMessage>(&*r.message);
    REQUIRE(m);
    CHECK(m->sub.str() == "sub 1");
    REQUIRE(m->filters.size() == 2);
    CHECK(*m->filters[0].kinds() == std::vector<uint16_t>{0, 1});
    CHECK(m->filters[1].tags()[0].values == std::vector<std::string>{"a", "b"});
    CHECK(*m->filters[1].limit() == 0);
  }
  {
    auto r = parser.parse("[\"COUNT\",\"c\",{}]", false);
    REQUIRE(r.ok());
    CHECK(std::holds_alternative<nostr::CountMessage>(*r.message));
  }
  {
    auto r = parser.parse("[\"CLOSE\",\"\xf0\x9f\x98\x80\"]", false);
    REQUIRE(r.ok());
    CHECK(std::get<nostr::CloseMessage>(*r.message).sub.str() == "\xf0\x9f\x98\x80");
  }
  {
    auto r = parser.parse("[\"AUTH\"," + kEvent + "]", false);
    REQUIRE(r.ok());
    CHECK(std::holds_alternative<nostr::AuthMessage>(*r.message));
  }
  {
    auto r = parser.parse("[\"NEG-OPEN\",\"n1\",{\"kinds\":[1]},\"6100\"]", false);
    REQUIRE(r.ok());
    auto& open = std::get<nostr::NegOpenMessage>(*r.message);
    CHECK(open.sub.str() == "n1");
    CHECK(*open.filter.kinds() == std::vector<uint16_t>{1});
    CHECK(open.message == std::vector<uint8_t>{0x61, 0x00});
    auto m = parser.parse("[\"NEG-MSG\",\"n1\",\"61\"]", false);
    REQUIRE(m.ok());
    CHECK(std::get<nostr::NegMsgMessage>(*m.message).message == std::vector<uint8_t>{0x61});
    auto c = parser.parse("[\"NEG-CLOSE\",\"n1\"]", false);
    REQUIRE(c.ok());
    CHECK(std::get<nostr::NegCloseMessage>(*c.message).sub.str() == "n1");
  }
}

TEST_CASE("NIP-77 frames: bad ones are answered with NEG-ERR for their id, or a NOTICE without one") {
  nostr::Limits limits;
  nostr::MessageParser parser(limits);
  auto err = [&](const std::string& frame) {
    auto r = parser.parse(frame, false);
    REQUIRE_FALSE(r.ok());
    return nostr::reply_for(r.error);
  };
  CHECK(err(R"(["NEG-OPEN","n",{},"6G"])") == R"(["NEG-ERR","n","invalid: negentropy: not lowercase hex"])");
  CHECK(err(R"(["NEG-OPEN","n",{"kinds":["x"]},"61"])").rfind(R"(["NEG-ERR","n","invalid: kinds)", 0) == 0);
  CHECK(err(R"(["NEG-MSG","n"])") == R"(["NEG-ERR","n","invalid: NEG-MSG message must have exactly 3 elements"])");
  CHECK(err(R"(["NEG-MSG","n",7])") == R"(["NEG-ERR","n","invalid: negentropy message must be a hex string"])");
  CHECK(err(R"(["NEG-CLOSE"])").rfind(R"(["NOTICE","invalid: NEG-CLOSE message needs a subscription id"])", 0) == 0);
}

TEST_CASE("subscription ids: 1-64 characters, no control characters") {
  CHECK(nostr::SubId::make("a"));
  CHECK(nostr::SubId::make(std::string(64, 'x')));
  CHECK_FALSE(nostr::SubId::make(std::string(65, 'x')));
  CHECK_FALSE(nostr::SubId::make(""));
  CHECK_FALSE(nostr::SubId::make("a\tb"));
  CHECK_FALSE(nostr::SubId::make("\x7f"));
  std::string emoji;
  for (int i = 0; i < 64; ++i) emoji += "\xf0\x9f\x98\x80";
  CHECK(nostr::SubId::make(emoji));  // 64 characters, 256 bytes
}

TEST_CASE("second_element_raw finds the exact event text, or nothing") {
  CHECK(nostr::second_element_raw("[\"EVENT\",{\"a\":1}]") == "{\"a\":1}");
  CHECK(nostr::second_element_raw(" [ \"EV\\\"ENT\" ,\n {\"a\":\"]\"} \n] ") == "{\"a\":\"]\"}");
  CHECK_FALSE(nostr::second_element_raw("\xef\xbb\xbf[\"EVENT\",{\"a\":1}]"));
  CHECK_FALSE(nostr::second_element_raw("[\"EVENT\",[]]"));
  CHECK_FALSE(nostr::second_element_raw("[\"EVENT\" {\"a\":1}]"));
}
