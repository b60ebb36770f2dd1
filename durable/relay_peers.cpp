// Relay: the engine's side of several relay objects (durable/peers.h): the
// name, events other objects forwarded, and the smaller summary's batch.
#include "durable/relay.h"
#include "durable/relay_internal.h"
#include "durable/relay_parts.h"

namespace nostr::durable {

using namespace internal;

void Relay::set_object_name(std::string_view name) {
  if (auto read = peers_.set_name(name, index_))
    out_.store(add_pending(Peers::SummariesRead{}), std::move(*read));
}

void Relay::deliver(std::string_view events, uint64_t now) {
  const Entry entry{*this, now};
  peers_.expire(now_);
  while (!events.empty()) {
    const size_t nl = events.find('\n');
    const std::string_view line = events.substr(0, nl);
    events = nl == std::string_view::npos ? std::string_view() : events.substr(nl + 1);
    if (line.empty()) continue;
    // Another object of this relay verified and stored it: parsed, not verified again.
    auto e = Event::parse(parser_.json(), line, config_.limits);
    if (!e.ok()) continue;
    const Event& ev = e.value();
    if (recent_.find(ev.id())) continue;  // fanned out here already
    if (ev.kind_class() == KindClass::regular) recent_.insert(ev.id(), ev.sig());
    ++metrics_.delivered_events;
    fan_out(ev, /*forwarded=*/true);
  }
}

void Relay::maybe_shrink_interest(uint64_t now) {
  if (auto shrink = peers_.on_timer(now, index_))
    out_.store(add_pending(shrink->first), std::move(shrink->second));
}

}  // namespace nostr::durable
