#include "core/address.h"

#include <algorithm>
#include <cassert>

#include "core/text.h"

namespace nostr {
namespace {

constexpr std::array<uint8_t, 12> kMappedPrefix = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

// Parses "a.b.c.d" (each 0-255, no leading zeros beyond "0") into out[0..3].
bool parse_v4(std::string_view s, uint8_t* out) {
  size_t part = 0;
  size_t i = 0;
  while (part < 4) {
    if (i >= s.size() || s[i] < '0' || s[i] > '9') return false;
    uint32_t v = 0;
    const size_t start = i;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') {
      v = v * 10 + static_cast<uint32_t>(s[i] - '0');
      if (v > 255 || i - start >= 3) return false;
      ++i;
    }
    if (i - start > 1 && s[start] == '0') return false;  // "01": octal to some parsers
    out[part++] = static_cast<uint8_t>(v);
    if (part < 4) {
      if (i >= s.size() || s[i] != '.') return false;
      ++i;
    }
  }
  return i == s.size();
}

int hex_value(char c) {
  return c >= '0' && c <= '9'   ? c - '0'
         : c >= 'a' && c <= 'f' ? c - 'a' + 10
         : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                : -1;
}

// Parses colon-separated groups (with an optional IPv4 tail when `tail_ok`)
// into 16-bit values; `v4` receives the tail's 4 bytes.
bool parse_groups(std::string_view s, std::vector<uint16_t>& out, bool tail_ok, bool& has_v4,
                  uint8_t* v4) {
  if (s.empty()) return true;
  size_t pos = 0;
  for (;;) {
    size_t end = s.find(':', pos);
    const bool last = end == std::string_view::npos;
    if (last) end = s.size();
    const std::string_view g = s.substr(pos, end - pos);
    if (last && tail_ok && g.find('.') != std::string_view::npos) {
      if (!parse_v4(g, v4)) return false;
      has_v4 = true;
      return true;
    }
    if (g.empty() || g.size() > 4) return false;
    uint32_t v = 0;
    for (const char c : g) {
      const int h = hex_value(c);
      if (h < 0) return false;
      v = v * 16 + static_cast<uint32_t>(h);
    }
    out.push_back(static_cast<uint16_t>(v));
    if (last) return true;
    pos = end + 1;
  }
}

}  // namespace

std::optional<IpAddress> IpAddress::parse(std::string_view s) {
  if (s.size() >= 2 && s.front() == '[' && s.back() == ']') s = s.substr(1, s.size() - 2);
  if (s.empty() || s.size() > 64) return std::nullopt;
  IpAddress a;
  if (s.find(':') == std::string_view::npos) {
    std::copy(kMappedPrefix.begin(), kMappedPrefix.end(), a.bytes_.begin());
    if (!parse_v4(s, a.bytes_.data() + 12)) return std::nullopt;
    return a;
  }
  if (const size_t zone = s.find('%'); zone != std::string_view::npos) {
    if (zone + 1 == s.size()) return std::nullopt;
    s = s.substr(0, zone);
  }
  std::vector<uint16_t> head, tail;
  bool has_v4 = false;
  uint8_t v4[4] = {};
  const size_t gap = s.find("::");
  if (gap == std::string_view::npos) {
    if (!parse_groups(s, head, true, has_v4, v4) || head.size() + (has_v4 ? 2 : 0) != 8)
      return std::nullopt;
  } else {
    if (s.find("::", gap + 1) != std::string_view::npos) return std::nullopt;
    if (!parse_groups(s.substr(0, gap), head, false, has_v4, v4)) return std::nullopt;
    if (!parse_groups(s.substr(gap + 2), tail, true, has_v4, v4)) return std::nullopt;
    if (head.size() + tail.size() + (has_v4 ? 2 : 0) > 7) return std::nullopt;
  }
  std::vector<uint16_t> groups = head;
  groups.resize(8 - tail.size() - (has_v4 ? 2 : 0), 0);
  groups.insert(groups.end(), tail.begin(), tail.end());
  for (size_t i = 0; i < groups.size(); ++i) {
    a.bytes_[2 * i] = static_cast<uint8_t>(groups[i] >> 8);
    a.bytes_[2 * i + 1] = static_cast<uint8_t>(groups[i] & 0xff);
  }
  if (has_v4) std::copy(v4, v4 + 4, a.bytes_.begin() + 12);
  return a;
}

IpAddress IpAddress::masked(uint32_t bits) const {
  IpAddress m = *this;
  for (size_t i = 0; i < 16; ++i) {
    const uint32_t keep = bits >= 8 * (i + 1) ? 8 : bits > 8 * i ? bits - 8 * i : 0;
    m.bytes_[i] = static_cast<uint8_t>(keep == 0 ? 0 : m.bytes_[i] & (0xff << (8 - keep)));
  }
  return m;
}

bool IpAddress::is_v4() const {
  return std::equal(kMappedPrefix.begin(), kMappedPrefix.end(), bytes_.begin());
}

std::string IpAddress::str() const {
  if (is_v4()) {
    return std::to_string(bytes_[12]) + "." + std::to_string(bytes_[13]) + "." +
           std::to_string(bytes_[14]) + "." + std::to_string(bytes_[15]);
  }
  uint16_t g[8];
  for (size_t i = 0; i < 8; ++i)
    g[i] = static_cast<uint16_t>(bytes_[2 * i] << 8 | bytes_[2 * i + 1]);
  // RFC 5952: the longest run (at least two) of zero groups, the first on ties.
  size_t best = 8, best_len = 0;
  for (size_t i = 0; i < 8;) {
    if (g[i] != 0) {
      ++i;
      continue;
    }
    size_t j = i;
    while (j < 8 && g[j] == 0) ++j;
    if (j - i > best_len && j - i >= 2) best = i, best_len = j - i;
    i = j;
  }
  static const char* kHex = "0123456789abcdef";
  auto group = [](uint16_t v) {
    std::string h;
    do {
      h.insert(h.begin(), kHex[v & 15]);
      v = static_cast<uint16_t>(v >> 4);
    } while (v);
    return h;
  };
  std::string out;
  for (size_t i = 0; i < 8; ++i) {
    if (i == best) {
      out += "::";
      i += best_len - 1;
      continue;
    }
    if (!out.empty() && out.back() != ':') out += ':';
    out += group(g[i]);
  }
  return out;
}

std::optional<AddressRange> AddressRange::parse(std::string_view s) {
  const size_t slash = s.find('/');
  auto addr = IpAddress::parse(s.substr(0, slash));
  if (!addr) return std::nullopt;
  AddressRange r = of(*addr);
  if (slash == std::string_view::npos) return r;
  const std::string_view p = s.substr(slash + 1);
  if (p.empty() || p.size() > 3 || (p.size() > 1 && p[0] == '0')) return std::nullopt;
  uint32_t bits = 0;
  for (const char c : p) {
    if (c < '0' || c > '9') return std::nullopt;
    bits = bits * 10 + static_cast<uint32_t>(c - '0');
  }
  if (s.substr(0, slash).find(':') == std::string_view::npos) {  // an IPv4 prefix counts IPv4 bits
    if (bits > 32) return std::nullopt;
    bits += 96;
  } else if (bits > 128) {
    return std::nullopt;
  }
  r.bits_ = static_cast<uint8_t>(bits);
  // Clear the host bits: the range is its network.
  r.base_ = addr->masked(bits);
  return r;
}

AddressRange AddressRange::of(const IpAddress& a) {
  AddressRange r;
  r.base_ = a;
  r.bits_ = 128;
  return r;
}

bool AddressRange::contains(const IpAddress& a) const {
  const auto& x = base_.bytes();
  const auto& y = a.bytes();
  uint32_t bits = bits_;
  for (size_t i = 0; i < 16 && bits > 0; ++i) {
    const uint32_t n = std::min<uint32_t>(bits, 8);
    const auto mask = static_cast<uint8_t>(0xff << (8 - n));
    if ((x[i] & mask) != (y[i] & mask)) return false;
    bits -= n;
  }
  return true;
}

std::string AddressRange::str() const {
  if (bits_ == 128) return base_.str();
  const bool v4 = base_.is_v4() && bits_ >= 96;
  return base_.str() + "/" + std::to_string(v4 ? bits_ - 96 : bits_);
}

AddressSet::AddressSet(std::initializer_list<std::string_view> ranges) {
  for (const std::string_view text : ranges) {
    auto r = AddressRange::parse(text);
    assert(r && "AddressSet: not an address or range");
    if (r) add(*r);
  }
}

void AddressSet::add(const AddressRange& r) {
  if (std::find(ranges_.begin(), ranges_.end(), r) == ranges_.end()) ranges_.push_back(r);
}

bool AddressSet::remove(const AddressRange& r) {
  auto it = std::find(ranges_.begin(), ranges_.end(), r);
  if (it == ranges_.end()) return false;
  ranges_.erase(it);
  return true;
}

bool AddressSet::contains(const IpAddress& a) const {
  return std::any_of(ranges_.begin(), ranges_.end(),
                     [&](const AddressRange& r) { return r.contains(a); });
}

bool AddressSet::contains(std::string_view text) const {
  if (ranges_.empty()) return false;
  auto a = IpAddress::parse(text);
  return a && contains(*a);
}

std::string address_key(std::string_view ip) {
  auto a = IpAddress::parse(ip);
  if (!a) return std::string(ip);
  if (a->is_v4()) return a->str();
  auto net = AddressRange::parse(a->str() + "/64");
  return net ? net->str() : a->str();
}

std::optional<std::string> authority_host(std::string_view a) {
  if (a.empty() || a.size() > 300 || a.find('@') != std::string_view::npos) return std::nullopt;
  auto digits = [](std::string_view p) {
    return !p.empty() && p.size() <= 5 &&
           std::all_of(p.begin(), p.end(), [](char ch) { return ch >= '0' && ch <= '9'; });
  };
  if (a.front() == '[') {  // an IPv6 literal, then an optional port
    const size_t end = a.find(']');
    const auto ip =
        end == std::string_view::npos ? std::nullopt : IpAddress::parse(a.substr(0, end + 1));
    if (!ip) return std::nullopt;
    const std::string_view rest = a.substr(end + 1);
    if (!rest.empty() && (rest.front() != ':' || !digits(rest.substr(1)))) return std::nullopt;
    return "[" + ip->str() + "]";  // one spelling per address
  }
  const size_t colon = a.find(':');
  std::string_view host = a.substr(0, colon);
  if (colon != std::string_view::npos && !digits(a.substr(colon + 1))) return std::nullopt;
  if (!host.empty() && host.back() == '.') host.remove_suffix(1);  // "example.com." is example.com
  // A DNS name or IPv4 address: letters, digits, '-', '.', no empty label.
  const bool ok = std::all_of(host.begin(), host.end(), [](char ch) {
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
           ch == '-' || ch == '.';
  });
  if (host.empty() || !ok || host.front() == '.' || host.find("..") != std::string_view::npos)
    return std::nullopt;
  return ascii_lower(host);
}

std::optional<std::string> relay_url_host(std::string_view url) {
  const size_t scheme_end = url.find("://");
  if (scheme_end == std::string_view::npos) return std::nullopt;
  const std::string scheme = ascii_lower(url.substr(0, scheme_end));
  if (scheme != "ws" && scheme != "wss" && scheme != "http" && scheme != "https")
    return std::nullopt;
  url.remove_prefix(scheme_end + 3);
  // The authority ends at the first '/', '?' or '#'; an '@' before that is
  // user info ("wss://relay.example.com:1@evil.example/" names evil.example).
  return authority_host(url.substr(0, url.find_first_of("/?#")));
}

}  // namespace nostr
