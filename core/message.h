// Client messages (NIP-01 EVENT/REQ/CLOSE, NIP-42 AUTH, NIP-45 COUNT, NIP-77
// NEG-*) parsed from one websocket text frame into typed values.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "core/event.h"
#include "core/filter.h"
#include "core/limits.h"
#include "core/reject.h"
#include "core/types.h"
#include "simdjson.h"

namespace nostr {

struct EventMessage {
  Event event;  // structure checked; id/sig NOT yet verified (see verify_event)
};
struct ReqMessage {
  SubId sub;
  std::vector<CompiledFilter> filters;  // 1..limits.max_filters
};
struct CountMessage {
  SubId sub;
  std::vector<CompiledFilter> filters;
};
struct CloseMessage {
  SubId sub;
};
struct AuthMessage {
  Event event;  // structure checked only
};
// NIP-77 negentropy. Sub ids are their own namespace (not REQ's).
// ["NEG-OPEN", sub, filter, hex]: the filter compiled, the message hex-decoded.
struct NegOpenMessage {
  SubId sub;
  CompiledFilter filter;
  std::vector<uint8_t> message;
};
// ["NEG-MSG", sub, hex]
struct NegMsgMessage {
  SubId sub;
  std::vector<uint8_t> message;
};
// ["NEG-CLOSE", sub]
struct NegCloseMessage {
  SubId sub;
};

using ClientMessage = std::variant<EventMessage, ReqMessage, CountMessage, CloseMessage, AuthMessage, NegOpenMessage,
                                   NegMsgMessage, NegCloseMessage>;

// How a refused frame must be answered.
enum class ReplyKind : uint8_t {
  notice,  // ["NOTICE", msg]: nothing to tie the error to
  ok,      // ["OK", event_id, false, msg]: an EVENT/AUTH whose id could be read
  closed,  // ["CLOSED", sub_id, msg]: a REQ/COUNT whose sub id is valid
  neg_err, // ["NEG-ERR", sub_id, msg]: a NEG-OPEN/NEG-MSG whose sub id is valid
};

struct MessageError {
  Reject reject;
  ReplyKind reply = ReplyKind::notice;
  std::string event_id;  // for ReplyKind::ok: the id string as sent (<= 64 chars)
  std::string sub_id;    // for ReplyKind::closed and neg_err
  // A refused REQ: an open subscription with sub_id ends (the client was told
  // CLOSED for that id, so nothing more may be delivered on it). With
  // ReplyKind::neg_err: the negentropy session sub_id ends.
  bool ends_subscription = false;
};

struct [[nodiscard]] ParsedFrame {
  std::optional<ClientMessage> message;  // set on success
  MessageError error;                    // meaningful only when !message
  bool ok() const { return message.has_value(); }
};

// Parses client frames. Owns a reusable simdjson parser whose depth limit is
// limits.max_json_depth, so arbitrarily deep input is refused without recursion.
class MessageParser {
 public:
  explicit MessageParser(const Limits& limits);
  MessageParser(const MessageParser&) = delete;
  MessageParser& operator=(const MessageParser&) = delete;

  // Parses one frame. If `padded`, frame.data() must be followed by at least
  // SIMDJSON_PADDING readable bytes (no copy is made); otherwise it is copied.
  // Results do not borrow from `frame`. A number no 64-bit integer or finite
  // double holds (2^64, 1e400) is read as null, so the frame is still answered
  // against its type and id (CLOSED / OK false) instead of a bare NOTICE.
  // A REQ or COUNT whose filters would cost more than `filter_budget` bytes
  // (CompiledFilter::estimate_cost) is refused "rate-limited:" before any
  // filter is compiled: compiling 10,000 values is the expensive part.
  ParsedFrame parse(std::string_view frame, bool padded, size_t filter_budget = SIZE_MAX);

  // The parser, for callers that parse standalone JSON (e.g. persisted filters).
  simdjson::dom::parser& json() { return *parser_; }
  const Limits& limits() const { return limits_; }

 private:
  Limits limits_;
  std::unique_ptr<simdjson::dom::parser> parser_;
};

// Returns a copy of `frame` in which every number token (outside strings) that
// fits neither a 64-bit integer nor a finite double is replaced by `null` and
// spaces (same length), or nullopt if there is none. Never produces a number.
std::optional<std::string> neutralize_huge_numbers(std::string_view frame);

// Returns the raw JSON text of the second element of a top-level array whose
// first element is a string, when that element is an object: the event in
// ["EVENT", {...}]. The frame must already be known to be a valid 2-element
// JSON array; every structural character skipped is checked, and anything
// unexpected (a byte order mark, a non-object) gives nullopt. Borrows `frame`.
std::optional<std::string_view> second_element_raw(std::string_view frame);

// Returns the frame that answers a refused client frame: OK false (EVENT),
// CLOSED (REQ/COUNT), or NOTICE, carrying err.reject's wire message.
std::string reply_for(const MessageError& err);

}  // namespace nostr
