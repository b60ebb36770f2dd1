#include "core/results.h"

namespace nostr {

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

BatchResult BatchResult::decode(bool ok, std::string_view bytes) {
  BatchResult r;
  if (!ok) return failed(bytes);
  if (!parse_results(bytes, r.sets)) return failed("malformed results");
  r.ok = true;
  return r;
}

}  // namespace nostr
