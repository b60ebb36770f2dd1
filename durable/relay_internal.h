// Internal to the relay engine's source files (durable/relay*.cpp and its
// components): the constants its budgets and batches are built from, and
// small helpers.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/event.h"
#include "core/filter.h"
#include "core/json_writer.h"
#include "core/sql.h"
#include "durable/conn_state.h"

namespace nostr::durable::internal {

// NIP-42 challenges from the host are >= 16 random chars; keep at most this.
inline constexpr size_t kMaxChallenge = ConnState::kMaxChallenge;
// A connection may always hold this many filter bytes, whatever the relay-wide
// total: a client's first small REQ is never refused because others are greedy.
inline constexpr size_t kFilterReserve = 1024;
// Bytes charged per subscription on top of its filters (entry, id, maps).
inline constexpr size_t kSubscriptionCost = 256;
// Bytes an ids-query row may occupy while it is decoded and sorted (the results
// buffer, its cell table, the sort) and then while it is paged (StoredRow).
inline constexpr size_t kIdRowBytes = 200;
// Per fetched row beyond its raw JSON: the id and framing in the results buffer.
inline constexpr size_t kPageRowOverhead = 96;
// Live events recorded while a REQ's ids query is in flight (to skip them in
// its pages), charged to its reservation; beyond this they are still
// delivered, at worst twice.
inline constexpr size_t kMaxSentBeforeEose = 128;

// std::visit over a set of lambdas.
template <class... Fs>
struct Overloaded : Fs... {
  using Fs::operator()...;
};
template <class... Fs>
Overloaded(Fs...) -> Overloaded<Fs...>;

inline std::string subs_filters_json(const std::vector<CompiledFilter>& filters) {
  JsonWriter w;
  w.begin_array();
  for (const CompiledFilter& f : filters) w.raw(f.to_json());
  w.end_array();
  return w.take();
}

}  // namespace nostr::durable::internal
