#include "durable/reply.h"

#include "core/relay_message.h"
#include "durable/relay_internal.h"

namespace nostr::durable {

using internal::Overloaded;

std::string message_text(const Reject& why) {
  return why.code == Code::ok ? std::string() : why.wire_message();
}

std::string wire_text(const Reply& r) {
  return std::visit(
      Overloaded{
          [](const OkReply& x) { return ok_message(x.id_hex, x.accepted, message_text(x.why)); },
          [](const EventReply& x) { return event_message(*x.sub, x.raw); },
          [](const EoseReply& x) { return eose_message(*x.sub); },
          [](const ClosedReply& x) { return closed_message(x.sub, x.why.wire_message()); },
          [](const NoticeReply& x) { return notice_message(x.why.wire_message()); },
          [](const CountReply& x) {
            return count_message(*x.sub, x.count, x.approximate, x.hll_hex);
          },
          [](const AuthReply& x) { return auth_message(x.challenge); },
      },
      r);
}

}  // namespace nostr::durable
