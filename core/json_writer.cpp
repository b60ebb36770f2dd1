#include "core/json_writer.h"

#include <cassert>
#include <utility>

#include "core/hex.h"

namespace nostr {

void append_json_string(std::string& out, std::string_view s) {
  out.reserve(out.size() + s.size() + 2);
  out.push_back('"');
  size_t run_start = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c >= 0x20 && c != '"' && c != '\\') continue;
    out.append(s.data() + run_start, i - run_start);
    run_start = i + 1;
    switch (c) {
      case '"': out.append("\\\""); break;
      case '\\': out.append("\\\\"); break;
      case '\b': out.append("\\b"); break;
      case '\f': out.append("\\f"); break;
      case '\n': out.append("\\n"); break;
      case '\r': out.append("\\r"); break;
      case '\t': out.append("\\t"); break;
      default: {
        char esc[6] = {'\\', 'u', '0', '0', 0, 0};
        encode_hex(&c, 1, esc + 4);
        out.append(esc, 6);
      }
    }
  }
  out.append(s.data() + run_start, s.size() - run_start);
  out.push_back('"');
}

std::string_view utf8_prefix(std::string_view s, size_t max_bytes) {
  if (s.size() <= max_bytes) return s;
  size_t n = max_bytes;
  // Back up over continuation bytes (10xxxxxx) to the start of a character.
  while (n > 0 && (static_cast<unsigned char>(s[n]) & 0xc0) == 0x80) --n;
  return s.substr(0, n);
}

void append_uint(std::string& out, uint64_t v) {
  char buf[20];
  int n = 0;
  do {
    buf[n++] = static_cast<char>('0' + v % 10);
    v /= 10;
  } while (v != 0);
  while (n > 0) out.push_back(buf[--n]);
}

void JsonWriter::before_value() {
  if (after_key_) {
    after_key_ = false;
    return;
  }
  if (depth_ == 0) {
    assert(out_.empty() && "JsonWriter: one top-level value only");
    return;
  }
  const uint64_t bit = uint64_t{1} << (depth_ - 1);
  assert(!(object_bits_ & bit) && "JsonWriter: object member needs key() first");
  if (nonempty_bits_ & bit) out_ += ',';
  nonempty_bits_ |= bit;
}

void JsonWriter::open(char c, bool object) {
  before_value();
  assert(depth_ < kMaxDepth && "JsonWriter: nesting too deep");
  const uint64_t bit = uint64_t{1} << depth_;
  ++depth_;
  if (object) {
    object_bits_ |= bit;
  } else {
    object_bits_ &= ~bit;
  }
  nonempty_bits_ &= ~bit;
  out_ += c;
}

void JsonWriter::close(char c, [[maybe_unused]] bool object) {
  assert(depth_ > 0 && !after_key_ && "JsonWriter: unbalanced end");
  assert(((object_bits_ >> (depth_ - 1)) & 1) == (object ? 1u : 0u) &&
         "JsonWriter: mismatched end");
  --depth_;
  out_ += c;
}

JsonWriter& JsonWriter::begin_object() {
  open('{', true);
  return *this;
}

JsonWriter& JsonWriter::end_object() {
  close('}', true);
  return *this;
}

JsonWriter& JsonWriter::begin_array() {
  open('[', false);
  return *this;
}

JsonWriter& JsonWriter::end_array() {
  close(']', false);
  return *this;
}

JsonWriter& JsonWriter::key(std::string_view k) {
  assert(depth_ > 0 && !after_key_ && "JsonWriter: key() outside an object");
  const uint64_t bit = uint64_t{1} << (depth_ - 1);
  assert((object_bits_ & bit) && "JsonWriter: key() inside an array");
  if (nonempty_bits_ & bit) out_ += ',';
  nonempty_bits_ |= bit;
  append_json_string(out_, k);
  out_ += ':';
  after_key_ = true;
  return *this;
}

JsonWriter& JsonWriter::string(std::string_view v) {
  before_value();
  append_json_string(out_, v);
  return *this;
}

JsonWriter& JsonWriter::uint(uint64_t v) {
  before_value();
  append_uint(out_, v);
  return *this;
}

JsonWriter& JsonWriter::integer(int64_t v) {
  before_value();
  if (v < 0) {
    out_ += '-';
    // Negate in unsigned arithmetic so INT64_MIN does not overflow.
    append_uint(out_, uint64_t{0} - static_cast<uint64_t>(v));
  } else {
    append_uint(out_, static_cast<uint64_t>(v));
  }
  return *this;
}

JsonWriter& JsonWriter::boolean(bool v) {
  before_value();
  out_ += v ? "true" : "false";
  return *this;
}

JsonWriter& JsonWriter::null() {
  before_value();
  out_ += "null";
  return *this;
}

JsonWriter& JsonWriter::raw(std::string_view json) {
  before_value();
  out_ += json;
  return *this;
}

std::string JsonWriter::take() {
  assert(depth_ == 0 && !after_key_ && "JsonWriter: take() before the document is closed");
  return std::move(out_);
}

JsonObjectWriter& JsonObjectWriter::string(std::string_view k, std::string_view value) {
  w_.key(k).string(value);
  return *this;
}

JsonObjectWriter& JsonObjectWriter::uint(std::string_view k, uint64_t value) {
  w_.key(k).uint(value);
  return *this;
}

JsonObjectWriter& JsonObjectWriter::boolean(std::string_view k, bool value) {
  w_.key(k).boolean(value);
  return *this;
}

JsonObjectWriter& JsonObjectWriter::raw(std::string_view k, std::string_view json) {
  w_.key(k).raw(json);
  return *this;
}

std::string JsonObjectWriter::finish() {
  w_.end_object();
  return w_.take();
}

}  // namespace nostr
