// NIP-77 negentropy, protocol V1 (version byte 0x61): range-based set
// reconciliation of (timestamp, id) items between a client (the initiator) and
// a server. Pure and sans-IO. Both sides are stateless between messages: a
// session is one Storage plus the Options, and each call maps one incoming
// message to the reply.
//
// Messages are bytes here. On the wire (NEG-OPEN / NEG-MSG) they are lowercase
// hex: message_from_hex() and to_hex() (core/hex.h) convert.
//
// Interoperates with the reference implementation (hoytech/negentropy): 16
// buckets per split, an IdList below 32 items, the 200-byte margin under the
// frame size limit. One deliberate difference: when a message is cut at the
// frame size limit, we write the pending skip and close with the fingerprint
// of everything from the dropped range on. The reference closes from the last
// bound it wrote but hashes only the items after the dropped range: a peer
// compares two different sets, which costs a round, or, when its items from
// that bound on equal the sender's items after the dropped range, skips the
// dropped range's differences for good.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "core/result.h"

namespace nostr::neg {

inline constexpr uint8_t kProtocolVersion = 0x61;
inline constexpr size_t kIdSize = 32;
inline constexpr size_t kFingerprintSize = 16;
// The timestamp that encodes "infinity"; items may not use it.
inline constexpr uint64_t kInfinity = UINT64_MAX;
// A range of at least 2 * kBuckets items is split into kBuckets fingerprints,
// a smaller one is sent as an IdList.
inline constexpr size_t kBuckets = 16;
// The smallest frame size limit (as in the reference): every first range of a
// message fits under it, so a limited sync still makes progress each round.
inline constexpr uint32_t kMinFrameSizeLimit = 4096;

using Id = std::array<uint8_t, kIdSize>;
using Fingerprint = std::array<uint8_t, kFingerprintSize>;

// One record: an event's created_at and id. 40 bytes.
struct Item {
  uint64_t timestamp = 0;
  Id id{};
};
// Order by (timestamp, id bytes). Hand-written: libc++ 14 has no <=> for std::array.
bool operator<(const Item& a, const Item& b);
bool operator==(const Item& a, const Item& b);

// A point in (timestamp, id) space: a timestamp and an id prefix of id_len
// bytes; the bytes after the prefix are zero. Ranges end before their bound.
struct Bound {
  uint64_t timestamp = 0;
  uint8_t id_len = 0;  // 0..32
  Id id{};             // prefix, zero-padded
};
bool operator==(const Bound& a, const Bound& b);
// Returns <0, 0, >0 comparing positions (the zero padding makes (t, "ab") equal (t, "ab00")).
int compare(const Bound& a, const Bound& b);

// ---------------------------------------------------------------- encoding

// Appends v as a varint: base 128, most significant digit first, the high bit
// set on every byte but the last.
void append_varint(std::vector<uint8_t>& out, uint64_t v);
// Reads a varint from the front of `in` and advances it past it. Rejects a
// truncated varint, one above 2^64-1 and one with a leading zero digit (the
// NIP asks for as few digits as possible).
[[nodiscard]] Result<uint64_t> read_varint(std::span<const uint8_t>& in);

// Bounds carry their timestamp as a delta from the previous bound of the same
// message (1 + delta; 0 is infinity). One writer/reader per message.
class BoundWriter {
 public:
  // Appends b. Bounds must come in non-decreasing order (asserted).
  void append(std::vector<uint8_t>& out, const Bound& b);

 private:
  uint64_t last_ = 0;
};
class BoundReader {
 public:
  // Reads a bound from the front of `in` and advances it. Rejects truncation,
  // a timestamp beyond 2^64-1 and an id prefix longer than 32 bytes. Once a
  // bound is infinite, later ones are too (as in the reference).
  [[nodiscard]] Result<Bound> read(std::span<const uint8_t>& in);

 private:
  uint64_t last_ = 0;
};

// ----------------------------------------------------------------- storage

// The sealed item set of one side: sorted, without duplicates, with running
// sums for fast fingerprints. Memory: 40 bytes per item plus 32 bytes per
// kBlock items (41 bytes per item), see memory_bytes(). Immutable once built.
class Storage {
 public:
  static constexpr size_t kBlock = 32;

  Storage() = default;
  // Takes the items; sorts them, drops duplicates and items whose timestamp
  // is kInfinity (NIP-77 reserves it; created_at never reaches it). O(n log n).
  explicit Storage(std::vector<Item> items);

  size_t size() const { return items_.size(); }
  const Item& operator[](size_t i) const { return items_[i]; }
  const std::vector<Item>& items() const { return items_; }

  // Returns the NIP-77 fingerprint of items [begin, end): the first 16 bytes
  // of sha256(sum of ids as 256-bit little-endian integers mod 2^256 ||
  // varint(end - begin)). Asserts begin <= end <= size(). Cost: at most
  // 2 * kBlock additions and one SHA-256, whatever the range length.
  Fingerprint fingerprint(size_t begin, size_t end) const;
  // The same by summing every id of the range (the reference's way): for tests
  // and benchmarks. O(end - begin).
  Fingerprint fingerprint_by_sum(size_t begin, size_t end) const;

  // Returns the first index in [from, size()] whose item is not below b.
  // Asserts from <= size(). O(log n).
  size_t lower_bound(size_t from, const Bound& b) const;

  // Returns the heap bytes held (capacities of both arrays).
  size_t memory_bytes() const;

 private:
  struct Sum {
    uint64_t w[4] = {0, 0, 0, 0};  // little-endian limbs
  };
  Sum prefix_sum(size_t end) const;
  static Fingerprint finish(const Sum& s, size_t count);

  std::vector<Item> items_;
  std::vector<Sum> block_sums_;  // block_sums_[k] = sum of items_[0, k * kBlock)
};

// ------------------------------------------------------------ reconciliation

struct Options {
  // Largest message produced, in bytes (the hex on the wire is twice this).
  // At least kMinFrameSizeLimit (asserted; release builds raise smaller
  // values to it). 0 means no limit and is allowed for the client only. A cut
  // message ends with a fingerprint of the rest, which later rounds reconcile.
  uint32_t frame_size_limit = 60000;
  // Most ranges accepted in one incoming message; more is rejected. Each range
  // costs the server O(log n + kBlock) and at most one SHA-256, and the reply
  // is bounded by frame_size_limit, so this bounds the CPU of one message.
  // A reply of F bytes holds at most F / 19 fingerprint ranges and a
  // well-behaved peer answers each with at most a skip and one other range
  // (its own splits are bounded by its frame size limit): 8192 leaves room
  // for the 60000-byte default on both sides.
  uint32_t max_ranges = 8192;
};

// Server side: returns the reply to a client message, initial (NEG-OPEN) or
// later (NEG-MSG). Borrows `storage` and `msg` for the call only; allocates
// the parsed ranges (72 bytes each) and the reply for the call.
//  - A version byte in 0x60..0x6f other than 0x61: replies with just 0x61 (NIP-77).
//  - Malformed input is a Code::bad_negentropy rejection: empty message,
//    version byte outside 0x60..0x6f, truncated, oversized or non-minimal
//    varint, bound timestamp beyond 2^64-1, mode above 2, id prefix above 32
//    bytes, IdList shorter than its count, bounds out of order (equal bounds,
//    an empty range, are allowed), more than max_ranges ranges. The whole message is checked
//    before any reply is built.
//  - The reply never exceeds options.frame_size_limit bytes.
[[nodiscard]] Result<std::vector<uint8_t>> server_reconcile(const Storage& storage,
                                                            std::span<const uint8_t> msg,
                                                            const Options& options = {});

// Client side: returns the initial message (the NEG-OPEN payload) for the
// client's items. Not cut at a frame size limit (as in the reference): it is
// at most 16 fingerprint ranges or 31 ids, about 1 KB.
std::vector<uint8_t> client_initiate(const Storage& storage);

// Client side: processes a server message and returns the next message to
// send, or an empty vector when the sync is complete (then send NEG-CLOSE).
// Appends to `have` the ids only the client has and to `need` the ids only
// the server has, as ranges resolve. An id can be reported again in a later
// round when the server cut a reply at its frame size limit: everything after
// the cut is reconciled anew, ranges already settled included (the reference
// does the same); callers that need each id once deduplicate. A server
// without a frame size limit can send more ranges than the default
// max_ranges: raise it for such peers. Rejects what server_reconcile
// rejects, and any version byte other than 0x61; nothing is appended then.
// Borrows everything for the call only.
[[nodiscard]] Result<std::vector<uint8_t>> client_reconcile(const Storage& storage,
                                                            std::span<const uint8_t> msg,
                                                            std::vector<Id>& have,
                                                            std::vector<Id>& need,
                                                            const Options& options = {});

// Returns the bytes of a NEG-OPEN / NEG-MSG hex string; rejects (bad_negentropy)
// odd lengths and anything but lowercase hex digits.
[[nodiscard]] Result<std::vector<uint8_t>> message_from_hex(std::string_view hex);

}  // namespace nostr::neg
