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

// A JSON object written field by field, in call order. Keys are the caller's
// own ASCII names (written as given); string values are escaped; raw() values
// must already be JSON.
class JsonObjectWriter {
 public:
  JsonObjectWriter& string(std::string_view key, std::string_view value);
  JsonObjectWriter& uint(std::string_view key, uint64_t value);
  JsonObjectWriter& boolean(std::string_view key, bool value);
  JsonObjectWriter& raw(std::string_view key, std::string_view json);
  // Returns the object's text; the writer is spent.
  std::string finish();

 private:
  void key(std::string_view k);
  std::string out_ = "{";
};

}  // namespace nostr
