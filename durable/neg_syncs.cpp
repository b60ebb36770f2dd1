// NIP-77 negentropy syncs (durable/neg_syncs.h).
#include "durable/neg_syncs.h"

#include <algorithm>
#include <vector>

#include "core/hex.h"
#include "core/read_plan.h"
#include "core/relay_message.h"
#include "core/results.h"
#include "core/text.h"

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

uint64_t idle_before(uint64_t now) { return now > kNegIdle ? now - kNegIdle : 0; }

constexpr std::string_view kBusy =
    "rate-limited: the relay is busy with other negentropy syncs, try again shortly";

}  // namespace

void NegSyncs::fail(ConnId conn, const std::string& sub, std::string_view reason, Outbox& out) {
  close(conn, sub);
  out.send(conn, neg_err_message(sub, reason));
}

void NegSyncs::close(ConnId conn, const std::string& sub) {
  auto it = syncs_.find({conn, sub});
  if (it == syncs_.end()) return;
  bytes_ -= it->second.charged;
  syncs_.erase(it);
}

void NegSyncs::close_all(ConnId conn) {
  auto it = syncs_.lower_bound({conn, std::string()});
  while (it != syncs_.end() && it->first.first == conn) {
    bytes_ -= it->second.charged;
    it = syncs_.erase(it);
  }
}

bool NegSyncs::make_room(size_t need, uint64_t idle_before, Outbox& out) {
  const size_t budget = limits_.max_neg_bytes_total;
  while (bytes_ + need > budget) {
    auto oldest = syncs_.end();
    for (auto it = syncs_.begin(); it != syncs_.end(); ++it) {
      if (it->second.ready && it->second.last_used < idle_before &&
          (oldest == syncs_.end() || it->second.last_used < oldest->second.last_used)) {
        oldest = it;
      }
    }
    if (oldest == syncs_.end()) return false;
    const auto [conn, sub] = oldest->first;
    fail(conn, sub, "closed: idle negentropy sync dropped to make room; open it again", out);
  }
  return true;
}

std::optional<NegSyncs::Read> NegSyncs::open(ConnId conn, NegOpenMessage&& m,
                                             const std::vector<Pubkey>& authed, uint64_t now,
                                             Outbox& out) {
  const std::string sub = m.sub.str();
  close(conn, sub);  // NIP-77: a NEG-OPEN for an open id replaces it
  size_t open = 0;
  for (auto it = syncs_.lower_bound({conn, std::string()});
       it != syncs_.end() && it->first.first == conn; ++it)
    ++open;
  if (open >= limits_.max_neg_sessions) {
    fail(conn, sub,
         "rate-limited: too many negentropy syncs open on this connection (limit is " +
             std::to_string(limits_.max_neg_sessions) + ")",
         out);
    return std::nullopt;
  }
  auto st = plan_neg_page(m.filter, now, authed, std::nullopt, neg_page_size(m.filter, 0));
  if (!st) {
    fail(conn, sub, st.error().wire_message(), out);
    return std::nullopt;
  }
  const size_t reserve = static_cast<size_t>(kNegPage) * kLoadingRecord;
  if (!make_room(reserve, idle_before(now), out)) {
    fail(conn, sub, kBusy, out);
    return std::nullopt;
  }
  Sync& s = syncs_.emplace(std::make_pair(conn, sub), Sync(std::move(m.filter))).first->second;
  s.generation = ++generation_;
  s.initial = std::move(m.message);
  s.last_used = now;
  s.charged = reserve;
  bytes_ += reserve;
  return Read{Page{conn, sub, s.generation}, std::move(st).value()};
}

std::optional<NegSyncs::Read> NegSyncs::on_page(const Page& p, const BatchResult& r,
                                                const std::vector<Pubkey>& authed, uint64_t now,
                                                Outbox& out) {
  auto it = syncs_.find({p.conn, p.sub});
  if (it == syncs_.end() || it->second.generation != p.generation)
    return std::nullopt;  // closed or replaced meanwhile
  Sync& s = it->second;
  const std::vector<ResultSet>& rs = r.sets;
  if (!r.ok || rs.size() != 1 || (rs[0].rows > 0 && rs[0].cols != 2)) {
    fail(p.conn, p.sub, "error: could not read stored events, please try again", out);
    return std::nullopt;
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
  if (s.loading.size() > limits_.max_neg_records) {
    fail(p.conn, p.sub,
         "blocked: this filter matches more than " + std::to_string(limits_.max_neg_records) +
             " events, more than one negentropy sync may hold; sync narrower filters "
             "(since/until)",
         out);
    return std::nullopt;
  }
  const uint32_t asked = neg_page_size(s.filter, s.loading.size() - rs[0].rows);
  if (asked > 0 && rs[0].rows == asked && neg_page_size(s.filter, s.loading.size()) > 0) {
    // More to read: the next page, with room for it.
    const size_t need = (s.loading.size() + kNegPage) * kLoadingRecord;
    if (need > s.charged) {
      if (!make_room(need - s.charged, idle_before(now), out)) {
        fail(p.conn, p.sub, kBusy, out);
        return std::nullopt;
      }
      bytes_ += need - s.charged;
      s.charged = need;
    }
    const neg::Item& last = s.loading.back();
    NegCursor after{last.timestamp, EventId::from_bytes(last.id)};
    auto st =
        plan_neg_page(s.filter, now, authed, after, neg_page_size(s.filter, s.loading.size()));
    if (!st) {
      fail(p.conn, p.sub, st.error().wire_message(), out);
      return std::nullopt;
    }
    return Read{p, std::move(st).value()};
  }
  // Loaded: seal, then answer NEG-OPEN's message.
  s.loading.shrink_to_fit();  // the sealed records are held for the sync's life: no spare capacity
  s.storage = neg::Storage(std::move(s.loading));
  s.loading = {};
  s.ready = true;
  const size_t sealed = s.storage.memory_bytes();
  bytes_ = bytes_ - s.charged + sealed;
  s.charged = sealed;
  auto reply = neg::server_reconcile(s.storage, s.initial, neg_options());
  s.initial = {};
  if (!reply) {
    fail(p.conn, p.sub, reply.error().wire_message(), out);
    return std::nullopt;
  }
  out.send(p.conn, neg_msg_message(p.sub, to_hex(reply->data(), reply->size())));
  return std::nullopt;
}

void NegSyncs::on_msg(ConnId conn, const NegMsgMessage& m, uint64_t now, Outbox& out) {
  const std::string sub = m.sub.str();
  auto it = syncs_.find({conn, sub});
  if (it == syncs_.end()) {
    return fail(conn, sub,
                "closed: no negentropy sync is open with this id (it may have been dropped); "
                "open it again",
                out);
  }
  Sync& s = it->second;
  if (!s.ready) return fail(conn, sub, "invalid: NEG-MSG before the relay answered NEG-OPEN", out);
  s.last_used = now;
  auto reply = neg::server_reconcile(s.storage, m.message, neg_options());
  if (!reply) return fail(conn, sub, reply.error().wire_message(), out);
  out.send(conn, neg_msg_message(sub, to_hex(reply->data(), reply->size())));
}

}  // namespace nostr::durable
