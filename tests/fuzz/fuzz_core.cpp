// libFuzzer target: client frame parsing (every message type), full event
// validation (id + signature + time), filter compilation, matching and the
// filter JSON round trip. Any crash, sanitizer report or broken invariant is a bug.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <variant>

#include "core/address.h"
#include "core/event.h"
#include "core/filter.h"
#include "core/message.h"
#include "core/relay_message.h"

namespace {

void check(bool cond) {
  if (!cond) std::abort();
}

void exercise_event(const nostr::Event& e, nostr::MessageParser& parser) {
  // The raw bytes the relay stores and serves are themselves a JSON object.
  simdjson::dom::element raw;
  check(parser.json().parse(std::string(e.raw())).get(raw) == simdjson::SUCCESS && raw.is_object());
  (void)nostr::verify_event(e);
  (void)nostr::check_event_time(e, parser.limits(), 1700000000);
  (void)e.d_tag();
  (void)e.expiration();
  (void)e.is_protected();
  // The canonical serialization is valid JSON that re-parses to the same values.
  const std::string canon = e.canonical_json();
  simdjson::dom::element el;
  check(parser.json().parse(canon).get(el) == simdjson::SUCCESS);
}

}  // namespace

// The address model: whatever parses has one canonical spelling that parses
// back to the same value; a relay URL's host never keeps user info.
void exercise_address(const std::string& text) {
  if (auto a = nostr::IpAddress::parse(text)) check(nostr::IpAddress::parse(a->str()) == a);
  if (auto r = nostr::AddressRange::parse(text)) {
    check(nostr::AddressRange::parse(r->str()) == r);
    if (auto a = nostr::IpAddress::parse(text.substr(0, text.find('/')))) check(r->contains(*a));
  }
  if (auto h = nostr::relay_url_host(text)) check(!h->empty() && h->find('@') == std::string::npos);
  (void)nostr::address_key(text);
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static nostr::MessageParser parser{nostr::Limits{}};
  const std::string frame(reinterpret_cast<const char*>(data), size);
  if (size < 400) exercise_address(frame);
  nostr::ParsedFrame r = parser.parse(frame, false);
  if (!r.ok()) {
    check(!r.error.reject.text.empty());
    // Every reply is a text frame: it must be valid JSON, hence valid UTF-8.
    const std::string notice = nostr::notice_message(r.error.reject.wire_message());
    simdjson::dom::element el;
    check(parser.json().parse(notice).get(el) == simdjson::SUCCESS);
    return 0;
  }
  nostr::ClientMessage& m = *r.message;
  if (auto* ev = std::get_if<nostr::EventMessage>(&m)) {
    exercise_event(ev->event, parser);
  } else if (auto* auth = std::get_if<nostr::AuthMessage>(&m)) {
    exercise_event(auth->event, parser);
  } else if (auto* req = std::get_if<nostr::ReqMessage>(&m)) {
    for (const auto& f : req->filters) {
      // Round trip: the persisted form compiles back to the same filter.
      const std::string json = f.to_json();
      auto again = nostr::CompiledFilter::parse(parser.json(), json, parser.limits());
      check(again.ok());
      check(again->to_json() == json);
      (void)f.matches_nothing();
      (void)f.effective_limit(parser.limits());
    }
    (void)nostr::eose_message(req->sub);
  }
  return 0;
}
