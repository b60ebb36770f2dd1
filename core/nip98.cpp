#include "core/nip98.h"

#include "core/hex.h"
#include "core/sha256.h"
#include "core/text.h"

namespace nostr {
namespace {

Reject unauthorized(std::string why) { return reject(Code::restricted, std::move(why)); }

int b64_value(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+' || c == '-') return 62;
  if (c == '/' || c == '_') return 63;
  return -1;
}

// An authorization event is small; anything bigger is not one.
constexpr size_t kMaxAuthHeader = 8192;

}  // namespace

bool base64_decode(std::string_view in, std::string& out) {
  while (!in.empty() && in.back() == '=') in.remove_suffix(1);
  if (in.size() % 4 == 1) return false;
  out.clear();
  out.reserve(in.size() * 3 / 4);
  uint32_t acc = 0;
  int bits = 0;
  for (char c : in) {
    const int v = b64_value(c);
    if (v < 0) return false;
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((acc >> bits) & 0xff));
    }
  }
  return true;
}

Result<VerifiedEvent> verify_http_auth(simdjson::dom::parser& parser, const HttpAuthCheck& c, std::string_view also_url) {
  if (c.authorization.empty()) return unauthorized("missing Authorization header (NIP-98 \"Nostr <base64 event>\")");
  if (c.authorization.size() > kMaxAuthHeader) return unauthorized("Authorization header is too large");
  constexpr std::string_view kScheme = "nostr ";
  if (c.authorization.size() <= kScheme.size() || ascii_lower(c.authorization.substr(0, kScheme.size())) != kScheme) {
    return unauthorized("Authorization scheme must be Nostr (NIP-98)");
  }
  std::string_view b64 = c.authorization.substr(kScheme.size());
  while (!b64.empty() && b64.front() == ' ') b64.remove_prefix(1);
  while (!b64.empty() && b64.back() == ' ') b64.remove_suffix(1);
  std::string json;
  if (!base64_decode(b64, json)) return unauthorized("Authorization is not valid base64");
  Limits limits;
  auto parsed = Event::parse(parser, json, limits);
  if (!parsed) return unauthorized("Authorization event is malformed: " + parsed.error().text);
  auto v = validate_event(std::move(parsed).value());
  if (!v) return unauthorized("Authorization event is not validly signed: " + v.error().text);
  const Event& e = v.value().event();
  if (e.kind() != kHttpAuthKind) return unauthorized("Authorization event must be kind 27235");
  const uint64_t t = e.created_at();
  if (t + c.window < c.now || t > c.now + c.window) {
    return unauthorized("Authorization event created_at is not within " + std::to_string(c.window) + " seconds of now");
  }
  std::string_view u, method, payload;
  bool has_u = false, has_method = false, has_payload = false;
  for (size_t i = 0; i < e.tag_count(); ++i) {
    const TagView tag = e.tag(i);
    if (tag.size() < 2) continue;
    if (tag[0] == "u" && !has_u) u = tag[1], has_u = true;
    if (tag[0] == "method" && !has_method) method = tag[1], has_method = true;
    if (tag[0] == "payload" && !has_payload) payload = tag[1], has_payload = true;
  }
  if (!has_u || (u != c.url && (also_url.empty() || u != also_url))) {
    return unauthorized("Authorization event u tag is not this URL (" + std::string(c.url) + ")");
  }
  if (!has_method || ascii_lower(method) != ascii_lower(c.method)) {
    return unauthorized("Authorization event method tag is not " + std::string(c.method));
  }
  const Digest32 body_hash = sha256(c.body);
  if (!has_payload || payload != to_hex(body_hash.data(), body_hash.size())) {
    return unauthorized("Authorization event payload tag is not the sha256 of the request body");
  }
  return v;
}

}  // namespace nostr
