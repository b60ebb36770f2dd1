// Relay: where subscriptions live and how stored answers are read. REQ, CLOSE
// and COUNT; the subscription table; stored queries run in two phases (ids,
// then pages of raw JSON) round-robin across connections within the query
// budgets, paced per connection.
#include <algorithm>
#include <cassert>
#include <span>
#include <variant>

#include "core/hex.h"
#include "core/hll.h"
#include "core/json_writer.h"
#include "core/query_plan.h"
#include "core/sql.h"
#include "core/text.h"
#include "core/verify.h"
#include "durable/local_schema.h"
#include "durable/relay.h"
#include "durable/relay_internal.h"
#include "durable/relay_parts.h"

namespace nostr::durable {

using namespace internal;

SubHandle Relay::add_subscription(ConnId conn, Connection& c, SubId id,
                                  std::vector<CompiledFilter> filters, bool live) {
  auto sub = std::make_unique<Subscription>(conn, std::move(id), std::move(filters));
  sub->live = live;
  sub->cost = kSubscriptionCost + sub->id.str().size();
  for (const auto& f : sub->filters) sub->cost += f.cost();
  c.filter_bytes += sub->cost;
  const SubHandle h = subs_.add(std::move(sub));
  const Subscription& s = subs_.at(h);
  index_.add(h, s.filters);
  peers_.on_subscription_added(h, index_);
  c.subs[s.id.str()] = h;
  return h;
}

void Relay::remove_subscription(SubHandle h) {
  Subscription* found = subs_.find(h);
  if (!found) return;
  Subscription& s = *found;
  index_.remove(h);
  peers_.on_subscription_removed(now_);
  queries_.release_list(s.list_bytes);  // in-flight reads release theirs on completion
  queries_.release_page(s.prefetch_bytes);
  auto* c = conns_.find(s.conn);
  if (c) {
    c->filter_bytes -= s.cost;
    c->subs.erase(s.id.str());
    for (auto* steps : {&c->page_steps, &c->ids_steps}) {
      steps->erase(std::remove(steps->begin(), steps->end(), h), steps->end());
    }
  }
  subs_.erase(h);
}

void Relay::refuse_req(ConnId conn, std::string sub, const Reject& why) {
  ++metrics_.reqs_refused;
  log_refusal(conn, "REQ", why.wire_message());
  reply(conn, ClosedReply{sub, why});
  auto* c = conns_.find(conn);
  if (!c) return;
  auto it = c->subs.find(sub);
  if (it == c->subs.end()) return;
  remove_subscription(it->second);
  save_subscriptions(conn, *c, nullptr, sub);
}

void Relay::on_req(ConnId conn, ReqMessage&& m, uint64_t now) {
  Connection& c = conns_.at(conn);
  const std::string sub = m.sub.str();
  const Limits& lim = config_.limits;
  if (auto refused = policy_.filters(view(c), m.filters)) return refuse_req(conn, sub, *refused);
  bool stored = false;
  for (const auto& f : m.filters) {
    if (f.matches_nothing() || f.effective_limit(lim) == 0) continue;
    // Planned now so a filter D1 would refuse is refused here, deterministically.
    if (auto st = plan_query(f, lim, now, 0, c.authed); !st)
      return refuse_req(conn, sub, st.error());
    stored = true;
  }
  // Budgets, counting what a replaced subscription of the same id gives back.
  size_t cost = kSubscriptionCost + sub.size();
  for (const auto& f : m.filters) cost += f.cost();
  const auto existing = c.subs.find(sub);
  const size_t freed = existing != c.subs.end() ? subs_.at(existing->second).cost : 0;
  if (existing == c.subs.end() && c.subs.size() >= lim.max_subscriptions) {
    return refuse_req(conn, sub,
                      reject(Code::rate_limited, "too many open subscriptions (limit is " +
                                                     std::to_string(lim.max_subscriptions) + ")"));
  }
  if (existing == c.subs.end() && subs_.size() >= lim.max_subscriptions_total) {
    return refuse_req(
        conn, sub,
        reject(Code::rate_limited, "the relay holds too many subscriptions, try again later"));
  }
  const size_t conn_after = c.filter_bytes - freed + cost;
  if (conn_after > lim.max_filter_bytes) {
    return refuse_req(conn, sub,
                      reject(Code::rate_limited,
                             "this connection's filters would take " + std::to_string(conn_after) +
                                 " bytes (limit is " + std::to_string(lim.max_filter_bytes) +
                                 "); close subscriptions or use fewer values"));
  }
  if (conn_after > kFilterReserve &&
      subs_.filter_bytes() - freed + cost > lim.max_filter_bytes_total) {
    return refuse_req(
        conn, sub,
        reject(Code::rate_limited, "the relay holds too many subscriptions, try again later"));
  }
  if (existing != c.subs.end())
    remove_subscription(existing->second);  // same id: the new REQ replaces it
  const SubHandle h =
      add_subscription(conn, c, std::move(m.sub), std::move(m.filters), /*live=*/!stored);
  Subscription& s = subs_.at(h);
  save_subscriptions(conn, c, &s, "");
  if (!stored) {
    // Several objects: other objects forward what this REQ wants once they
    // read its summary; EOSE says so only after it is published.
    std::vector<SqlStatement> publish;
    if (const int64_t v = peers_.publish_if_needed(publish, now); v != 0) {
      out_.store(add_pending(Peers::Publish{v, h}), std::move(publish));
      return;
    }
    reply(conn, EoseReply{&s.id});
    return;
  }
  s.stage = QueryStage::ids_waiting;
  enqueue_query_step(h);
  if (c.queries_in_flight == 0 && c.ids_steps.size() == 1) {
    run_query_steps(now);  // an idle connection's REQ starts at once
  } else {
    // A busy connection's REQs start from timer(now), right after the frames
    // already waiting: one closed or replaced within the same burst never
    // costs a D1 query.
    timers_.set_earlier(Timer::query_pacing, now);
  }
}

void Relay::on_close(ConnId conn, const CloseMessage& m) {
  Connection& c = conns_.at(conn);
  auto it = c.subs.find(m.sub.str());
  if (it == c.subs.end()) return;
  remove_subscription(it->second);
  save_subscriptions(conn, c, nullptr, m.sub.str());
}

void Relay::enqueue_query_step(SubHandle h) {
  const Subscription& s = subs_.at(h);
  Connection& c = conns_.at(s.conn);
  (s.stage == QueryStage::page_waiting ? c.page_steps : c.ids_steps).push_back(h);
  if (!c.scheduled) {
    c.scheduled = true;
    queries_.schedule(s.conn);
  }
}

// Each free read slot goes to a waiting connection with the fewest reads in
// flight, round-robin among equals: one pass over the queue per level (0 reads
// in flight, then 1, ...), so a client waiting for its first read is never
// queued behind other clients' second, third or fourth, and a client with 100
// REQs waits its turn like one with one. O(connections x max_queries_in_flight).
void Relay::run_query_steps(uint64_t now) {
  if (timers_.due(Timer::query_pacing, now)) timers_.clear(Timer::query_pacing);
  const Limits& lim = config_.limits;
  queries_.run_turns(lim.max_queries_in_flight, [&](ConnId conn, uint32_t level) {
    auto* c = conns_.find(conn);
    if (!c) return false;
    Connection& cn = *c;
    // A connection's own reads wait for each other: one client's REQ churn
    // cannot fill D1's queue ahead of everyone else.
    if (cn.queries_in_flight == level && queries_.slot_free()) {
      for (auto* steps : {&cn.page_steps, &cn.ids_steps}) {
        if (steps->empty() || !start_query_step(subs_.at(steps->front()), steps->front(), now))
          continue;
        ++cn.queries_in_flight;
        steps->pop_front();
        break;
      }
    }
    cn.scheduled = !cn.page_steps.empty() || !cn.ids_steps.empty();
    return cn.scheduled;
  });
}

bool Relay::start_query_step(Subscription& s, SubHandle h, uint64_t now) {
  const Limits& lim = config_.limits;
  if (s.stage == QueryStage::ids_waiting) {
    // Answers (ids, not events) are held by at most half the query budget, so
    // pages always have the other half and paging never deadlocks.
    size_t rows = 0;
    for (const auto& f : s.filters) {
      if (!f.matches_nothing()) rows += f.effective_limit(lim);
    }
    const size_t reserve =
        std::max<size_t>(rows, 1) * kIdRowBytes + kMaxSentBeforeEose * sizeof(EventId);
    if (!queries_.list_fits(reserve)) return false;
    std::vector<SqlStatement> stmts;
    // The reader's logins decide which gift wraps (NIP-59) the answer may hold.
    const auto* reader = conns_.find(s.conn);
    const std::vector<Pubkey> anonymous;
    const std::vector<Pubkey>& readers = !reader ? anonymous : reader->authed;
    for (const auto& f : s.filters) {
      if (f.matches_nothing() || f.effective_limit(lim) == 0) continue;
      auto st = plan_query(f, lim, now, 0, readers);
      if (st) stmts.push_back(std::move(st).value());
    }
    queries_.hold_list(reserve);
    // Raw JSON for the answer's first page comes with the ids when the page
    // budget has room for it: a small answer costs one D1 round trip.
    const size_t prefetch = queries_.prefetch_room();
    queries_.hold_page(prefetch);
    for (auto& st : stmts)
      st.params.front() =
          SqlParam::of(static_cast<int64_t>(prefetch / std::max<size_t>(stmts.size(), 1)));
    const int64_t publishes = peers_.publish_if_needed(stmts, now);  // last statement, if any
    out_.store(
        add_pending(PendingQuery{s.conn, h, /*page=*/false, reserve, 0, prefetch, publishes}),
        std::move(stmts));
    queries_.read_started();
    s.stage = QueryStage::ids_in_flight;
    s.racing_batch = writes_.in_flight_token();
    return true;
  }
  assert(s.stage == QueryStage::page_waiting);
  // The next rows up to one page of raw JSON to fetch (at least one row: a
  // page is >= max_event_size); rows already prefetched cost nothing.
  size_t bytes = 0, n = 0, fetch = 0;
  size_t pf = s.prefetched_next;
  std::vector<EventId> ids;
  while (s.next_row + n < s.rows.size()) {
    const size_t i = s.next_row + n;
    if (pf < s.prefetched.size() && s.prefetched[pf].first == i) {
      ++pf;
      ++n;
      continue;
    }
    const size_t row = s.rows[i].size + kPageRowOverhead;
    if (fetch > 0 && bytes + row > lim.max_query_page_bytes) break;
    bytes += row;
    ++fetch;
    ++n;
    ids.push_back(s.rows[i].id);
  }
  if (!queries_.page_fits(bytes)) return false;
  // Pacing: a connection gets max_query_output_rate bytes/s of stored events
  // (burst: two seconds' worth); a page that does not fit waits for time.
  Connection& c = conns_.at(s.conn);
  const uint64_t rate = lim.max_query_output_rate;
  if (now > c.tokens_at) {
    c.output_tokens = std::min<uint64_t>(2 * rate, c.output_tokens + (now - c.tokens_at) * rate);
    c.tokens_at = now;
  }
  if (c.output_tokens < bytes &&
      c.output_tokens < 2 * rate) {  // a full bucket lets any one page go
    const uint64_t due = now + (bytes - c.output_tokens + rate - 1) / rate;
    timers_.set_earlier(Timer::query_pacing, due);
    return false;
  }
  c.output_tokens -= std::min<uint64_t>(bytes, c.output_tokens);
  queries_.hold_page(bytes);
  out_.store(add_pending(PendingQuery{s.conn, h, /*page=*/true, bytes, n, 0}), plan_fetch(ids));
  queries_.read_started();
  s.stage = QueryStage::page_in_flight;
  return true;
}

void Relay::on_query_done(const PendingQuery& p, const BatchResult& r, uint64_t now) {
  if (p.page) {
    queries_.release_page(p.reserved);
  } else {
    queries_.release_list(p.reserved);
  }
  queries_.release_page(p.prefetch);
  if (auto* c = conns_.find(p.conn); c && c->queries_in_flight > 0) --c->queries_in_flight;
  std::span<const ResultSet> rs = r.sets;
  const bool parsed = r.ok;
  if (p.publishes != 0) {
    peers_.on_published(p.publishes, parsed);
    if (parsed && !rs.empty()) rs = rs.first(rs.size() - 1);  // the publish statement's
  }
  if (Subscription* found = subs_.find(p.handle)) {
    Subscription& s = *found;
    if (!parsed) {
      refuse_req(s.conn, s.id.str(),
                 reject(Code::storage_error, "could not query stored events, please try again"));
    } else if (p.page) {
      on_page_done(s, p.rows, rs);
    } else {
      on_ids_done(s, rs);
    }
  }
  run_query_steps(now);  // budget was released
}

void Relay::on_ids_done(Subscription& s, std::span<const ResultSet> rs) {
  struct Row {
    StoredRow row;
    std::string_view raw;  // borrowed from the results; empty if not prefetched
    bool has_raw;
  };
  std::vector<Row> rows;
  for (const ResultSet& r : rs) {
    if (r.cols < 4) continue;
    for (uint32_t i = 0; i < r.rows; ++i) {
      uint64_t t = 0, size = 0;
      auto id = EventId::from_hex(r.cell(i, 0));
      if (!id || !parse_decimal(r.cell(i, 1), t) || !parse_decimal(r.cell(i, 2), size)) continue;
      rows.push_back(
          Row{StoredRow{t, *id, static_cast<uint32_t>(std::min<uint64_t>(size, UINT32_MAX))},
              r.is_null(i, 3) ? std::string_view() : r.cell(i, 3), !r.is_null(i, 3)});
    }
  }
  if (ranked(s)) {
    // NIP-50: each filter's rows come most relevant first; keep that order
    // (filters in REQ order), each event once, at its first place.
    std::vector<EventId> seen;
    seen.reserve(rows.size());
    std::vector<Row> kept;
    for (Row& r : rows) {
      const auto at = std::lower_bound(seen.begin(), seen.end(), r.row.id);
      if (at != seen.end() && *at == r.row.id) continue;
      seen.insert(at, r.row.id);
      kept.push_back(r);
    }
    rows = std::move(kept);
  } else {
    // Several filters: one newest-first stream, each event once (keeping a
    // copy that came with its raw JSON).
    std::sort(rows.begin(), rows.end(), [](const Row& a, const Row& b) {
      if (a.row.created_at != b.row.created_at) return a.row.created_at > b.row.created_at;
      if (a.row.id != b.row.id) return a.row.id < b.row.id;
      return a.has_raw && !b.has_raw;
    });
    rows.erase(std::unique(rows.begin(), rows.end(),
                           [](const Row& a, const Row& b) { return a.row.id == b.row.id; }),
               rows.end());
  }
  // Already delivered live while this query ran.
  if (!s.sent_before_eose.empty()) {
    std::sort(s.sent_before_eose.begin(), s.sent_before_eose.end());
    rows.erase(std::remove_if(rows.begin(), rows.end(),
                              [&](const Row& r) {
                                return std::binary_search(s.sent_before_eose.begin(),
                                                          s.sent_before_eose.end(), r.row.id);
                              }),
               rows.end());
  }
  s.sent_before_eose.clear();
  s.sent_before_eose.shrink_to_fit();
  // The leading rows that came with their JSON go out now; later ones that did
  // (another filter's first page) wait for their turn, charged to the page budget.
  size_t sent = 0, sent_bytes = 0;
  while (sent < rows.size() && rows[sent].has_raw) {
    sent_bytes += rows[sent].raw.size();
    reply(s.conn, EventReply{&s.id, rows[sent++].raw});
  }
  spend_output(s.conn, sent_bytes);
  s.rows.reserve(rows.size());
  for (size_t i = 0; i < rows.size(); ++i) {
    s.rows.push_back(rows[i].row);
    if (i >= sent && rows[i].has_raw) {
      s.prefetched.emplace_back(i, std::string(rows[i].raw));
      s.prefetch_bytes += rows[i].raw.size();
    }
  }
  queries_.hold_page(s.prefetch_bytes);
  s.next_row = sent;
  if (s.next_row >= s.rows.size()) return finish_stored_query(s);
  s.list_bytes = s.rows.size() * sizeof(StoredRow);
  queries_.hold_list(s.list_bytes);
  s.stage = QueryStage::page_waiting;
  enqueue_query_step(conns_.at(s.conn).subs.at(s.id.str()));
}

bool Relay::send_prefetched(Subscription& s) {
  while (s.next_row < s.rows.size() && s.prefetched_next < s.prefetched.size() &&
         s.prefetched[s.prefetched_next].first == s.next_row) {
    auto& [row, raw] = s.prefetched[s.prefetched_next++];
    reply(s.conn, EventReply{&s.id, raw});
    spend_output(s.conn, raw.size());
    queries_.release_page(raw.size());
    s.prefetch_bytes -= raw.size();
    std::string().swap(raw);
    ++s.next_row;
  }
  if (s.next_row < s.rows.size()) return false;
  finish_stored_query(s);
  return true;
}

void Relay::spend_output(ConnId conn, size_t bytes) {
  auto* c = conns_.find(conn);
  if (c) c->output_tokens -= std::min<uint64_t>(bytes, c->output_tokens);
}

void Relay::release_prefetch(Subscription& s) {
  queries_.release_page(s.prefetch_bytes);
  s.prefetch_bytes = 0;
  s.prefetched = {};
  s.prefetched_next = 0;
}

void Relay::on_page_done(Subscription& s, size_t n, std::span<const ResultSet> rs) {
  // Rows come back in no order: index them by id, send in the answer's order.
  std::vector<std::pair<EventId, std::string_view>> got;
  for (const ResultSet& r : rs) {
    if (r.cols < 2) continue;
    for (uint32_t i = 0; i < r.rows; ++i) {
      if (auto id = EventId::from_hex(r.cell(i, 0))) got.emplace_back(*id, r.cell(i, 1));
    }
  }
  std::sort(got.begin(), got.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  const size_t end = std::min(s.next_row + n, s.rows.size());
  while (s.next_row < end) {
    if (s.prefetched_next < s.prefetched.size() &&
        s.prefetched[s.prefetched_next].first == s.next_row) {
      send_prefetched(s);                       // this row and any prefetched ones right after it
      if (s.stage == QueryStage::none) return;  // finished
      continue;
    }
    const EventId& id = s.rows[s.next_row].id;
    auto at = std::lower_bound(got.begin(), got.end(), id,
                               [](const auto& a, const EventId& x) { return a.first < x; });
    if (at != got.end() && at->first == id) reply(s.conn, EventReply{&s.id, at->second});
    // Missing: deleted since the ids query; nothing to send.
    ++s.next_row;
  }
  if (send_prefetched(s)) return;
  s.stage = QueryStage::page_waiting;
  enqueue_query_step(conns_.at(s.conn).subs.at(s.id.str()));
}

void Relay::finish_stored_query(Subscription& s) {
  queries_.release_list(s.list_bytes);
  s.list_bytes = 0;
  release_prefetch(s);
  if (s.racing_batch != 0 && s.racing_batch == writes_.in_flight_token() && !s.rows.empty()) {
    // The batch in flight when the ids query ran may be in this answer and is
    // fanned out when it completes: remember what was sent until then (kept
    // within this connection's filter budget: at most max_limit x max_filters ids).
    s.answered.reserve(s.rows.size());
    for (const StoredRow& r : s.rows) s.answered.push_back(r.id);
    std::sort(s.answered.begin(), s.answered.end());
    writes_.note_answered(conns_.at(s.conn).subs.at(s.id.str()));
  }
  peers_.remember_answered(s.rows, conns_.at(s.conn).subs.at(s.id.str()), now_);
  s.racing_batch = 0;
  s.rows = {};
  s.next_row = 0;
  s.stage = QueryStage::none;
  s.live = true;
  s.sent_before_eose = {};
  reply(s.conn, EoseReply{&s.id});
}

void Relay::on_count(ConnId conn, CountMessage&& m, uint64_t now) {
  const std::string sub = m.sub.str();
  Connection& c = conns_.at(conn);
  if (auto refused = policy_.filters(view(c), m.filters)) {
    return reply(conn, ClosedReply{sub, *refused});
  }
  if (c.pending_counts >= config_.limits.max_pending_counts) {
    return reply(
        conn,
        ClosedReply{sub, reject(Code::rate_limited,
                                "too many COUNTs in flight on this connection "
                                "(limit is " +
                                    std::to_string(config_.limits.max_pending_counts) + ")")});
  }
  if (pending_counts_ >= config_.limits.max_pending_counts_total) {
    return reply(conn, ClosedReply{sub, reject(Code::rate_limited,
                                               "the relay is busy counting, try again shortly")});
  }
  // NIP-45: one filter of the shape NIP-45 names also gets HyperLogLog registers.
  const std::optional<uint8_t> offset =
      m.filters.size() == 1 ? hll_offset(m.filters[0]) : std::nullopt;
  auto st = offset ? plan_count_hll(m.filters, now, c.authed, *offset)
                   : plan_count(m.filters, now, c.authed);
  if (!st) {
    return reply(conn, ClosedReply{sub, st.error()});
  }
  ++c.pending_counts;
  ++pending_counts_;
  PendingCount p{conn, sub, offset.has_value()};
  if (c.pending_counts > 1) {  // one COUNT read per connection at a time
    c.counts_waiting.emplace_back(std::move(p), std::move(st).value());
    return;
  }
  out_.store(add_pending(std::move(p)), std::move(st).value());
}

void Relay::on_count_done(PendingCount p, const BatchResult& r) {
  --pending_counts_;
  auto* c = conns_.find(p.conn);
  if (!c) return;
  --c->pending_counts;
  if (auto& waiting = c->counts_waiting; !waiting.empty()) {
    auto [next, stmt] = std::move(waiting.front());
    waiting.pop_front();
    out_.store(add_pending(std::move(next)), std::move(stmt));
  }
  const std::vector<ResultSet>& rs = r.sets;
  uint64_t n = 0;
  const auto failed = [&] {
    reply(p.conn, ClosedReply{p.sub, reject(Code::storage_error,
                                            "could not count stored events, please try again")});
  };
  if (!r.ok || rs.empty()) return failed();
  if (!p.hll) {
    if (rs[0].rows != 1 || !parse_decimal(rs[0].cell(0, 0), n)) return failed();
    const SubId sub = *SubId::make(p.sub);
    return reply(p.conn, CountReply{&sub, n, false, {}});
  }
  // Rows (count, register as hex byte, value); none when nothing matched.
  HllRegisters regs{};
  for (uint32_t i = 0; i < rs[0].rows; ++i) {
    uint64_t value = 0;
    uint8_t reg = 0;
    if (rs[0].cols != 3 || !parse_decimal(rs[0].cell(i, 0), n) ||
        !decode_lower_hex(rs[0].cell(i, 1), &reg, 1) || !parse_decimal(rs[0].cell(i, 2), value) ||
        value > 57) {
      return failed();
    }
    regs[reg] = static_cast<uint8_t>(value);
  }
  const SubId sub = *SubId::make(p.sub);
  const std::string hex = hll_hex(regs);
  reply(p.conn, CountReply{&sub, n, false, hex});
}

}  // namespace nostr::durable
