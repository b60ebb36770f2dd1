// Appends JSON text exactly as JavaScript's JSON.stringify writes it, which is
// what nostr-tools hashes: `"` and `\` escaped, \b \f \n \r \t short forms,
// other U+0000..U+001F as \u00xx (lowercase hex), everything else verbatim
// (U+007F, U+2028/2029, emoji). Input strings are already-unescaped UTF-8.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace nostr {

// Appends `s` as a quoted JSON string to out.
void append_json_string(std::string& out, std::string_view s);

// Returns the longest prefix of valid UTF-8 `s` that has at most `max_bytes`
// bytes and does not split a character (for quoting client input in replies:
// a text frame must be valid UTF-8). Borrows `s`.
std::string_view utf8_prefix(std::string_view s, size_t max_bytes);

// Appends a non-negative integer in decimal (JSON.stringify for safe integers).
void append_uint(std::string& out, uint64_t v);

// A streaming JSON writer with nesting: objects, arrays, keys and values in
// call order, commas inserted automatically, no whitespace. Strings (values
// and keys) go through append_json_string, numbers through append_uint, so
// the bytes are the ones the hand-written producers used to append. Misuse (a
// value where a key is due, unbalanced begin/end, nesting deeper than
// kMaxDepth, take() before the document is closed) is a caller bug: assert.
class JsonWriter {
 public:
  static constexpr int kMaxDepth = 64;

  JsonWriter& begin_object();
  JsonWriter& end_object();
  JsonWriter& begin_array();
  JsonWriter& end_array();
  // The next member's key, inside an object; the next call writes its value.
  JsonWriter& key(std::string_view k);
  JsonWriter& string(std::string_view v);
  JsonWriter& uint(uint64_t v);
  JsonWriter& integer(int64_t v);
  JsonWriter& boolean(bool v);
  JsonWriter& null();
  // `json` must already be one complete JSON value; it is copied verbatim.
  JsonWriter& raw(std::string_view json);
  // Returns the text written so far (every object and array closed); the
  // writer is spent.
  std::string take();

 private:
  void before_value();
  void open(char c, bool object);
  void close(char c, bool object);
  std::string out_;
  int depth_ = 0;
  uint64_t object_bits_ = 0;    // bit d: level d+1 is an object (else array)
  uint64_t nonempty_bits_ = 0;  // bit d: level d+1 already holds an element
  bool after_key_ = false;
};

// A flat JSON object written field by field, in call order: a convenience
// over JsonWriter. raw() values must already be JSON.
class JsonObjectWriter {
 public:
  JsonObjectWriter() { w_.begin_object(); }
  JsonObjectWriter& string(std::string_view key, std::string_view value);
  JsonObjectWriter& uint(std::string_view key, uint64_t value);
  JsonObjectWriter& boolean(std::string_view key, bool value);
  JsonObjectWriter& raw(std::string_view key, std::string_view json);
  // Returns the object's text; the writer is spent.
  std::string finish();

 private:
  JsonWriter w_;
};

}  // namespace nostr
