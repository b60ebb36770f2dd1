#include <doctest/doctest.h>

#include <cstdint>
#include <string>

#include "core/json_writer.h"

static std::string quoted(std::string_view s) {
  std::string out;
  nostr::append_json_string(out, s);
  return out;
}

TEST_CASE("strings are escaped exactly like JSON.stringify") {
  CHECK(quoted("plain") == "\"plain\"");
  CHECK(quoted("a\"b\\c") == "\"a\\\"b\\\\c\"");
  CHECK(quoted("\n\r\t\b\f") == "\"\\n\\r\\t\\b\\f\"");
  CHECK(quoted(std::string("\x00\x01\x1f", 3)) == "\"\\u0000\\u0001\\u001f\"");
  CHECK(quoted("\x0b\x1b") == "\"\\u000b\\u001b\"");
  // U+007F, U+2028, U+2029 and astral characters stay verbatim.
  CHECK(quoted("\x7f") == "\"\x7f\"");
  CHECK(quoted("\u2028\u2029") == "\"\u2028\u2029\"");
  CHECK(quoted("\xf0\x9f\x98\x80") == "\"\xf0\x9f\x98\x80\"");
  CHECK(quoted("/") == "\"/\"");  // JSON.stringify does not escape '/'
}

TEST_CASE("integers are written in plain decimal") {
  std::string out;
  nostr::append_uint(out, 0);
  out += ',';
  nostr::append_uint(out, 1700000000);
  out += ',';
  nostr::append_uint(out, 9007199254740991ull);
  CHECK(out == "0,1700000000,9007199254740991");
}

TEST_CASE("utf8_prefix never splits a character") {
  const std::string s = "ab\xf0\x9f\x98\x80" "c";  // a b U+1F600 c
  CHECK(nostr::utf8_prefix(s, 100) == s);
  CHECK(nostr::utf8_prefix(s, 2) == "ab");
  CHECK(nostr::utf8_prefix(s, 3) == "ab");
  CHECK(nostr::utf8_prefix(s, 5) == "ab");
  CHECK(nostr::utf8_prefix(s, 6) == "ab\xf0\x9f\x98\x80");
  CHECK(nostr::utf8_prefix("\xc3\xa9\xc3\xa9", 3) == "\xc3\xa9");
}

TEST_CASE("JsonWriter nests objects and arrays with commas and no whitespace") {
  nostr::JsonWriter w;
  w.begin_object()
      .key("a")
      .uint(1)
      .key("b")
      .begin_array()
      .string("x")
      .integer(-5)
      .boolean(true)
      .null()
      .begin_object()
      .key("c")
      .boolean(false)
      .end_object()
      .end_array()
      .key("d")
      .begin_object()
      .end_object()
      .key("e")
      .begin_array()
      .end_array()
      .end_object();
  CHECK(w.take() == R"({"a":1,"b":["x",-5,true,null,{"c":false}],"d":{},"e":[]})");
}

TEST_CASE("JsonWriter escapes strings and keys, copies raw values verbatim") {
  nostr::JsonWriter w;
  w.begin_array()
      .string("a\"b\n")
      .raw(R"({"k":[1,2]})")
      .raw("3")
      .begin_array()
      .end_array()
      .end_array();
  CHECK(w.take() == R"(["a\"b\n",{"k":[1,2]},3,[]])");

  nostr::JsonWriter k;
  k.begin_object().key("q\"").string("\x01").end_object();
  CHECK(k.take() == "{\"q\\\"\":\"\\u0001\"}");
}

TEST_CASE("JsonWriter integers and scalars at the top level") {
  nostr::JsonWriter a;
  CHECK(a.integer(INT64_MIN).take() == "-9223372036854775808");
  nostr::JsonWriter b;
  CHECK(b.integer(0).take() == "0");
  nostr::JsonWriter c;
  CHECK(c.string("").take() == "\"\"");
  nostr::JsonWriter d;
  CHECK(d.begin_array()
            .begin_array()
            .end_array()
            .begin_array()
            .uint(7)
            .end_array()
            .end_array()
            .take() == "[[],[7]]");
}

TEST_CASE("JsonObjectWriter is a flat object over JsonWriter") {
  CHECK(nostr::JsonObjectWriter().finish() == "{}");
  CHECK(nostr::JsonObjectWriter()
            .string("s", "v\t")
            .uint("n", 42)
            .boolean("b", false)
            .raw("r", "[1]")
            .finish() == R"({"s":"v\t","n":42,"b":false,"r":[1]})");
}
