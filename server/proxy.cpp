#include "server/proxy.h"

#include <algorithm>
#include <vector>

#include "core/text.h"

namespace nostr::server {
namespace {

bool is_space(char c) { return c == ' ' || c == '\t'; }

std::string_view trim(std::string_view s) {
  while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
  return s;
}

// Comma-separated list elements, trimmed (empty ones kept: they are not addresses).
std::vector<std::string_view> split_list(std::string_view s) {
  std::vector<std::string_view> out;
  if (trim(s).empty()) return out;
  for (;;) {
    const size_t comma = s.find(',');
    out.push_back(trim(s.substr(0, comma)));
    if (comma == std::string_view::npos) return out;
    s.remove_prefix(comma + 1);
  }
}

// The last element of a comma-separated list ("" if none).
std::string_view last_element(std::string_view s) {
  const size_t comma = s.rfind(',');
  return trim(comma == std::string_view::npos ? s : s.substr(comma + 1));
}

// One RFC 7239 forwarded-element: the parameters this server reads.
struct ForwardedElement {
  std::optional<std::string> for_, host, proto;
};

// Parses a Forwarded header value: elements separated by ',', pairs by ';',
// each value a token or a quoted-string. A malformed element keeps what it
// had before the fault (usually nothing) and parsing resumes at the next ','
// outside quotes.
std::vector<ForwardedElement> parse_forwarded(std::string_view s) {
  std::vector<ForwardedElement> out;
  if (trim(s).empty()) return out;
  size_t i = 0;
  const size_t n = s.size();
  auto skip_ows = [&] {
    while (i < n && is_space(s[i])) ++i;
  };
  // Skips to just past the next ',' that is not inside a quoted-string.
  auto skip_element = [&] {
    bool quoted = false;
    for (; i < n; ++i) {
      if (quoted && s[i] == '\\') {
        ++i;
      } else if (s[i] == '"') {
        quoted = !quoted;
      } else if (!quoted && s[i] == ',') {
        ++i;
        return;
      }
    }
  };
  for (;;) {
    ForwardedElement el;
    bool bad = false;
    for (;;) {  // pairs
      skip_ows();
      if (i >= n || s[i] == ',') break;
      if (s[i] == ';') {
        ++i;
        continue;
      }
      const size_t name_start = i;
      while (i < n && s[i] != '=' && s[i] != ';' && s[i] != ',' && !is_space(s[i])) ++i;
      const std::string name = ascii_lower(s.substr(name_start, i - name_start));
      if (i >= n || s[i] != '=' || name.empty()) {
        bad = true;
        break;
      }
      ++i;  // '='
      std::string value;
      if (i < n && s[i] == '"') {
        ++i;
        bool closed = false;
        while (i < n) {
          const char c = s[i++];
          if (c == '"') {
            closed = true;
            break;
          }
          if (c == '\\' && i < n) {
            value += s[i++];
          } else {
            value += c;
          }
        }
        if (!closed) {
          bad = true;
          break;
        }
      } else {
        const size_t v = i;
        while (i < n && s[i] != ';' && s[i] != ',' && !is_space(s[i]) && s[i] != '"') ++i;
        value = std::string(s.substr(v, i - v));
      }
      std::optional<std::string>* slot = name == "for"     ? &el.for_
                                         : name == "host"  ? &el.host
                                         : name == "proto" ? &el.proto
                                                           : nullptr;
      if (slot && !*slot) *slot = std::move(value);  // a repeated parameter: the first counts
      skip_ows();
      if (i < n && s[i] != ';' && s[i] != ',') {
        bad = true;
        break;
      }
    }
    if (bad) {
      el.for_.reset();  // nothing from a malformed element is an address
      skip_element();
    } else if (i < n) {
      ++i;  // ','
    }
    out.push_back(std::move(el));
    if (i >= n) return out;
  }
}

bool port_text(std::string_view p) {
  if (p.empty() || p.size() > 64) return false;
  if (p.front() == '_') return true;  // an obfuscated port (RFC 7239 section 6.3)
  return p.size() <= 5 &&
         std::all_of(p.begin(), p.end(), [](char c) { return c >= '0' && c <= '9'; });
}

}  // namespace

std::optional<IpAddress> forwarded_node(std::string_view node) {
  node = trim(node);
  if (node.empty()) return std::nullopt;
  if (node.front() == '[') {  // "[v6]" or "[v6]:port"
    const size_t end = node.find(']');
    if (end == std::string_view::npos) return std::nullopt;
    const std::string_view rest = node.substr(end + 1);
    if (!rest.empty() && (rest.front() != ':' || !port_text(rest.substr(1)))) return std::nullopt;
    auto a = IpAddress::parse(node.substr(1, end - 1));
    return a;
  }
  if (auto a = IpAddress::parse(node)) return a;  // IPv4, or IPv6 without brackets
  // "v4:port" (one colon: an IPv6 address has at least two).
  const size_t colon = node.find(':');
  if (colon == std::string_view::npos || node.find(':', colon + 1) != std::string_view::npos)
    return std::nullopt;
  if (!port_text(node.substr(colon + 1))) return std::nullopt;
  auto a = IpAddress::parse(node.substr(0, colon));
  if (!a || !a->is_v4()) return std::nullopt;
  return a;
}

std::string client_address(std::string_view peer, std::string_view x_forwarded_for,
                           std::string_view forwarded, const AddressSet& trusted) {
  const auto p = IpAddress::parse(peer);
  if (!p) return std::string(peer);
  if (!trusted.contains(*p)) return p->str();
  // The hops the proxies recorded, left (farthest) to right (nearest).
  std::vector<std::optional<IpAddress>> hops;
  if (!trim(x_forwarded_for).empty()) {
    for (const std::string_view e : split_list(x_forwarded_for)) hops.push_back(forwarded_node(e));
  } else {
    for (const ForwardedElement& e : parse_forwarded(forwarded))
      hops.push_back(e.for_ ? forwarded_node(*e.for_) : std::nullopt);
  }
  IpAddress client = *p;
  for (auto it = hops.rbegin(); it != hops.rend(); ++it) {
    if (!*it) break;  // not an address: the last trusted hop is as far as we can tell
    client = **it;
    if (!trusted.contains(client)) break;
  }
  return client.str();
}

ClientView client_view(std::string_view peer, const ProxyHeaders& h, const AddressSet& trusted) {
  ClientView v;
  v.ip = client_address(peer, h.x_forwarded_for, h.forwarded, trusted);
  v.host = std::string(trim(h.host));
  const auto p = IpAddress::parse(peer);
  if (!p || !trusted.contains(*p)) return v;
  std::string host(last_element(h.x_forwarded_host));
  std::string proto(last_element(h.x_forwarded_proto));
  if (host.empty() || proto.empty()) {
    const std::vector<ForwardedElement> els = parse_forwarded(h.forwarded);
    if (!els.empty()) {
      if (host.empty() && els.back().host) host = *els.back().host;
      if (proto.empty() && els.back().proto) proto = *els.back().proto;
    }
  }
  if (!host.empty() && authority_host(host)) v.host = host;
  if (!proto.empty()) {
    const std::string lower = ascii_lower(trim(proto));
    v.https = lower == "https" || lower == "wss";
  }
  return v;
}

std::string request_origin(std::string_view relay_url, const ClientView& view) {
  if (const size_t se = relay_url.find("://"); se != std::string_view::npos) {
    const std::string scheme = ascii_lower(relay_url.substr(0, se));
    const std::string_view rest = relay_url.substr(se + 3);
    const std::string_view authority = rest.substr(0, rest.find_first_of("/?#"));
    return (scheme == "wss" || scheme == "https" ? "https://" : "http://") + std::string(authority);
  }
  if (view.host.empty()) return std::string();
  return (view.https ? "https://" : "http://") + view.host;
}

std::string request_url(std::string_view relay_url, const ClientView& view,
                        std::string_view target) {
  return request_origin(relay_url, view) + std::string(target);
}

}  // namespace nostr::server
