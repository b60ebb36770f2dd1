// ApiCall: one HTTP API call in progress (Relay::http_api) and the reply sink
// of the internal connection it runs on. It collects a query's events (NDJSON,
// at most kMaxAnswer bytes; beyond that, 206 with what fits) and turns the
// reply that ends the call into one HttpReply, whose status comes from the
// Reject code (http_status), never from reading a message back.
// Live events are not part of an answer: a call is a snapshot of what was
// stored when it ran (the engine does not fan out to it).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

#include "core/reject.h"
#include "durable/action.h"
#include "durable/reply.h"

namespace nostr::durable {

// The HTTP status for a refusal: rate-limited 429; blocked, restricted,
// auth-required, pow 403; error 503; any other refusal 400.
uint32_t http_status(const Reject& why);
// Returns {"error": message} (the body of every refusal).
std::string http_error_json(std::string_view message);

class ApiCall {
 public:
  enum class Kind : uint8_t { event, query, get };
  static constexpr size_t kMaxAnswer = 512 * 1024;  // bytes of one query answer

  ApiCall(uint32_t request, Kind kind) : request_(request), kind_(kind) {}
  // Returns the call's HttpReply when `r` ends it: OK (an event), EOSE (a
  // query or get; a get with no event is 404), CLOSED or NOTICE (a refusal),
  // or an answer that outgrew kMaxAnswer. EVENT replies are collected; AUTH
  // and COUNT are not for the API and ignored. After the end: nullopt.
  [[nodiscard]] std::optional<HttpReply> on(const Reply& r);
  // The engine closed the call's connection because of `why`: its reply,
  // unless the call had ended already.
  [[nodiscard]] std::optional<HttpReply> on_close(const Reject& why);
  uint32_t request() const { return request_; }

 private:
  std::optional<HttpReply> finish(uint32_t status, std::string body);
  // Ends the call with `why`'s status and {"error": message}.
  std::optional<HttpReply> refuse(const Reject& why);

  uint32_t request_;
  Kind kind_;
  bool done_ = false;
  size_t events_ = 0;
  std::string body_;  // the answer so far
};

}  // namespace nostr::durable
