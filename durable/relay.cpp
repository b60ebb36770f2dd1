// Relay: connections (open, close, AUTH), frame dispatch, timers, and the
// completions the host reports back, routed through the pending table.
// The rest of the engine: relay_writes.cpp (EVENT pipeline, group commit,
// outcomes, fan-out), relay_reads.cpp (subscriptions, REQ/COUNT, stored-query
// paging), relay_state.cpp (what survives hibernation).
#include "durable/relay.h"

#include <algorithm>
#include <cassert>
#include <variant>

#include "core/json_writer.h"
#include "core/sql.h"
#include "core/text.h"
#include "core/verify.h"
#include "durable/local_schema.h"
#include "durable/relay_internal.h"
#include "durable/relay_parts.h"

namespace nostr::durable {

using namespace internal;

Relay::Usage Relay::usage() const {
  return Usage{sockets(),       subs_.size(),          subs_.filter_bytes(),
               writes_.bytes(), queries_.list_bytes(), queries_.page_bytes(),
               pending_counts_};
}

std::string Relay::stats_json(uint64_t memory_bytes) const {
  size_t pending_events = 0, waiting = 0;
  for (const auto& [id, c] : conns_) {
    pending_events += c.pending_events;
    waiting += c.page_steps.size() + c.ids_steps.size();
  }
  return JsonObjectWriter()
      .uint("connections", sockets())
      .uint("subscriptions", subs_.size())
      .uint("filter_bytes", subs_.filter_bytes())
      .uint("pending_events", pending_events)
      .uint("pending_event_bytes", writes_.bytes())
      .uint("query_list_bytes", queries_.list_bytes())
      .uint("query_page_bytes", queries_.page_bytes())
      .uint("queries_active", queries_.reads_in_flight())
      .uint("queries_waiting", waiting)
      .uint("pending_counts", pending_counts_)
      .uint("recent_ids", recent_.size())
      .uint("neg_syncs", negs_.count())
      .uint("neg_bytes", negs_.bytes())
      .uint("memory_bytes", memory_bytes)
      .finish();
}

Relay::Relay(RelayConfig config) : config_(std::move(config)), parser_(config_.limits) {
  crypto_selftest();
}

bool Relay::open(uint32_t conn, std::string_view challenge, std::string_view state, uint64_t now,
                 const ConnMeta& meta, ReplySink* local) {
  const Entry entry{*this, now};
  if (conns_.contains(conn)) return false;
  if (!state.empty()) {
    // Survived hibernation: our own ConnState (see attach_state) has its
    // metadata, logins and subscriptions.
    ConnState st = ConnState::from_json(state, config_.limits.max_logins);
    ConnMeta kept = std::move(st.meta);
    restore_conn_state(conn, add_connection(conn, std::move(kept), now), challenge, std::move(st));
  } else {
    maybe_check_management(now);
    if (auto refused = policy_.admit(meta, sockets(), conns_.from_address(meta.ip))) {
      const std::string why = refused->wire_message();
      ++metrics_.connections_refused;
      log_json(JsonObjectWriter()
                   .string("level", "info")
                   .string("msg", "refused")
                   .string("what", "connection")
                   .string("ip", meta.ip)
                   .string("reason", why)
                   .finish());
      out_.send(conn, wire_text(NoticeReply{*refused}));
      // 1013: try again later; 1008: policy violation.
      out_.close(conn, refused->code == Code::rate_limited ? 1013 : 1008, why);
      return true;
    }
    Connection& c = add_connection(conn, meta, now);
    c.local = local;
    ++metrics_.connections_opened;
    c.challenge.assign(challenge.substr(0, kMaxChallenge));
    reply(conn, AuthReply{c.challenge});
  }
  Connection& c = conns_.at(conn);
  // An unauthenticated connection's AUTH clock starts; after hibernation it
  // restarts at the wake (its start is not kept).
  if (c.authed.empty()) conns_.set_auth_deadline(conn, policy_.auth_deadline(now));
  if (state.empty()) attach_state(conn, c);
  return true;
}

bool Relay::open_local(uint32_t conn, ReplySink& sink, uint64_t now) {
  return open(conn, "", "", now, {}, &sink) && conns_.contains(conn);
}

Connection& Relay::add_connection(ConnId conn, ConnMeta meta, uint64_t now) {
  Connection& c = conns_.add(conn, std::move(meta));
  c.output_tokens = 2 * uint64_t{config_.limits.max_query_output_rate};  // a full burst to start
  c.tokens_at = now;
  return c;
}

// Should the kept state lack a challenge, the host's fresh one keeps NIP-42
// possible.
void Relay::restore_conn_state(ConnId conn, Connection& c, std::string_view challenge,
                               ConnState st) {
  c.challenge.assign(st.challenge.empty() ? challenge.substr(0, kMaxChallenge)
                                          : std::string_view(st.challenge));
  c.authed = std::move(st.authed);
  c.buckets = st.buckets;
  c.subs_in_sql = st.subs_in_local_sql;
  for (const auto& [id, filters_json] : st.subs) {
    simdjson::dom::array arr;
    if (parser_.json().parse(filters_json).get_array().get(arr) != simdjson::SUCCESS) continue;
    auto sub = SubId::make(id, config_.limits.max_subid_length);
    std::vector<CompiledFilter> filters;
    for (simdjson::dom::element f : arr) {
      if (auto cf = CompiledFilter::compile(f, config_.limits))
        filters.push_back(std::move(cf).value());
    }
    if (!sub || filters.empty() || c.subs.count(sub->str())) continue;
    add_subscription(conn, c, std::move(*sub), std::move(filters), /*live=*/true);
  }
}

void Relay::frame(uint32_t conn, std::string_view bytes, bool padded, uint64_t now) {
  const Entry entry{*this, now};
  Connection* c = conns_.find(conn);
  if (!c) return;  // host bug: frames for an unknown socket
  dispatch(conn, *c, bytes, padded, now);
}

void Relay::dispatch(ConnId conn, Connection& c, std::string_view bytes, bool padded,
                     uint64_t now) {
  maybe_check_management(now);
  maybe_shrink_interest(now);
  // A REQ bigger than a connection may ever hold is refused before compiling.
  ParsedFrame r = parser_.parse(bytes, padded, config_.limits.max_filter_bytes);
  if (!r.ok()) {
    ++metrics_.messages_in["invalid"];
    const MessageError& err = r.error;
    if (err.reply == ReplyKind::closed && err.ends_subscription)
      return refuse_req(conn, err.sub_id, err.reject);
    if (err.reply == ReplyKind::neg_err)
      return negs_.fail(conn, err.sub_id, err.reject.wire_message(), out_);
    switch (err.reply) {
      case ReplyKind::ok:
        return reply(conn, OkReply{err.event_id, false, err.reject});
      case ReplyKind::closed:
        return reply(conn, ClosedReply{err.sub_id, err.reject});
      case ReplyKind::neg_err:  // handled above
      case ReplyKind::notice:
        break;
    }
    return reply(conn, NoticeReply{err.reject});
  }
  ClientMessage& m = *r.message;
  if (auto* ev = std::get_if<EventMessage>(&m)) {
    ++metrics_.messages_in["EVENT"];
    if (!rate_event(conn, c, ev->event, nullptr, now)) return;
    on_event(conn, std::move(ev->event), now);
  } else if (auto* req = std::get_if<ReqMessage>(&m)) {
    ++metrics_.messages_in["REQ"];
    if (!rate_req(conn, c, req->sub, now)) return;
    on_req(conn, std::move(*req), now);
  } else if (auto* count = std::get_if<CountMessage>(&m)) {
    ++metrics_.messages_in["COUNT"];
    if (!rate_req(conn, c, count->sub, now)) return;
    on_count(conn, std::move(*count), now);
  } else if (auto* cl = std::get_if<CloseMessage>(&m)) {
    ++metrics_.messages_in["CLOSE"];
    on_close(conn, *cl);
  } else if (auto* auth = std::get_if<AuthMessage>(&m)) {
    ++metrics_.messages_in["AUTH"];
    on_auth(conn, auth->event, now);
  } else if (auto* open = std::get_if<NegOpenMessage>(&m)) {
    ++metrics_.messages_in["NEG"];
    if (!rate_req(conn, c, open->sub, now, /*neg=*/true)) return;
    const std::vector<CompiledFilter> filters{open->filter};
    if (auto refused = policy_.filters(view(c), filters))
      return negs_.fail(conn, open->sub.str(), refused->wire_message(), out_);
    read_neg_page(negs_.open(conn, std::move(*open), c.authed, now, out_));
  } else if (auto* msg = std::get_if<NegMsgMessage>(&m)) {
    ++metrics_.messages_in["NEG"];
    if (!rate_req(conn, c, msg->sub, now, /*neg=*/true)) return;
    negs_.on_msg(conn, *msg, now, out_);
  } else if (auto* nc = std::get_if<NegCloseMessage>(&m)) {
    ++metrics_.messages_in["NEG"];
    negs_.close(conn, nc->sub.str());
  }
}

void Relay::oversized_frame(uint32_t conn, uint64_t size) {
  if (!conns_.contains(conn)) return;
  const Reject r = reject(Code::message_too_large,
                          "message is at least " + std::to_string(size) + " bytes, limit is " +
                              std::to_string(config_.limits.max_message_length));
  reply(conn, NoticeReply{r});
}

void Relay::send_ok(ConnId conn, const EventId& id, bool accepted, Reject why) {
  if (!accepted) {
    const std::string message = why.wire_message();
    metrics_.refused(message);
    log_refusal(conn, "EVENT", message);
  } else if (why.code == Code::ok) {
    ++metrics_.events_accepted;
  } else {
    ++metrics_.events_duplicate;
  }
  const std::string hex = id.hex();
  reply(conn, OkReply{hex, accepted, std::move(why)});
}

void Relay::reply(ConnId conn, const Reply& r) {
  Connection* c = conns_.find(conn);
  if (!c) return;  // closed meanwhile: nobody to answer
  if (ApiCall* call = c->api.get()) {
    if (auto done = call->on(r)) api_finished_.emplace_back(conn, std::move(*done));
    return;
  }
  if (c->local) return c->local->on(r);
  out_.send(conn, wire_text(r));
}

void Relay::disconnect(ConnId conn, uint32_t code, const Reject& why) {
  reply(conn, NoticeReply{why});
  Connection* c = conns_.find(conn);
  if (!c) return;
  if (ApiCall* call = c->api.get()) {
    if (auto done = call->on_close(why)) api_finished_.emplace_back(conn, std::move(*done));
  } else {
    out_.close(conn, code, why.wire_message());
  }
  forget(conn);
}

uint64_t Relay::next_deadline() const {
  uint64_t due = timers_.earliest(TimerKind::deadline).value_or(0);
  for (const auto t : {ops_log_.next_deadline(), rates_.next_deadline()})
    if (t && (due == 0 || *t < due)) due = *t;
  if (const auto t = management_.retry_at(writes_.has_waiting()); t && (due == 0 || *t < due))
    due = *t;
  return due;
}

void Relay::timer(uint64_t now) {
  const Entry entry{*this, now};
  // A failed management load (writes wait for it) and a failed NIP-62 step
  // are tried again on time, not only when a client happens to send a frame.
  if (const auto t = management_.retry_at(writes_.has_waiting()); t && now >= *t)
    maybe_check_management(now);
  flush_rate_state(now);
  ops_log_.on_timer(metrics_, now, out_);
  run_query_steps(now);  // which clears a passed query deadline
  expire_auth(now);
  maintenance_.on_timer(now, management_.loaded(), MaintenanceSink(*this).self());
  maybe_shrink_interest(now);
  retention_.on_timer(now, peers_.name_or_default(), RetentionSink(*this).self());
}

uint64_t Relay::next_alarm() const {
  uint64_t due = maintenance_.next_alarm().value_or(0);
  if (const auto t = retention_.next_run(); t && (due == 0 || *t < due)) due = *t;
  if (const uint64_t a = conns_.next_auth_deadline(); a != 0 && (due == 0 || a < due)) due = a;
  return due;
}

// NIP-42 required: connections past their AUTH deadline are told why and closed.
void Relay::expire_auth(uint64_t now) {
  while (const auto conn = conns_.auth_expired(now))
    disconnect(*conn, 1008, policy_.auth_timed_out());  // forgets it, and so its deadline
}

void Relay::forget(ConnId conn) {
  Connection* c = conns_.find(conn);
  if (!c) return;
  std::vector<SubHandle> handles;
  for (const auto& [id, h] : c->subs) handles.push_back(h);
  for (const SubHandle h : handles) remove_subscription(h);
  negs_.close_all(conn);
  rates_.forget(conn);
  if (c->api) api_slots_.ended(conn, &c->buckets, now_);
  pending_counts_ -= c->counts_waiting.size();  // never read; the one in flight ends later
  const bool in_sql = c->subs_in_sql;
  conns_.remove(conn);
  if (in_sql)
    out_.local_sql(0,
                   {"DELETE FROM subs WHERE conn = ?", {SqlParam::of(static_cast<int64_t>(conn))}});
}

std::optional<PendingOp> Relay::take_pending(uint32_t token, Completion kind,
                                             std::string_view entry) {
  const PendingOp* op = pending_.find(token);
  const char* error = nullptr;
  if (!op) {
    error = "unknown_token";
  } else if (std::visit([](const auto& o) { return o.kCompletion; }, *op) != kind) {
    error = "wrong_completion";
  } else {
    return pending_.take(token);
  }
  ++metrics_.host_errors[error];
  log_json(JsonObjectWriter()
               .string("level", "error")
               .string("msg", "host error: a completion the engine did not ask for")
               .string("kind", error)
               .string("call", entry)
               .uint("token", token)
               .finish());
  return std::nullopt;
}

void Relay::store_done(uint32_t token, bool ok, std::string_view results, uint64_t now) {
  store_done(token, BatchResult::decode(ok, results), now);
}

void Relay::local_sql_done(uint32_t token, std::string_view results, uint64_t now) {
  local_sql_done(token, BatchResult::decode(true, results), now);
}

void Relay::store_done(uint32_t token, const BatchResult& r, uint64_t now) {
  const Entry entry{*this, now};
  std::optional<PendingOp> op = take_pending(token, Completion::store, "store_done");
  if (!op) return;
  std::visit(
      Overloaded{
          [&](WriteBatch& batch) { on_write_done(std::move(batch), r); },
          [&](PendingQuery& q) {
            queries_.read_done();
            on_query_done(q, r, now);
          },
          [&](PendingCount& cnt) { on_count_done(std::move(cnt), r); },
          [&](Maintenance::Sweep&) {
            maintenance_.on_sweep_done(r, now, MaintenanceSink(*this).self());
          },
          [&](NegSyncs::Page& page) {
            auto* c = conns_.find(page.conn);
            read_neg_page(
                negs_.on_page(page, r, !c ? std::vector<Pubkey>{} : c->authed, now, out_));
          },
          [&](Maintenance::Vanish& v) {
            // Deleted ids must not answer "duplicate" from memory.
            if (maintenance_.on_vanish_done(v, r, now, MaintenanceSink(*this).self()))
              recent_.clear();
          },
          [&](Management::Load&) { on_management_loaded(r, now); },
          [&](Management::Version&) {
            management_.on_version(r, now, ManagementSink(*this).self());
          },
          [&](Management::Request& req) {
            if (auto done =
                    management_.on_request_done(std::move(req), r, ManagementSink(*this).self()))
              on_admin_done(std::move(*done));
          },
          [&](Peers::Publish& pub) {
            peers_.on_published(pub.version, r.ok);
            if (pub.eose_for != 0) {
              // A live-only REQ: its EOSE waited for the other objects to see it.
              if (const Subscription* s = subs_.find(pub.eose_for))
                reply(s->conn, EoseReply{&s->id});
            }
          },
          [&](RetentionRuns::Select&) {
            retention_.on_selected(r, now, RetentionSink(*this).self());
          },
          [&](RetentionRuns::Deleted&) {
            // Ids remembered as stored would answer "duplicate" for a pruned event.
            for (const EventId& id : retention_.on_deleted(r.ok, now, RetentionSink(*this).self()))
              recent_.erase(id);
          },
          [&](Peers::SummariesRead&) {
            const std::vector<ResultSet>& rs = r.sets;
            if (r.ok && rs.size() == 1) peers_.on_summaries(rs[0]);
          },
          [&](auto& other) {
            // take_pending let only store operations through; every one has
            // its handler above (this does not compile otherwise).
            static_assert(std::decay_t<decltype(other)>::kCompletion != Completion::store,
                          "a store operation without a store_done handler");
            assert(false);
          },
      },
      *op);
}

void Relay::local_sql_done(uint32_t token, const BatchResult& r, uint64_t now) {
  const Entry entry{*this, now};
  std::optional<PendingOp> op = take_pending(token, Completion::local_sql, "local_sql_done");
  if (!op) return;
  std::visit(Overloaded{
                 [&](PendingSchema&) { on_schema_version(r); },
                 [&](PendingRestore&) { on_restore_rows(r); },
                 [&](Maintenance::SavedRead&) {
                   maintenance_.on_saved(r, now, MaintenanceSink(*this).self());
                 },
                 [&](RateLimiter::SavedRead&) { rates_.on_saved(r); },
                 [&](OpsLog::SavedRead&) { ops_log_.on_saved(r, metrics_, parser_.json()); },
                 [&](PendingWakes&) {
                   const std::vector<ResultSet>& rs = r.sets;
                   uint64_t n = 0;
                   if (r.ok && rs.size() == 1 && rs[0].rows == 1 && rs[0].cols == 1 &&
                       parse_decimal(rs[0].cell(0, 0), n)) {
                     metrics_.wakes = n;
                   }
                 },
                 [&](auto& other) {
                   static_assert(
                       std::decay_t<decltype(other)>::kCompletion != Completion::local_sql,
                       "a local SQL operation without a local_sql_done handler");
                   assert(false);
                 },
             },
             *op);
}

void Relay::archive_done(uint32_t token, bool ok, uint64_t now) {
  const Entry entry{*this, now};
  // Only retention's archive writes wait for it.
  if (take_pending(token, Completion::archive, "archive_done"))
    retention_.on_written(ok, now, RetentionSink(*this).self());
}

void Relay::RetentionSink::store(std::variant<RetentionRuns::Select, RetentionRuns::Deleted> ticket,
                                 std::vector<SqlStatement> stmts) {
  const uint32_t token = std::visit([&](auto t) { return relay.add_pending(t); }, ticket);
  relay.out_.store(token, std::move(stmts));
}

void Relay::RetentionSink::archive(std::string key, std::string body) {
  relay.out_.archive(relay.add_pending(RetentionRuns::Written{}), std::move(key), std::move(body));
}

void Relay::read_neg_page(std::optional<NegSyncs::Read> next) {
  if (!next) return;
  out_.store(add_pending(std::move(next->page)), std::move(next->stmt));
}

void Relay::on_auth(ConnId conn, const Event& e, uint64_t now) {
  Connection& c = conns_.at(conn);
  auto refuse = [&](Reject why) { send_ok(conn, e.id(), false, std::move(why)); };
  if (e.kind() != kAuthKind) return refuse(reject(Code::bad_auth, "AUTH event must be kind 22242"));
  if (auto st = verify_event(e); !st) return refuse(st.error());
  if (auto refused = policy_.auth(view(c), e, c.challenge, now)) return refuse(*refused);
  if (!view(c).is_authed(e.pubkey())) {
    if (c.authed.size() >= config_.limits.max_logins) {
      return refuse(reject(Code::rate_limited,
                           "too many pubkeys authenticated on this connection (limit is " +
                               std::to_string(config_.limits.max_logins) + ")"));
    }
    c.authed.push_back(e.pubkey());
  }
  conns_.set_auth_deadline(conn, 0);
  send_ok(conn, e.id(), true);
  attach_state(conn, c);
}

}  // namespace nostr::durable
