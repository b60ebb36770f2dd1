// Event parsing: strict NIP-01 types, one property at a time.
#include <doctest/doctest.h>

#include <string>

#include "core/event.h"

using nostr::Code;

namespace {

const std::string kId(64, 'a');
const std::string kPk(64, 'b');
const std::string kSig(128, 'c');

// Builds event JSON, substituting one field's raw JSON value.
std::string event_json(const std::string& field = "", const std::string& raw_value = "") {
  auto val = [&](const std::string& name, const std::string& dflt) {
    return field == name ? raw_value : dflt;
  };
  return "{\"id\":" + val("id", "\"" + kId + "\"") + ",\"pubkey\":" + val("pubkey", "\"" + kPk + "\"") +
         ",\"created_at\":" + val("created_at", "1700000000") + ",\"kind\":" + val("kind", "1") +
         ",\"tags\":" + val("tags", "[[\"e\",\"x\"],[\"t\"]]") + ",\"content\":" + val("content", "\"hi\"") +
         ",\"sig\":" + val("sig", "\"" + kSig + "\"") + "}";
}

Code parse_code(const std::string& json, const nostr::Limits& limits = {}) {
  simdjson::dom::parser p;
  auto r = nostr::Event::parse(p, json, limits);
  return r ? Code::ok : r.error().code;
}

}  // namespace

TEST_CASE("a well-formed event parses and keeps its raw bytes") {
  simdjson::dom::parser p;
  const std::string json = event_json();
  auto r = nostr::Event::parse(p, json, {});
  REQUIRE(r.ok());
  CHECK(r->raw() == json);
  CHECK(r->created_at() == 1700000000);
  CHECK(r->kind() == 1);
  CHECK(r->content() == "hi");
  REQUIRE(r->tag_count() == 2);
  CHECK(r->tag(0).size() == 2);
  CHECK(r->tag(0)[1] == "x");
  CHECK(r->tag(1).size() == 1);
  CHECK(r->canonical_json() == "[0,\"" + kPk + "\",1700000000,1,[[\"e\",\"x\"],[\"t\"]],\"hi\"]");
}

TEST_CASE("field types are strict") {
  struct Case {
    std::string field;
    std::string value;
    Code expect;
  };
  const Case cases[] = {
      {"id", "\"AAAA\"", Code::bad_id},
      {"id", "\"" + std::string(64, 'A') + "\"", Code::bad_id},
      {"id", "123", Code::bad_id},
      {"pubkey", "\"" + std::string(63, 'b') + "\"", Code::bad_pubkey},
      {"pubkey", "\"" + std::string(64, 'B') + "\"", Code::bad_pubkey},
      {"sig", "\"" + std::string(127, 'c') + "\"", Code::bad_sig},
      {"sig", "null", Code::bad_sig},
      {"created_at", "1.5", Code::bad_created_at},
      {"created_at", "1700000000.0", Code::bad_created_at},
      {"created_at", "1e9", Code::bad_created_at},
      {"created_at", "-1", Code::bad_created_at},
      {"created_at", "\"1700000000\"", Code::bad_created_at},
      {"created_at", "9007199254740992", Code::bad_created_at},
      {"kind", "65536", Code::bad_kind},
      {"kind", "-1", Code::bad_kind},
      {"kind", "1.0", Code::bad_kind},
      {"kind", "\"1\"", Code::bad_kind},
      {"tags", "{}", Code::bad_tags},
      {"tags", "[\"e\"]", Code::bad_tags},
      {"tags", "[[1]]", Code::bad_tags},
      {"tags", "[[\"e\",null]]", Code::bad_tags},
      {"content", "1", Code::bad_content},
      {"content", "null", Code::bad_content},
  };
  for (const Case& c : cases) {
    CAPTURE(c.field);
    CAPTURE(c.value);
    CHECK(parse_code(event_json(c.field, c.value)) == c.expect);
  }
}

TEST_CASE("kind boundaries and empty values are accepted") {
  CHECK(parse_code(event_json("kind", "0")) == Code::ok);
  CHECK(parse_code(event_json("kind", "65535")) == Code::ok);
  CHECK(parse_code(event_json("tags", "[]")) == Code::ok);
  CHECK(parse_code(event_json("content", "\"\"")) == Code::ok);
  CHECK(parse_code(event_json("created_at", "0")) == Code::ok);
}

TEST_CASE("a tag needs a name: empty tags are refused") {
  CHECK(parse_code(event_json("tags", "[[]]")) == Code::bad_tags);
  CHECK(parse_code(event_json("tags", "[[\"\"]]")) == Code::bad_tags);
  CHECK(parse_code(event_json("tags", "[[\"\",\"x\"]]")) == Code::bad_tags);
  CHECK(parse_code(event_json("tags", "[[\"t\",\"\"]]")) == Code::ok);  // an empty value is fine
}

TEST_CASE("missing, duplicate and unknown fields are refused") {
  const std::string full = event_json();
  CHECK(parse_code("{" + full.substr(full.find(",\"pubkey\"") + 1)) == Code::missing_field);
  CHECK(parse_code(full.substr(0, full.size() - 1) + ",\"kind\":1}") == Code::duplicate_field);
  CHECK(parse_code(full.substr(0, full.size() - 1) + ",\"seen_on\":[]}") == Code::unknown_field);
  CHECK(parse_code("[]") == Code::event_not_object);
  CHECK(parse_code("{") == Code::bad_json);
}

TEST_CASE("size limits") {
  nostr::Limits l;
  l.max_event_tags = 2;
  CHECK(parse_code(event_json("tags", "[[\"a\"],[\"b\"],[\"c\"]]"), l) == Code::too_many_tags);
  l.max_content_length = 3;
  CHECK(parse_code(event_json("content", "\"abcd\""), l) == Code::content_too_long);
  nostr::Limits small;
  small.max_event_size = 100;
  CHECK(parse_code(event_json(), small) == Code::event_too_large);
}

TEST_CASE("kind classes follow NIP-01") {
  using nostr::KindClass;
  CHECK(nostr::kind_class(0) == KindClass::replaceable);
  CHECK(nostr::kind_class(1) == KindClass::regular);
  CHECK(nostr::kind_class(3) == KindClass::replaceable);
  CHECK(nostr::kind_class(9999) == KindClass::regular);
  CHECK(nostr::kind_class(10000) == KindClass::replaceable);
  CHECK(nostr::kind_class(19999) == KindClass::replaceable);
  CHECK(nostr::kind_class(20000) == KindClass::ephemeral);
  CHECK(nostr::kind_class(29999) == KindClass::ephemeral);
  CHECK(nostr::kind_class(30000) == KindClass::addressable);
  CHECK(nostr::kind_class(39999) == KindClass::addressable);
  CHECK(nostr::kind_class(40000) == KindClass::regular);
}

TEST_CASE("tag accessors: d tag, expiration, protected") {
  simdjson::dom::parser p;
  auto r = nostr::Event::parse(
      p, event_json("tags", "[[\"d\",\"slug\"],[\"expiration\",\"1700000100\"],[\"-\"],[\"d\",\"other\"]]"), {});
  REQUIRE(r.ok());
  CHECK(r->d_tag() == "slug");
  REQUIRE(r->expiration());
  CHECK(*r->expiration() == 1700000100);
  CHECK(r->is_protected());
  auto plain = nostr::Event::parse(p, event_json("tags", "[[\"expiration\",\"soon\"]]"), {});
  REQUIRE(plain.ok());
  CHECK(plain->d_tag().empty());
  CHECK_FALSE(plain->expiration());
  CHECK_FALSE(plain->is_protected());
}

TEST_CASE("time policy: created_at window and NIP-40 expiration") {
  simdjson::dom::parser p;
  nostr::Limits l;
  l.created_at_upper_limit = 900;
  l.created_at_lower_limit = 3600;
  auto ev = nostr::Event::parse(p, event_json(), l);
  REQUIRE(ev.ok());
  CHECK(nostr::check_event_time(ev.value(), l, 1700000000).ok());
  CHECK(nostr::check_event_time(ev.value(), l, 1700000000 - 901).error().code == Code::created_at_too_new);
  CHECK(nostr::check_event_time(ev.value(), l, 1700000000 + 3601).error().code == Code::created_at_too_old);
  auto exp = nostr::Event::parse(p, event_json("tags", "[[\"expiration\",\"1700000010\"]]"), l);
  REQUIRE(exp.ok());
  CHECK(nostr::check_event_time(exp.value(), l, 1700000009).ok());
  CHECK(nostr::check_event_time(exp.value(), l, 1700000010).error().code == Code::expired);
}

TEST_CASE("escapes in content and tags are unescaped, then re-escaped canonically") {
  simdjson::dom::parser p;
  // \u0041 is written escaped by the client but JSON.stringify writes 'A'.
  auto r = nostr::Event::parse(p, event_json("content", "\"\\u0041\\/\\u00e9\\ud83d\\ude00\\u0007\\n\""), {});
  REQUIRE(r.ok());
  CHECK(r->content() == "A/\xc3\xa9\xf0\x9f\x98\x80\x07\n");
  const std::string canon = r->canonical_json();
  CHECK(canon.find("\"A/\xc3\xa9\xf0\x9f\x98\x80\\u0007\\n\"") != std::string::npos);
}
