// Read plans: a CompiledFilter becomes one parameterised SELECT over the
// store schema (schema.sql), from a fixed set of shapes:
//   ids      events by primary key
//   tag1     tags(name, value) index scan joined to events, for one tag value
//   tagN     events whose id is IN a tags subquery, for several tag values
//   events   events by (pubkey, kind, created_at) / (kind, created_at) / (created_at)
// Every shape orders by created_at DESC, id ASC and honours the limit. Also the
// COUNT (NIP-45) and page-fetch statements.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "core/filter.h"
#include "core/limits.h"
#include "core/result.h"
#include "core/sql.h"
#include "core/types.h"

namespace nostr {

// NIP-59 gift wraps: served only to a reader authenticated (NIP-42) as one of
// their p-tagged recipients.
inline constexpr uint32_t kGiftWrapKind = 1059;

// Returns the SELECT for `f` yielding columns (id, created_at, size of raw in
// bytes, raw or NULL), newest first, ties by lowest id, at most
// f.effective_limit(limits) rows, never an event expired at `now` (NIP-40).
// raw is given for the leading rows whose sizes add up to at most
// `prefetch_bytes`, NULL after (those are fetched later: plan_fetch). Lists go
// inline while they fit the 100-parameter cap, otherwise through json_each(?).
// Fails with bad_filter ("invalid:") for what D1 would refuse: more than 40
// conditions (its expression-depth limit) or more than 100 parameters.
// `readers`: the reading connection's NIP-42 pubkeys; a filter that can match
// kind 1059 only yields the gift wraps p-tagged to one of them (none if empty).
[[nodiscard]] Result<SqlStatement> plan_query(const CompiledFilter& f, const Limits& limits, uint64_t now,
                                              uint64_t prefetch_bytes = 0, const std::vector<Pubkey>& readers = {});

// Returns SELECT COUNT(*) of distinct events matching any of `filters` (limits
// ignored, as NIP-45 counts). One column, one row. Any number of filters: the
// union is nested so no compound SELECT has more than D1's 5 terms.
[[nodiscard]] Result<SqlStatement> plan_count(const std::vector<CompiledFilter>& filters, uint64_t now,
                                              const std::vector<Pubkey>& readers = {});

// NIP-45 with HyperLogLog: like plan_count, but yielding rows (count,
// register, value) -- one per register that some matching event's pubkey
// sets, `count` repeated on each; no rows when nothing matches. value is
// 1 + the leading zero bits of pubkey bytes offset+1..offset+7, the maximum
// over the matching events (register = pubkey byte `offset`, as hex).
// `offset` comes from hll_offset (8..23).
[[nodiscard]] Result<SqlStatement> plan_count_hll(const std::vector<CompiledFilter>& filters, uint64_t now,
                                                  const std::vector<Pubkey>& readers, uint8_t offset);

// NIP-77: one page of the (created_at, id) pairs of the events matching `f`,
// strictly after `after` when given, at most `page` rows; same visibility
// rules as plan_query (expiry, others' gift wraps). Without a limit the pages
// go ascending by (created_at, id) through the whole set; with one, in REQ
// order (newest first, ties by lowest id), and the caller stops at the limit
// (the set a REQ with that filter would return, however large the limit).
struct NegCursor {
  uint64_t created_at;
  EventId id;
};
[[nodiscard]] Result<SqlStatement> plan_neg_page(const CompiledFilter& f, uint64_t now, const std::vector<Pubkey>& readers,
                                                 const std::optional<NegCursor>& after, uint32_t page);

// Returns the SELECT yielding (id, raw) of the stored events among `ids`, in
// no particular order: one page of a stored query whose ids plan_query found.
SqlStatement plan_fetch(const std::vector<EventId>& ids);

}  // namespace nostr
