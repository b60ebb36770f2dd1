#include <doctest/doctest.h>

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
