// Write plans: the statements that store an event (with NIP-09 deletions and
// replaceable/addressable replacement), batch several events into one store
// transaction, read each event's outcome back from the batch's results, and
// sweep NIP-40-expired events.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/config.h"
#include "core/event.h"
#include "core/results.h"
#include "core/sql.h"

namespace nostr {
// NIP-40: the statements (one batch, one transaction) deleting at most
// `batch` events whose expiration is at or before `now`, oldest expiry first,
// with their tag rows. The last statement's `changes` is how many events went:
// `batch` means more may be left. Served by the events_expires index.
std::vector<SqlStatement> plan_expiry_sweep(uint64_t now, uint32_t batch);

// NIP-50: the statements making the D1 table search_kinds equal `kinds` (the
// index triggers read it). Writes nothing when it already is.
std::vector<SqlStatement> plan_search_kinds(const std::vector<uint32_t>& kinds);

// Retention (core/config.h Retention). Returns the batch of one pruning step:
// when `start`, first the lease (taken if free at `now`, held for the run's
// interval), then the events to prune, oldest first, at most `batch`: rows
// (id, created_at, raw), none unless `holder` holds the lease.
std::vector<SqlStatement> plan_retention_select(const Retention& r, std::string_view holder,
                                                uint64_t now, bool start, uint32_t batch);
// Returns the statements deleting the events `ids_json` (a JSON array of hex
// ids) with their tags, and recording the archives [key, events, first_at,
// last_at] of `archives_json` (a JSON array of such arrays) at `now`.
std::vector<SqlStatement> plan_retention_delete(std::string ids_json, std::string archives_json,
                                                uint64_t now);

// Several relay objects (D1 table relay_objects, durable/interest.h):
// Returns the statement reading the interest summaries of the objects other
// than `self` whose version is newer than in `known_json` ({"name": version,
// ...}; unknown names: any version): rows (name, version, summary).
SqlStatement plan_peer_summaries(std::string_view self, std::string_view known_json);
// Returns the statement publishing `self`'s summary at `version`; a row with a
// newer version is left alone (publications may commit out of order).
SqlStatement plan_publish_interest(std::string_view self, int64_t version, std::string_view summary,
                                   uint64_t now);

// NIP-62: one bounded step of the pending requests to vanish (table vanish,
// filled by plan_store for kind 62). Deletes up to `batch` events of the
// first pending requester with created_at <= the request's (not kind 62
// requests), up to `batch` gift wraps p-tagging it, their tag rows (and so
// search index rows), and its NIP-09 tombstones; marks the request done when
// less than a full batch was left. One D1 batch, so a restart midway leaves
// the request pending, to be continued. stmts[result_stmt] yields one row:
// (events deleted, whether any request is still pending).
struct VanishStep {
  std::vector<SqlStatement> stmts;
  size_t result_stmt = 0;
};
VanishStep plan_vanish_step(uint32_t batch);

// One event's share of a D1 write batch (see plan_store_batch).
struct StorePlan {
  EventId id;
  // Replaceable, addressable and deletion events: stmts[0] inserts the event,
  // then replacement / deletion work. Empty for regular events (see insert_row).
  std::vector<SqlStatement> stmts;
  std::string tag_rows;    // JSON array items [id,name,value,created_at,kind],... ("" if none)
  std::string status_row;  // JSON array item [id,pubkey,address,created_at]
  // Regular, non-deletion events only: [id,pubkey,created_at,kind,d_tag,raw,expires_at],
  // inserted by a batch-level run statement (plan_store_batch).
  std::string insert_row;
};

// Returns one event's statements:
//  - insert the event unless its author deleted it (NIP-09 tombstones) and, for
//    replaceable/addressable kinds, unless a newer version exists (equal
//    created_at keeps the lowest id);
//  - delete the versions it replaces, with their tags;
//  - for a kind 62 request to vanish: record it in table vanish (see
//    plan_vanish_step); every other event is refused when its author asked
//    to vanish at or after its created_at;
//  - for a kind 5 deletion request: record tombstones for its `e` ids and for
//    its `a` addresses of the same author, and delete the author's matching
//    events (never other kind 5 events; addresses up to its created_at);
// plus its single-letter tag rows and status key for the batch-level statements.
// Ephemeral events must not be stored (asserted).
StorePlan plan_store(const Event& e);
// A kind 62 request to vanish kept only as the deletion it asks for (its
// author is refused by the write rules): the vanish row, no event row, no
// tags, so it is never served. Its outcome is `stored` once the row is written.
StorePlan plan_vanish_only(const Event& e);

enum class StoreOutcome : uint8_t {
  stored,      // newly inserted
  duplicate,   // this id was already stored
  superseded,  // a newer version of this replaceable/addressable event is stored
  deleted,     // its author deleted it (NIP-09)
  vanished,    // its author asked to vanish at or after its time (NIP-62)
};

// The status query's values (the batch's last statement).
enum class StoreStatus : uint8_t { absent = 0, stored = 1, deleted = 2, vanished = 3 };

// A write batch for several events, run as one D1 batch (one transaction).
struct StoreBatch {
  std::vector<SqlStatement> stmts;
  std::vector<EventId> ids;  // the events, in plan order
  // Per event, how to tell whether THIS batch inserted it:
  //   own insert:  stmts[probe] returned a row (RETURNING id);
  //   merged run:  its id is absent from the rows (id) of stmts[probe], the
  //                run's pre-insert existence query, and present in those of
  //                stmts[probe + 2], the query right after the run's insert.
  std::vector<size_t> probe_stmt;
  std::vector<bool> merged;
  size_t status_stmt = 0;  // rows (id, StoreStatus), one per event in order

  // Decodes the batch's results (`rs`: one ResultSet per statement, or nullptr
  // for a failed batch): per event in plan order, what happened to it, or
  // nullopt if its part of the results is missing (a failed or foreign batch:
  // the client gets a transient error). The same event twice in one batch:
  // only the first counts as inserted.
  std::vector<std::optional<StoreOutcome>> outcomes(const std::vector<ResultSet>* rs) const;
};

// Returns the batch for `plans` in order. Consecutive regular events form runs
// that cost three statements (existence query, one multi-row insert, existence
// query);
// other events use their own statements. Then ONE statement inserts every
// event's tag rows (only for events still stored at that point, so replaced or
// deleted ones leave no tags), and ONE status query ends the batch.
StoreBatch plan_store_batch(std::vector<StorePlan> plans);

// Statements plan_store_batch spends on `p` when appended after `prev` (the
// previous plan of the batch, or nullptr): how a caller keeps batches small.
size_t batch_statements(const StorePlan& p, const StorePlan* prev);

// NIP-09 `a` tag target "kind:pubkey:d" -> parts; nullopt if malformed.
struct Address {
  uint32_t kind;
  std::string pubkey;  // 64 lowercase hex
  std::string d;
};
std::optional<Address> parse_address(std::string_view a);

}  // namespace nostr
