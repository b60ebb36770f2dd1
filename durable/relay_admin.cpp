// Relay: management. The NIP-86 state is loaded from the store at start and
// re-read when its version changes; NIP-86 requests (authorised by NIP-98
// from an ADMIN_PUBKEYS key) change it through one store batch each and act on
// this object at once (closing connections a ban or block no longer admits).
// Also the operator's read-outs: metrics, health, structured logs.
#include <algorithm>

#include "core/json_writer.h"
#include "core/relay_message.h"
#include "core/text.h"
#include "durable/relay.h"
#include "durable/relay_internal.h"

namespace nostr::durable {

using namespace internal;

namespace {

// How often an active object asks whether the management state changed, and
// retries a load that failed.
constexpr uint64_t kMgmtCheck = 5;
// Management requests queued while the state loads, and in flight.
constexpr size_t kMaxWaitingAdmin = 8;
constexpr size_t kMaxAdminInFlight = 8;
// Structured log lines per second; the rest are counted and summarised.

}  // namespace

void Relay::load_management() {
  mgmt_busy_ = true;
  std::vector<SqlStatement> stmts = plan_management_load(now_);
  // Once per object life: the search index's kinds follow the configuration.
  if (!mgmt_loaded_) {
    for (SqlStatement& st : plan_search_kinds(config_.search_kinds)) stmts.push_back(std::move(st));
  }
  out_.store(add_pending(PendingMgmtLoad{}), batch_json(stmts));
}

uint64_t Relay::management_retry_at() const {
  if (mgmt_loaded_ || mgmt_busy_ || (write_queue_.empty() && waiting_admin_.empty())) return 0;
  return mgmt_checked_at_ + kMgmtCheck;
}

void Relay::maybe_check_management(uint64_t now) {
  if (mgmt_busy_ || now < mgmt_checked_at_ + kMgmtCheck) return;
  mgmt_checked_at_ = now;
  if (!mgmt_loaded_) return load_management();
  if (vanish_again_ && !vanish_in_flight_) start_vanish();
  mgmt_busy_ = true;
  out_.store(add_pending(PendingMgmtVersion{}), batch_json({plan_management_version()}));
}

void Relay::on_management_version(bool ok, std::string_view results) {
  mgmt_busy_ = false;
  std::vector<ResultSet> rs;
  uint64_t version = 0;
  if (!ok || !parse_results(results, rs) || rs.size() != 1 || rs[0].rows != 1 || rs[0].cols != 1 ||
      !parse_decimal(rs[0].cell(0, 0), version)) {
    return log_json(JsonObjectWriter()
                        .string("level", "error")
                        .string("msg", "management version check failed")
                        .finish());
  }
  if (version != mgmt_.version) load_management();
}

void Relay::on_management_loaded(bool ok, std::string_view results, uint64_t now) {
  mgmt_busy_ = false;
  std::vector<ResultSet> rs;
  ManagementState loaded;
  if (!ok || !parse_results(results, rs) || !parse_management(rs, loaded)) {
    log_json(
        JsonObjectWriter()
            .string("level", "error")
            .string("msg",
                    "management state could not be loaded (are migrations 0005 and 0006 applied?)")
            .string("detail", utf8_prefix(results, 300))
            .finish());
    if (mgmt_loaded_) return;  // keep the state we have; the next check retries
    // Without it bans cannot be enforced: refuse what waits (transiently).
    mgmt_checked_at_ = now;
    while (!write_queue_.empty()) {
      PendingStore p = std::move(write_queue_.front());
      write_queue_.pop_front();
      on_store_done(p, std::nullopt);
    }
    for (const WaitingAdmin& w : waiting_admin_)
      admin_reply(w.request, 503, admin_error("error: management state unavailable, try again"));
    waiting_admin_.clear();
    return;
  }
  // NIP-98 ids accepted meanwhile are not lost with the reload.
  loaded.auth_ids.insert(mgmt_.auth_ids.begin(), mgmt_.auth_ids.end());
  const bool first = !mgmt_loaded_;
  mgmt_ = std::move(loaded);
  mgmt_loaded_ = true;
  // Once per object life: continue requests to vanish a restart interrupted.
  if (first) start_vanish();
  enforce_management();
  if (!write_in_flight_) flush_writes();
  std::deque<WaitingAdmin> waiting = std::move(waiting_admin_);
  waiting_admin_.clear();
  for (const WaitingAdmin& w : waiting) run_admin(w.request, w.url, w.authorization, w.body, now);
}

void Relay::enforce_management() {
  std::vector<uint32_t> blocked;
  for (const auto& [conn, c] : conns_) {
    if (mgmt_.ip_blocked(config_, c.meta.ip)) blocked.push_back(conn);
  }
  for (const uint32_t conn : blocked) {
    const std::string why = "blocked: connections from this address are not accepted";
    out_.send(conn, notice_message(why));
    out_.close(conn, 1008, why);
    close(conn);
  }
}

void Relay::admin_reply(uint32_t request, uint32_t status, std::string body) {
  if (status == 401) ++metrics_.admin_refused;
  out_.http_reply(request, status, std::move(body));
}

void Relay::http_admin(uint32_t request, std::string_view url, std::string_view authorization,
                       std::string_view body, uint64_t now) {
  const Entry entry{*this, now};
  ++metrics_.admin_requests;
  if (config_.admin_pubkeys.empty()) {
    return admin_reply(
        request, 404,
        admin_error("the management API is disabled: no ADMIN_PUBKEYS are configured"));
  }
  if (body.size() > kMaxAdminBody) {
    return admin_reply(
        request, 413,
        admin_error("request body is larger than " + std::to_string(kMaxAdminBody) + " bytes"));
  }
  if (!mgmt_loaded_) {
    if (waiting_admin_.size() >= kMaxWaitingAdmin) {
      return admin_reply(request, 503,
                         admin_error("error: management state is loading, try again"));
    }
    waiting_admin_.push_back(
        WaitingAdmin{request, std::string(url), std::string(authorization), std::string(body)});
    maybe_check_management(now);
    return;
  }
  run_admin(request, url, authorization, body, now);
}

void Relay::run_admin(uint32_t request, std::string_view url, std::string_view authorization,
                      std::string_view body, uint64_t now) {
  auto auth = authorize_admin(admin_parser_, config_, url, authorization, body, now);
  if (!auth) return admin_reply(request, 401, admin_error(auth.error().text));
  const Event& ev = auth.value().event();
  if (mgmt_.auth_ids.count(ev.id())) {
    return admin_reply(request, 401,
                       admin_error("unauthorized: this authorization event was already used"));
  }
  auto parsed = parse_admin_request(body);
  if (!parsed) return admin_reply(request, 400, admin_error(parsed.error().text));
  AdminRequest req = std::move(parsed).value();
  if (admin_in_flight_ >= kMaxAdminInFlight)
    return admin_reply(request, 503, admin_error("error: too many management requests in flight"));
  if (mgmt_.would_grow(req) && mgmt_.entries() >= kMaxManagedEntries) {
    return admin_reply(
        request, 400,
        admin_error("the management lists are full (" + std::to_string(kMaxManagedEntries) +
                    " entries): remove some before adding more"));
  }
  // Spent from now on, even if the batch fails (a retry signs a new event).
  mgmt_.auth_ids.insert(ev.id());
  log_json(JsonObjectWriter()
               .string("level", "info")
               .string("msg", "management request")
               .string("method", admin_method_name(req.method))
               .string("admin", ev.pubkey().hex())
               .finish());
  // Every request, changing or not, records its authorization event id.
  std::vector<SqlStatement> stmts = plan_admin_change(req, ev.id(), ev.created_at(), now);
  if (req.method == AdminMethod::listeventsneedingmoderation)
    stmts.push_back(plan_moderation_queue());
  ++admin_in_flight_;
  out_.store(add_pending(PendingAdmin{request, std::move(req), ev.pubkey()}), batch_json(stmts));
}

void Relay::on_admin_done(PendingAdmin p, bool ok, std::string_view results) {
  --admin_in_flight_;
  std::vector<ResultSet> rs;
  if (!ok || !parse_results(results, rs)) {
    log_json(JsonObjectWriter()
                 .string("level", "error")
                 .string("msg", "management request failed in storage")
                 .string("method", admin_method_name(p.req.method))
                 .string("detail", utf8_prefix(results, 300))
                 .finish());
    return admin_reply(p.request, 500,
                       admin_error("error: storage failed, nothing was changed; try again"));
  }
  const AdminRequest& r = p.req;
  std::string result = "true";
  if (r.changes_state()) {
    apply_admin_change(mgmt_, r);
    if (r.method == AdminMethod::banevent && r.event) recent_.erase(*r.event);
    if (r.method == AdminMethod::blockip) enforce_management();
  } else if (r.method == AdminMethod::listeventsneedingmoderation) {
    result = rs.empty() ? "[]" : moderation_queue_json(rs.back(), mgmt_);
  } else if (r.method == AdminMethod::listconnections) {
    std::vector<uint32_t> ids;
    for (const auto& [conn, c] : conns_) ids.push_back(conn);
    std::sort(ids.begin(), ids.end());
    result = "[";
    for (const uint32_t conn : ids) {
      const Connection& c = conns_.at(conn);
      std::string pubkeys = "[";
      for (const Pubkey& pk : c.authed) {
        if (pubkeys.size() > 1) pubkeys += ',';
        append_json_string(pubkeys, pk.hex());
      }
      if (result.size() > 1) result += ',';
      result += JsonObjectWriter()
                    .uint("id", conn)
                    .string("ip", c.meta.ip)
                    .string("user_agent", c.meta.user_agent)
                    .raw("pubkeys", pubkeys + "]")
                    .uint("subscriptions", c.subs.size())
                    .finish();
    }
    result += ']';
  } else if (r.method == AdminMethod::disconnect) {
    const std::string why = "blocked: disconnected by the relay operator" +
                            (r.reason.empty() ? std::string() : ": " + r.reason);
    result = std::to_string(disconnect_where(r.target, r.text, why));
  } else {
    result = admin_list_result(r.method, mgmt_, config_);
  }
  admin_reply(p.request, 200, admin_result(result));
}

size_t Relay::disconnect_where(const std::string& target, const std::string& value,
                               const std::string& why) {
  std::vector<uint32_t> hit;
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
  for (const uint32_t conn : hit) {
    out_.send(conn, notice_message(why));
    out_.close(conn, 1008, why);
    close(conn);
  }
  return hit.size();
}

std::string Relay::metrics_text(uint64_t memory_bytes) const {
  size_t pending_events = 0;
  for (const auto& [id, c] : conns_) pending_events += c.pending_events;
  return render_metrics(
      metrics_, Gauges{conns_.size(), subs_.size(), memory_bytes, out_.frames(), pending_events});
}

std::string Relay::health_json() const {
  return JsonObjectWriter()
      .uint("connections", conns_.size())
      .uint("subscriptions", subs_.size())
      .uint("events_accepted", metrics_.events_accepted)
      .boolean("management_loaded", mgmt_loaded_)
      .boolean("maintenance", !mgmt_.maintenance.empty())
      .finish();
}

void Relay::log_json(std::string line) { ops_log_.line(std::move(line), now_, out_); }

void Relay::log_refusal(uint32_t conn, std::string_view what, std::string_view reason) {
  JsonObjectWriter w;
  w.string("level", "info").string("msg", "refused").string("what", what).uint("conn", conn);
  if (auto c = conns_.find(conn); c != conns_.end() && !c->second.meta.ip.empty())
    w.string("ip", c->second.meta.ip);
  w.string("reason", utf8_prefix(reason, 300));
  log_json(w.finish());
}

}  // namespace nostr::durable
