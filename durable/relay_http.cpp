// The HTTP API (POST /api/v1/events, POST /api/v1/query, GET
// /api/v1/events/{id}): each call runs on an internal connection whose reply
// sink is its ApiCall (durable/api_call.h), so every rule a WebSocket client
// meets (policy, validation, rate limits, budgets, gift-wrap privacy) applies
// unchanged, and the typed replies become one HttpReply. An API call is not a
// connection: it is not counted, keeps no state and gets no live events.
#include <algorithm>

#include "core/address.h"
#include "durable/relay.h"
#include "durable/relay_internal.h"
#include "durable/relay_parts.h"

namespace nostr::durable {
namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() &&
         (s.front() == ' ' || s.front() == '\n' || s.front() == '\r' || s.front() == '\t'))
    s.remove_prefix(1);
  while (!s.empty() &&
         (s.back() == ' ' || s.back() == '\n' || s.back() == '\r' || s.back() == '\t'))
    s.remove_suffix(1);
  return s;
}

}  // namespace

void Relay::http_api(uint32_t request, std::string_view method, std::string_view path,
                     std::string_view body, const ConnMeta& meta, uint64_t now) {
  const Entry entry{*this, now};
  auto reply = [&](uint32_t status, std::string_view message) {
    out_.http_reply(request, status, http_error_json(message));
  };
  if (body.size() > config_.limits.max_message_length) {
    return reply(413, "invalid: the body is " + std::to_string(body.size()) + " bytes, limit is " +
                          std::to_string(config_.limits.max_message_length));
  }
  ApiCall::Kind kind = ApiCall::Kind::event;
  std::string frame;
  const std::string_view events = "/api/v1/events";
  if (method == "POST" && path == events) {
    frame = "[\"EVENT\"," + std::string(trim(body)) + "]";
  } else if (method == "POST" && path == "/api/v1/query") {
    const std::string_view b = trim(body);
    if (b.size() < 2 || b.front() != '[' || b.back() != ']' ||
        trim(b.substr(1, b.size() - 2)).empty()) {
      return reply(400, "invalid: the body must be a JSON array of one or more filters");
    }
    kind = ApiCall::Kind::query;
    frame = "[\"REQ\",\"api\"," + std::string(b.substr(1, b.size() - 2)) + "]";
  } else if (method == "GET" && path.substr(0, events.size() + 1) == "/api/v1/events/") {
    const std::string_view id = path.substr(events.size() + 1);
    if (!EventId::from_hex(id))
      return reply(400, "invalid: the event id must be 64 lowercase hex characters");
    kind = ApiCall::Kind::get;
    frame = "[\"REQ\",\"api\",{\"ids\":[\"" + std::string(id) + "\"]}]";
  } else {
    return reply(404, "no such API endpoint");
  }
  const std::string key = address_key(meta.ip);
  ApiSlots::Call call{request, static_cast<uint8_t>(kind), std::move(frame), meta};
  switch (api_slots_.admit(key, call, now)) {
    case ApiSlots::Admit::start:
      return start_api_call(key, std::move(call), now);  // Entry finishes what ended
    case ApiSlots::Admit::waiting:
      return;
    case ApiSlots::Admit::full:
      return reply(429, "rate-limited: too many API calls in progress, try again shortly");
    case ApiSlots::Admit::address_full:
      return reply(429,
                   "rate-limited: too many API calls in progress from this address, try again "
                   "shortly");
  }
}

void Relay::start_api_call(const std::string& key, ApiSlots::Call call, uint64_t now) {
  const auto kind = static_cast<ApiCall::Kind>(call.kind);
  // Policy's admission for the caller's address (a blocked address is refused
  // as its socket would be); API calls are bounded by ApiSlots, not by
  // limits.max_connections.
  if (auto refused = policy_.admit(call.meta, 0, 0)) {
    out_.http_reply(call.request, http_status(*refused), http_error_json(refused->wire_message()));
    return;
  }
  const ConnId conn = conns_.next_api_id();
  Connection& c = add_connection(conn, std::move(call.meta), now);
  c.api = std::make_unique<ApiCall>(call.request, kind);
  c.buckets = api_slots_.started(key, conn);  // the address's calls share one set of buckets
  dispatch(conn, c, call.frame, /*padded=*/false, now);
}

void Relay::finish_api_calls(uint64_t now) {
  while (!api_finished_.empty()) {
    // Finished calls: their reply, then their internal connection goes away
    // and waiting calls take the freed slots (and may finish at once too).
    std::vector<std::pair<ConnId, HttpReply>> finished = std::move(api_finished_);
    api_finished_.clear();
    for (auto& [conn, reply] : finished) {
      out_.http_reply(std::move(reply));
      forget(conn);
    }
    while (auto next = api_slots_.next()) start_api_call(next->first, std::move(next->second), now);
  }
}

}  // namespace nostr::durable
