// NIP-77 negentropy syncs: NEG-OPEN reads the filter's (created_at, id)
// records from D1 a page at a time, seals them (core/negentropy.h) and
// answers; each NEG-MSG is answered from the sealed records; NEG-CLOSE, an
// error or the connection's close frees them. Bounded: syncs per connection,
// records per sync (NEG-ERR "blocked:") and record bytes relay-wide.
#include <algorithm>
#include <vector>

#include "core/hex.h"
#include "core/read_plan.h"
#include "core/relay_message.h"
#include "core/sql.h"
#include "core/text.h"
#include "durable/relay.h"
#include "durable/relay_internal.h"

namespace nostr::durable {
namespace {

// Records per D1 page (~80 bytes each in the result).
constexpr uint32_t kNegPage = 20000;
// Bytes a record costs while loading (vector growth included) and once sealed.
constexpr size_t kLoadingRecord = 48;
// The largest reply we send, in bytes (twice that in hex on the wire: under
// the 128 KiB frames clients are commonly limited to).
constexpr uint32_t kNegFrameSizeLimit = 30000;
// A sync not used for this long may be dropped to make room for another.
constexpr uint64_t kNegIdle = 30;

// Rows for the next page: a filter's limit (REQ semantics) ends the set.
uint32_t neg_page_size(const CompiledFilter& f, size_t loaded) {
  if (!f.limit()) return kNegPage;
  const uint64_t left = *f.limit() > loaded ? *f.limit() - loaded : 0;
  return static_cast<uint32_t>(std::min<uint64_t>(left, kNegPage));
}

neg::Options neg_options() {
  neg::Options o;
  o.frame_size_limit = kNegFrameSizeLimit;
  return o;
}

}  // namespace

void Relay::neg_error(uint32_t conn, const std::string& sub, std::string_view reason) {
  drop_neg(conn, sub);
  out_.send(conn, neg_err_message(sub, reason));
}

void Relay::drop_neg(uint32_t conn, const std::string& sub) {
  auto it = negs_.find({conn, sub});
  if (it == negs_.end()) return;
  neg_bytes_ -= it->second.charged;
  negs_.erase(it);
}

void Relay::drop_negs_of(uint32_t conn) {
  auto it = negs_.lower_bound({conn, std::string()});
  while (it != negs_.end() && it->first.first == conn) {
    neg_bytes_ -= it->second.charged;
    it = negs_.erase(it);
  }
}

bool Relay::make_neg_room(size_t need, uint64_t idle_before) {
  const size_t budget = config_.limits.max_neg_bytes_total;
  while (neg_bytes_ + need > budget) {
    auto oldest = negs_.end();
    for (auto it = negs_.begin(); it != negs_.end(); ++it) {
      if (it->second.ready && it->second.last_used < idle_before &&
          (oldest == negs_.end() || it->second.last_used < oldest->second.last_used)) {
        oldest = it;
      }
    }
    if (oldest == negs_.end()) return false;
    const auto [conn, sub] = oldest->first;
    neg_error(conn, sub, "closed: idle negentropy sync dropped to make room; open it again");
  }
  return true;
}

void Relay::on_neg_open(uint32_t conn, NegOpenMessage&& m, uint64_t now) {
  Connection& c = conns_[conn];
  const std::string sub = m.sub.str();
  const Limits& lim = config_.limits;
  drop_neg(conn, sub);  // NIP-77: a NEG-OPEN for an open id replaces it
  const std::vector<CompiledFilter> filters{m.filter};
  if (auto refused = policy_.filters(view(c), filters))
    return neg_error(conn, sub, refused->wire_message());
  size_t open = 0;
  for (auto it = negs_.lower_bound({conn, std::string()});
       it != negs_.end() && it->first.first == conn; ++it)
    ++open;
  if (open >= lim.max_neg_sessions) {
    return neg_error(conn, sub,
                     "rate-limited: too many negentropy syncs open on this connection (limit is " +
                         std::to_string(lim.max_neg_sessions) + ")");
  }
  auto st = plan_neg_page(m.filter, now, c.authed, std::nullopt, neg_page_size(m.filter, 0));
  if (!st) return neg_error(conn, sub, st.error().wire_message());
  const size_t reserve = static_cast<size_t>(kNegPage) * kLoadingRecord;
  if (!make_neg_room(reserve, now > kNegIdle ? now - kNegIdle : 0)) {
    return neg_error(
        conn, sub,
        "rate-limited: the relay is busy with other negentropy syncs, try again shortly");
  }
  NegSession& s =
      negs_.emplace(std::make_pair(conn, sub), NegSession(std::move(m.filter))).first->second;
  s.generation = ++neg_generation_;
  s.initial = std::move(m.message);
  s.last_used = now;
  s.charged = reserve;
  neg_bytes_ += reserve;
  out_.store(add_pending(PendingNegPage{conn, sub, s.generation}),
             batch_json({std::move(st).value()}));
}

void Relay::on_neg_page_done(const PendingNegPage& p, bool ok, std::string_view results) {
  auto it = negs_.find({p.conn, p.sub});
  if (it == negs_.end() || it->second.generation != p.generation)
    return;  // closed or replaced meanwhile
  NegSession& s = it->second;
  const Limits& lim = config_.limits;
  std::vector<ResultSet> rs;
  if (!ok || !parse_results(results, rs) || rs.size() != 1 || (rs[0].rows > 0 && rs[0].cols != 2)) {
    return neg_error(p.conn, p.sub, "error: could not read stored events, please try again");
  }
  for (uint32_t i = 0; i < rs[0].rows; ++i) {
    uint64_t t = 0;
    neg::Item item;
    if (!parse_decimal(rs[0].cell(i, 0), t) ||
        !decode_lower_hex(rs[0].cell(i, 1), item.id.data(), item.id.size()))
      continue;
    item.timestamp = t;
    s.loading.push_back(item);
  }
  if (s.loading.size() > lim.max_neg_records) {
    return neg_error(
        p.conn, p.sub,
        "blocked: this filter matches more than " + std::to_string(lim.max_neg_records) +
            " events, more than one negentropy sync may hold; sync narrower filters (since/until)");
  }
  const uint32_t asked = neg_page_size(s.filter, s.loading.size() - rs[0].rows);
  if (asked > 0 && rs[0].rows == asked && neg_page_size(s.filter, s.loading.size()) > 0) {
    // More to read: the next page, with room for it.
    const size_t need = (s.loading.size() + kNegPage) * kLoadingRecord;
    if (need > s.charged) {
      if (!make_neg_room(need - s.charged, now_ > kNegIdle ? now_ - kNegIdle : 0)) {
        return neg_error(
            p.conn, p.sub,
            "rate-limited: the relay is busy with other negentropy syncs, try again shortly");
      }
      neg_bytes_ += need - s.charged;
      s.charged = need;
    }
    const neg::Item& last = s.loading.back();
    NegCursor after{last.timestamp, EventId::from_bytes(last.id)};
    auto st = plan_neg_page(s.filter, now_, conns_[p.conn].authed, after,
                            neg_page_size(s.filter, s.loading.size()));
    if (!st) return neg_error(p.conn, p.sub, st.error().wire_message());
    out_.store(add_pending(PendingNegPage{p.conn, p.sub, s.generation}),
               batch_json({std::move(st).value()}));
    return;
  }
  // Loaded: seal, then answer NEG-OPEN's message.
  s.loading.shrink_to_fit();  // the sealed records are held for the sync's life: no spare capacity
  s.storage = neg::Storage(std::move(s.loading));
  s.loading = {};
  s.ready = true;
  const size_t sealed = s.storage.memory_bytes();
  neg_bytes_ = neg_bytes_ - s.charged + sealed;
  s.charged = sealed;
  auto reply = neg::server_reconcile(s.storage, s.initial, neg_options());
  s.initial = {};
  if (!reply) return neg_error(p.conn, p.sub, reply.error().wire_message());
  out_.send(p.conn, neg_msg_message(p.sub, to_hex(reply->data(), reply->size())));
}

void Relay::on_neg_msg(uint32_t conn, const NegMsgMessage& m, uint64_t now) {
  const std::string sub = m.sub.str();
  auto it = negs_.find({conn, sub});
  if (it == negs_.end()) {
    return neg_error(conn, sub,
                     "closed: no negentropy sync is open with this id (it may have been dropped); "
                     "open it again");
  }
  NegSession& s = it->second;
  if (!s.ready) return neg_error(conn, sub, "invalid: NEG-MSG before the relay answered NEG-OPEN");
  s.last_used = now;
  auto reply = neg::server_reconcile(s.storage, m.message, neg_options());
  if (!reply) return neg_error(conn, sub, reply.error().wire_message());
  out_.send(conn, neg_msg_message(sub, to_hex(reply->data(), reply->size())));
}

}  // namespace nostr::durable
