// Relay: the engine's side of management (durable/management.h): the state's
// effects on connections (closing what a ban or block no longer admits,
// listing and disconnecting connections) and on what waits for the state.
// Also the operator's read-outs: metrics, health, structured logs.
#include <algorithm>

#include "core/json_writer.h"
#include "core/text.h"
#include "durable/relay.h"
#include "durable/relay_internal.h"
#include "durable/relay_parts.h"

namespace nostr::durable {

using namespace internal;

void Relay::ManagementSink::store(Management::Ticket ticket, std::vector<SqlStatement> stmts) {
  const uint32_t token = std::visit(
      [&](auto&& t) { return relay.add_pending(std::forward<decltype(t)>(t)); }, std::move(ticket));
  relay.out_.store(token, std::move(stmts));
}

void Relay::maybe_check_management(uint64_t now) {
  if (!management_.check_due(now)) return;
  if (management_.loaded()) maintenance_.retry_vanish(MaintenanceSink(*this).self());
  management_.check(now, ManagementSink(*this).self());
}

void Relay::on_management_loaded(const BatchResult& r, uint64_t now) {
  switch (management_.on_loaded(r, now, ManagementSink(*this).self())) {
    case Management::Loaded::kept:
      return;
    case Management::Loaded::failed:
      // Without the state bans cannot be enforced: refuse what waits (transiently).
      while (!writes_.waiting().empty()) {
        PendingStore p = std::move(writes_.waiting().front());
        writes_.waiting().pop_front();
        on_store_done(p, std::nullopt);
      }
      return;
    case Management::Loaded::first:
      // Once per object life: requests a restart interrupted.
      maintenance_.vanish(MaintenanceSink(*this).self());
      [[fallthrough]];
    case Management::Loaded::reloaded:
      enforce_management();
      flush_writes();
      return;
  }
}

void Relay::enforce_management() {
  std::vector<ConnId> blocked;
  for (const auto& [conn, c] : conns_) {
    if (management_.state().ip_blocked(config_, c.meta.ip)) blocked.push_back(conn);
  }
  for (const ConnId conn : blocked) {
    disconnect(conn, 1008, reject(Code::blocked, "connections from this address are not accepted"));
  }
}

void Relay::http_admin(uint32_t request, std::string_view url, std::string_view authorization,
                       std::string_view body, uint64_t now) {
  const Entry entry{*this, now};
  management_.request(request, url, authorization, body, now, ManagementSink(*this).self());
}

void Relay::on_admin_done(Management::Done done) {
  const AdminRequest& r = done.req;
  std::string result = "true";
  if (r.changes_state()) {
    if (r.method == AdminMethod::banevent && r.event) recent_.erase(*r.event);
    if (r.method == AdminMethod::blockip) enforce_management();
  } else if (r.method == AdminMethod::listconnections) {
    std::vector<ConnId> ids;
    for (const auto& [conn, c] : conns_)
      if (!c.api) ids.push_back(conn);  // API calls are not connections
    std::sort(ids.begin(), ids.end());
    JsonWriter w;
    w.begin_array();
    for (const ConnId conn : ids) {
      const Connection& c = conns_.at(conn);
      w.begin_object();
      w.key("id").uint(conn);
      w.key("ip").string(c.meta.ip);
      w.key("user_agent").string(c.meta.user_agent);
      w.key("pubkeys").begin_array();
      for (const Pubkey& pk : c.authed) w.string(pk.hex());
      w.end_array();
      w.key("subscriptions").uint(c.subs.size());
      w.end_object();
    }
    w.end_array();
    result = w.take();
  } else if (r.method == AdminMethod::disconnect) {
    const Reject why =
        reject(Code::blocked, "disconnected by the relay operator" +
                                  (r.reason.empty() ? std::string() : ": " + r.reason));
    result = std::to_string(disconnect_where(r.target, r.text, why));
  }
  management_.reply(done.request, 200, admin_result(result), ManagementSink(*this).self());
}

size_t Relay::disconnect_where(const std::string& target, const std::string& value,
                               const Reject& why) {
  std::vector<ConnId> hit;
  uint64_t id = 0;
  const bool by_id = target == "connection" && parse_decimal(value, id);
  const auto pk = target == "pubkey" ? Pubkey::from_hex(value) : std::nullopt;
  AddressSet ips;  // "ip": an address or a range (core/address.h)
  if (auto r = target == "ip" ? AddressRange::parse(value) : std::nullopt) ips.add(*r);
  for (const auto& [conn, c] : conns_) {
    if ((by_id && conn == id) || ips.contains(c.meta.ip) || (pk && view(c).is_authed(*pk))) {
      hit.push_back(conn);
    }
  }
  for (const ConnId conn : hit) disconnect(conn, 1008, why);
  return hit.size();
}

std::string Relay::metrics_text(uint64_t memory_bytes) const {
  size_t pending_events = 0;
  for (const auto& [id, c] : conns_) pending_events += c.pending_events;
  return render_metrics(
      metrics_, Gauges{sockets(), subs_.size(), memory_bytes, out_.frames(), pending_events});
}

void Relay::health_fields(JsonWriter& w) const {
  w.key("connections").uint(sockets());
  w.key("subscriptions").uint(subs_.size());
  w.key("events_accepted").uint(metrics_.events_accepted);
  w.key("management_loaded").boolean(management_.loaded());
  w.key("maintenance").boolean(!management_.state().maintenance.empty());
}

std::string Relay::health_json() const {
  JsonWriter w;
  w.begin_object();
  health_fields(w);
  w.end_object();
  return w.take();
}

std::string Relay::health_report(bool store_answers, std::string_view error) const {
  JsonWriter w;
  w.begin_object();
  w.key("ok").boolean(store_answers);
  w.key("d1").boolean(store_answers);
  health_fields(w);
  if (!error.empty()) w.key("error").string(error);
  w.end_object();
  return w.take();
}

void Relay::log_json(std::string line) { ops_log_.line(std::move(line), now_, out_); }

void Relay::log_refusal(ConnId conn, std::string_view what, std::string_view reason) {
  JsonObjectWriter w;
  w.string("level", "info").string("msg", "refused").string("what", what).uint("conn", conn);
  if (auto* c = conns_.find(conn); c && !c->meta.ip.empty()) w.string("ip", c->meta.ip);
  w.string("reason", utf8_prefix(reason, 300));
  log_json(w.finish());
}

}  // namespace nostr::durable
