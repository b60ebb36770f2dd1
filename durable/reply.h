// Reply: what the engine answers one connection (OK, EVENT, EOSE, CLOSED,
// NOTICE, COUNT, AUTH), typed until the host boundary. The engine hands each
// one to the connection's sink (Relay::reply): a WebSocket's sink writes it as
// the NIP-01 frame (wire_text); an HTTP API call's sink is its ApiCall
// (durable/api_call.h), which derives the HTTP status from the Reject code;
// an in-process client's is its ReplySink.
// Refusals carry their Reject, so nobody reads a message's prefix back.
// Views borrow: a Reply lives for the call it is passed to.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <variant>

#include "core/reject.h"
#include "core/types.h"

namespace nostr::durable {

// ["OK", id, accepted, message]. why.code == Code::ok: no message (""); an
// accepted duplicate carries Code::duplicate.
struct OkReply {
  std::string_view id_hex;  // as the client sent it (a refused frame's id may not be valid)
  bool accepted;
  Reject why;
};
struct EventReply {  // ["EVENT", sub, raw]: the stored or live event's exact bytes
  const SubId* sub;
  std::string_view raw;
};
struct EoseReply {
  const SubId* sub;
};
struct ClosedReply {  // the sub id as the client sent it (it may not be a valid SubId)
  std::string_view sub;
  Reject why;
};
struct NoticeReply {
  Reject why;
};
struct CountReply {  // NIP-45; hll_hex: the HyperLogLog registers, or empty
  const SubId* sub;
  uint64_t count;
  bool approximate;
  std::string_view hll_hex;
};
struct AuthReply {  // NIP-42 challenge
  std::string_view challenge;
};
using Reply =
    std::variant<OkReply, EventReply, EoseReply, ClosedReply, NoticeReply, CountReply, AuthReply>;

// Where the replies of an in-process client go (Relay::open_local: the import
// tool), as typed values instead of frames. Each Reply borrows for the call.
class ReplySink {
 public:
  virtual void on(const Reply& r) = 0;

 protected:
  ~ReplySink() = default;
};

// Returns "prefix: text", or "" for Code::ok (an OK true without a message).
std::string message_text(const Reject& why);
// Returns the reply as the JSON text frame a WebSocket client gets.
std::string wire_text(const Reply& r);

}  // namespace nostr::durable
