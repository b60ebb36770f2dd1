// Management: the NIP-86 state and requests (durable/management.h).
#include "durable/management.h"

#include "core/json_writer.h"
#include "core/results.h"
#include "core/text.h"
#include "core/write_plan.h"

namespace nostr::durable {

void Management::load(uint64_t now, Sink& sink) {
  checked_at_ = std::max(checked_at_, now);
  busy_ = true;
  std::vector<SqlStatement> stmts = plan_management_load(now);
  // Once per object life: the search index's kinds follow the configuration.
  if (!loaded_) {
    for (SqlStatement& st : plan_search_kinds(config_.search_kinds)) stmts.push_back(std::move(st));
  }
  sink.store(Load{}, std::move(stmts));
}

void Management::check(uint64_t now, Sink& sink) {
  if (!check_due(now)) return;
  checked_at_ = now;
  if (!loaded_) return load(now, sink);
  busy_ = true;
  sink.store(Version{}, {plan_management_version()});
}

std::optional<uint64_t> Management::retry_at(bool writes_waiting) const {
  if (loaded_ || busy_ || (!writes_waiting && waiting_.empty())) return std::nullopt;
  return checked_at_ + kCheck;
}

void Management::on_version(const BatchResult& r, uint64_t now, Sink& sink) {
  busy_ = false;
  const std::vector<ResultSet>& rs = r.sets;
  uint64_t version = 0;
  if (!r.ok || rs.size() != 1 || rs[0].rows != 1 || rs[0].cols != 1 ||
      !parse_decimal(rs[0].cell(0, 0), version)) {
    return sink.log(JsonObjectWriter()
                        .string("level", "error")
                        .string("msg", "management version check failed")
                        .finish());
  }
  if (version != state_.version) load(now, sink);
}

Management::Loaded Management::on_loaded(const BatchResult& r, uint64_t now, Sink& sink) {
  busy_ = false;
  const std::vector<ResultSet>& rs = r.sets;
  ManagementState loaded;
  if (!r.ok || !parse_management(rs, loaded)) {
    sink.log(
        JsonObjectWriter()
            .string("level", "error")
            .string("msg",
                    "management state could not be loaded (are migrations 0005 and 0006 applied?)")
            .string("detail", utf8_prefix(r.error, 300))
            .finish());
    if (loaded_) return Loaded::kept;
    // Without it bans cannot be enforced: refuse what waits (transiently).
    checked_at_ = now;
    for (const Waiting& w : waiting_)
      reply(w.request, 503, admin_error("error: management state unavailable, try again"), sink);
    waiting_.clear();
    return Loaded::failed;
  }
  // NIP-98 ids accepted meanwhile are not lost with the reload.
  loaded.auth_ids.insert(state_.auth_ids.begin(), state_.auth_ids.end());
  const bool first = !loaded_;
  state_ = std::move(loaded);
  loaded_ = true;
  std::deque<Waiting> waiting = std::move(waiting_);
  waiting_.clear();
  for (const Waiting& w : waiting) run(w.request, w.url, w.authorization, w.body, now, sink);
  return first ? Loaded::first : Loaded::reloaded;
}

void Management::reply(uint32_t request, uint32_t status, std::string body, Sink& sink) {
  if (status == 401) ++metrics_.admin_refused;
  sink.reply(request, status, std::move(body));
}

void Management::request(uint32_t request, std::string_view url, std::string_view authorization,
                         std::string_view body, uint64_t now, Sink& sink) {
  ++metrics_.admin_requests;
  if (config_.admin_pubkeys.empty()) {
    return reply(request, 404,
                 admin_error("the management API is disabled: no ADMIN_PUBKEYS are configured"),
                 sink);
  }
  if (body.size() > kMaxAdminBody) {
    return reply(
        request, 413,
        admin_error("request body is larger than " + std::to_string(kMaxAdminBody) + " bytes"),
        sink);
  }
  if (!loaded_) {
    if (waiting_.size() >= kMaxWaiting) {
      return reply(request, 503, admin_error("error: management state is loading, try again"),
                   sink);
    }
    waiting_.push_back(
        Waiting{request, std::string(url), std::string(authorization), std::string(body)});
    check(now, sink);
    return;
  }
  run(request, url, authorization, body, now, sink);
}

void Management::run(uint32_t request, std::string_view url, std::string_view authorization,
                     std::string_view body, uint64_t now, Sink& sink) {
  auto auth = authorize_admin(parser_, config_, url, authorization, body, now);
  if (!auth) return reply(request, 401, admin_error(auth.error().text), sink);
  const Event& ev = auth.value().event();
  if (state_.auth_ids.count(ev.id())) {
    return reply(request, 401,
                 admin_error("unauthorized: this authorization event was already used"), sink);
  }
  auto parsed = parse_admin_request(body);
  if (!parsed) return reply(request, 400, admin_error(parsed.error().text), sink);
  AdminRequest req = std::move(parsed).value();
  if (in_flight_ >= kMaxInFlight)
    return reply(request, 503, admin_error("error: too many management requests in flight"), sink);
  if (state_.would_grow(req) && state_.entries() >= kMaxManagedEntries) {
    return reply(
        request, 400,
        admin_error("the management lists are full (" + std::to_string(kMaxManagedEntries) +
                    " entries): remove some before adding more"),
        sink);
  }
  // Spent from now on, even if the batch fails (a retry signs a new event).
  state_.auth_ids.insert(ev.id());
  sink.log(JsonObjectWriter()
               .string("level", "info")
               .string("msg", "management request")
               .string("method", admin_method_name(req.method))
               .string("admin", ev.pubkey().hex())
               .finish());
  // Every request, changing or not, records its authorization event id.
  std::vector<SqlStatement> stmts = plan_admin_change(req, ev.id(), ev.created_at(), now);
  if (req.method == AdminMethod::listeventsneedingmoderation)
    stmts.push_back(plan_moderation_queue());
  ++in_flight_;
  sink.store(Request{request, std::move(req), ev.pubkey()}, std::move(stmts));
}

std::optional<Management::Done> Management::on_request_done(Request p, const BatchResult& done,
                                                            Sink& sink) {
  --in_flight_;
  const std::vector<ResultSet>& rs = done.sets;
  if (!done.ok) {
    sink.log(JsonObjectWriter()
                 .string("level", "error")
                 .string("msg", "management request failed in storage")
                 .string("method", admin_method_name(p.req.method))
                 .string("detail", utf8_prefix(done.error, 300))
                 .finish());
    reply(p.request, 500, admin_error("error: storage failed, nothing was changed; try again"),
          sink);
    return std::nullopt;
  }
  const AdminRequest& r = p.req;
  if (r.changes_state()) {
    apply_admin_change(state_, r);
    return Done{p.request, std::move(p.req)};
  }
  if (r.method == AdminMethod::listconnections || r.method == AdminMethod::disconnect)
    return Done{p.request, std::move(p.req)};
  const std::string result = r.method == AdminMethod::listeventsneedingmoderation
                                 ? (rs.empty() ? "[]" : moderation_queue_json(rs.back(), state_))
                                 : admin_list_result(r.method, state_, config_);
  reply(p.request, 200, admin_result(result), sink);
  return std::nullopt;
}

}  // namespace nostr::durable
