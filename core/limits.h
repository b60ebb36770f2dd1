// Relay limits: one struct whose field names map onto NIP-11 `limitation`.
#pragma once

#include <cstdint>
#include <string>

namespace nostr {

struct Limits {
  uint32_t max_message_length = 131072;  // bytes of one websocket frame
  uint32_t max_subscriptions = 100;      // open REQs per connection
  uint32_t max_filters = 10;             // filters per REQ/COUNT
  uint32_t max_limit = 500;              // cap applied to a filter's `limit`
  uint32_t default_limit = 500;          // used when a filter has no `limit`
  uint32_t max_subid_length = 64;
  uint32_t max_event_tags = 2000;
  uint32_t max_content_length = 65536;  // bytes of UTF-8 content
  uint32_t max_event_size = 131072;     // bytes of the event's raw JSON
  uint32_t max_filter_values = 1000;    // items in one filter array (ids, authors, #x...)
  uint32_t max_json_depth = 16;         // nesting of a client frame (REQ needs 4)
  // Relative to now; 0 disables the check (NIP-11 semantics).
  uint64_t created_at_lower_limit = 0;    // reject events older than now - this
  uint64_t created_at_upper_limit = 900;  // reject events newer than now + this

  // Budgets: everything a client can make the relay hold has a per-connection
  // and a relay-wide bound (docs/limits.md). The defaults keep the wasm heap of
  // one Durable Object under 48 MiB whatever clients do.
  uint32_t max_connections = 4096;      // open sockets, relay-wide
  uint32_t max_connections_per_ip = 0;  // open sockets per remote address (0: no cap)
  uint32_t max_logins = 8;              // NIP-42 pubkeys per connection
  // NIP-13: an event's id must have at least this many leading zero bits,
  // committed to by a nonce tag's target (0: no proof of work required).
  uint32_t min_pow_difficulty = 0;
  uint32_t max_subscriptions_total = 20000;  // open REQs, relay-wide
  // Compiled filters of open subscriptions, in estimated heap bytes
  // (filter_cost()); each connection may always hold 2 KiB whatever the total.
  uint32_t max_filter_bytes = 262144;          // per connection
  uint32_t max_filter_bytes_total = 10485760;  // relay-wide
  // Events verified and waiting for (or inside) a D1 write. Bytes are each
  // event's raw JSON plus 512 (its queue entry and plan): the byte budgets
  // are what bound memory; the count only stops absurd numbers of tiny events.
  // Pipelining publishers (hundreds of small events in flight) fit.
  uint32_t max_pending_events = 1000;                // per connection
  uint32_t max_pending_event_bytes = 1048576;        // per connection
  uint32_t max_pending_event_bytes_total = 2097152;  // relay-wide
  // Stored-query results held in memory: one page per REQ at a time, and all
  // pages in flight together.
  uint32_t max_query_page_bytes = 262144;  // per REQ; >= max_event_size
  uint32_t max_queries_in_flight = 4;      // D1 reads per connection at once (more wait their turn)
  uint32_t max_queries_in_flight_total =
      8;  // relay-wide: what a write (or a new REQ) may wait behind in D1
  uint32_t max_query_bytes_total = 4194304;  // relay-wide
  // Stored-query output per connection (bytes/s, with a burst of twice that):
  // Workers cannot see a socket's send buffer, so this is what keeps a client
  // that does not read from making the relay queue its answers without end.
  uint32_t max_query_output_rate = 2097152;
  uint32_t max_pending_counts = 4;          // COUNTs in flight per connection
  uint32_t max_pending_counts_total = 256;  // relay-wide
  // NIP-77 negentropy: open syncs per connection, records one sync may hold
  // (a filter matching more gets NEG-ERR "blocked:"), and the bytes all syncs'
  // records take relay-wide (41 per record, core/negentropy.h).
  uint32_t max_neg_sessions = 2;
  uint32_t max_neg_records = 100000;
  uint32_t max_neg_bytes_total = 6291456;
};

// Returns a reason if `l` is inconsistent (e.g. a page smaller than one event).
[[nodiscard]] std::string check_limits(const Limits& l);

class JsonWriter;

// Writes the NIP-11 `limitation` object for `l` (plus the flags NIP-11 puts
// there) as the next value of `w`.
void write_nip11_limitation(JsonWriter& w, const Limits& l, bool auth_required,
                            bool payment_required, bool restricted_writes);

}  // namespace nostr
