// Relay: what the engine does with the rate limiter's answers
// (durable/rate_limits.h): who is exempt (unlimited addresses, trusted
// pubkeys, administrators: Policy::rate_exempt, and only for a verified
// author), the refusal sent, and the connection closed past max_refusals.
#include "durable/relay.h"
#include "durable/relay_internal.h"
#include "durable/relay_parts.h"

namespace nostr::durable {

using namespace internal;

bool Relay::rate_event(ConnId conn, Connection& c, const Event& e, const Pubkey* verified_author,
                       uint64_t now) {
  // Only a verified author is exempt: a claimed administrator's pubkey on a
  // forged event is charged like any other (and its failure is a refusal).
  if (policy_.rate_exempt(view(c), verified_author)) return true;
  const auto why = rates_.charge_event(rate_client(conn, c), now);
  if (!why) return true;
  send_ok(conn, e.id(), false, *why);
  count_refusal(conn, c, now);
  return false;
}

void Relay::refund_exempt_author(ConnId conn, Connection& c, const Event& e, uint64_t now) {
  if (policy_.rate_exempt(view(c), nullptr) || !policy_.rate_exempt(view(c), &e.pubkey())) return;
  rates_.refund_event(rate_client(conn, c), now);
}

bool Relay::rate_event_author(ConnId conn, Connection& c, const Event& e, uint64_t now) {
  if (policy_.rate_exempt(view(c), &e.pubkey())) return true;
  const auto why = rates_.charge_author(rate_client(conn, c), e.pubkey(), now);
  if (!why) return true;
  send_ok(conn, e.id(), false, *why);
  count_refusal(conn, c, now);
  return false;
}

bool Relay::rate_req(ConnId conn, Connection& c, const SubId& sub, uint64_t now, bool neg) {
  if (policy_.rate_exempt(view(c), nullptr)) return true;
  const auto why = rates_.charge_req(rate_client(conn, c), c.authed, now);
  if (!why) return true;
  ++metrics_.reqs_refused;
  const std::string message = why->wire_message();
  log_refusal(conn, neg ? "NEG" : "REQ", message);
  if (neg) {
    negs_.fail(conn, sub.str(), message, out_);
  } else {
    reply(conn, ClosedReply{sub.str(), *why});
  }
  count_refusal(conn, c, now);
  return false;
}

void Relay::count_refusal(ConnId conn, Connection& c, uint64_t now, bool rate) {
  const auto why = rates_.refused(rate_client(conn, c), now, rate);
  if (!why) return;
  log_refusal(conn, "connection", why->wire_message());
  disconnect(conn, 1008, *why);
}

void Relay::flush_rate_state(uint64_t now) {
  for (const ConnId conn : rates_.on_timer(now, out_))
    if (auto* c = conns_.find(conn); c) attach_state(conn, *c);
}

}  // namespace nostr::durable
