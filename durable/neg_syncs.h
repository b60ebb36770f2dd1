// NIP-77 negentropy syncs of every connection: the component that owns them
// and their relay-wide byte budget (limits.max_neg_bytes_total).
//
// A sync reads its filter's (created_at, id) records a page at a time
// (plan_neg_page: the engine runs each page as a store batch and hands the
// results back), seals them (core/negentropy.h) and answers NEG-OPEN's
// message; then each NEG-MSG is answered from the sealed records. NEG-CLOSE,
// an error or the connection's close frees them. Bounded: syncs per
// connection (limits.max_neg_sessions), records per sync
// (limits.max_neg_records, NEG-ERR "blocked:"), bytes relay-wide (idle syncs
// are dropped to make room, else NEG-ERR "rate-limited:").
//
// It answers to the engine, which checks policy and rate limits first; it
// emits NEG-MSG / NEG-ERR frames into the Outbox it is given and asks for
// pages by returning them (the engine owns tokens). No SQL runs here.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/config.h"
#include "core/event.h"
#include "core/filter.h"
#include "core/message.h"
#include "core/negentropy.h"
#include "core/results.h"
#include "core/sql.h"
#include "durable/action.h"
#include "durable/completion.h"
#include "durable/conn_id.h"

namespace nostr::durable {

class NegSyncs {
 public:
  // A page read a sync waits for; the engine sends `stmt` as one store batch
  // and hands its results to on_page() with this ticket.
  struct Page {
    static constexpr Completion kCompletion = Completion::store;
    ConnId conn;
    std::string sub;
    uint64_t generation;  // tells a page of a replaced sync apart
  };
  struct Read {
    Page page;
    SqlStatement stmt;
  };

  // Borrows `limits` for its life.
  explicit NegSyncs(const Limits& limits) : limits_(limits) {}

  // A NEG-OPEN the engine admitted (policy, rate limits), replacing any sync
  // with its id. Returns the first page to read, or nullopt after answering
  // NEG-ERR (too many syncs, no room, a filter no plan serves). `authed`: the
  // connection's logins (gift wraps addressed to them are in scope).
  std::optional<Read> open(ConnId conn, NegOpenMessage&& m, const std::vector<Pubkey>& authed,
                           uint64_t now, Outbox& out);
  // A page's results (`ok`: the batch ran). Returns the next page to read,
  // or nullopt: the sync answered (NEG-MSG), failed (NEG-ERR), or was closed
  // or replaced meanwhile (nothing).
  std::optional<Read> on_page(const Page& p, const BatchResult& r,
                              const std::vector<Pubkey>& authed, uint64_t now, Outbox& out);
  // A NEG-MSG: answered from the sealed records, or NEG-ERR.
  void on_msg(ConnId conn, const NegMsgMessage& m, uint64_t now, Outbox& out);
  // Ends the sync (if open) and answers NEG-ERR with `reason`.
  void fail(ConnId conn, const std::string& sub, std::string_view reason, Outbox& out);
  // NEG-CLOSE: ends the sync silently.
  void close(ConnId conn, const std::string& sub);
  // The connection is gone: all its syncs end.
  void close_all(ConnId conn);

  size_t count() const { return syncs_.size(); }
  size_t bytes() const { return bytes_; }

 private:
  struct Sync {
    explicit Sync(CompiledFilter f) : filter(std::move(f)) {}
    uint64_t generation = 0;
    CompiledFilter filter;
    std::vector<uint8_t> initial;    // the NEG-OPEN message, answered once loaded
    std::vector<neg::Item> loading;  // records read so far
    neg::Storage storage;
    bool ready = false;
    uint64_t last_used = 0;
    size_t charged = 0;  // bytes counted in bytes_
  };
  // Frees syncs idle since before `idle_before`, oldest first (NEG-ERR), until
  // `need` more bytes fit the budget. Returns whether they fit.
  bool make_room(size_t need, uint64_t idle_before, Outbox& out);

  const Limits& limits_;
  std::map<std::pair<ConnId, std::string>, Sync> syncs_;  // by (connection, sub id)
  size_t bytes_ = 0;
  uint64_t generation_ = 0;
};

}  // namespace nostr::durable
