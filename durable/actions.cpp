#include "durable/actions.h"

#include <cstring>

namespace nostr::durable {

void ActionWriter::u32(uint32_t v) {
  const char b[4] = {static_cast<char>(v), static_cast<char>(v >> 8), static_cast<char>(v >> 16),
                     static_cast<char>(v >> 24)};
  buf_.append(b, 4);
}

void ActionWriter::pad() {
  while (buf_.size() % 4) buf_.push_back('\0');
}

void ActionWriter::record(ActionType type, uint32_t a, uint32_t b, std::string_view payload) {
  u32(static_cast<uint32_t>(type));
  u32(a);
  u32(b);
  u32(static_cast<uint32_t>(payload.size()));
  buf_.append(payload);
  pad();
}

void ActionWriter::fanout(std::string_view raw, const std::vector<std::pair<uint32_t, std::string>>& targets) {
  u32(static_cast<uint32_t>(ActionType::fanout));
  u32(static_cast<uint32_t>(targets.size()));
  u32(0);
  const size_t len_at = buf_.size();
  u32(0);  // patched below
  const size_t start = buf_.size();
  u32(static_cast<uint32_t>(raw.size()));
  buf_.append(raw);
  pad();
  for (const auto& [conn, prefix] : targets) {
    u32(conn);
    u32(static_cast<uint32_t>(prefix.size()));
    buf_.append(prefix);
    pad();
  }
  const auto len = static_cast<uint32_t>(buf_.size() - start);
  std::memcpy(&buf_[len_at], &len, 4);  // wasm and x86 are little-endian
}

namespace {

bool read_u32(std::string_view& in, uint32_t& v) {
  if (in.size() < 4) return false;
  const auto* p = reinterpret_cast<const unsigned char*>(in.data());
  v = uint32_t{p[0]} | (uint32_t{p[1]} << 8) | (uint32_t{p[2]} << 16) | (uint32_t{p[3]} << 24);
  in.remove_prefix(4);
  return true;
}

}  // namespace

bool parse_results(std::string_view in, std::vector<ResultSet>& out) {
  out.clear();
  uint32_t n = 0;
  if (!read_u32(in, n)) return false;
  for (uint32_t s = 0; s < n; ++s) {
    ResultSet rs;
    if (!read_u32(in, rs.changes) || !read_u32(in, rs.rows) || !read_u32(in, rs.cols)) return false;
    const uint64_t cells = uint64_t{rs.rows} * rs.cols;
    if (cells > in.size()) return false;  // each cell takes at least 4 bytes
    rs.cells.reserve(cells);
    for (uint64_t c = 0; c < cells; ++c) {
      uint32_t len = 0;
      if (!read_u32(in, len)) return false;
      if (len == 0xffffffffu) {
        rs.cells.emplace_back(true, std::string_view());
        continue;
      }
      if (len > in.size()) return false;
      rs.cells.emplace_back(false, in.substr(0, len));
      in.remove_prefix(len);
    }
    out.push_back(std::move(rs));
  }
  return in.empty();
}

}  // namespace nostr::durable
