#include "core/negentropy.h"

#include <algorithm>
#include <cassert>
#include <cstring>
#include <string>

#include "core/hex.h"
#include "core/sha256.h"

namespace nostr::neg {
namespace {

enum class Mode : uint8_t { skip = 0, fingerprint = 1, id_list = 2 };

Reject bad(std::string text) {
  return reject(Code::bad_negentropy, "negentropy: " + std::move(text));
}

int compare_ids(const uint8_t* a, const uint8_t* b) { return std::memcmp(a, b, kIdSize); }

// <0 if the item sorts before the bound.
int compare_item_bound(const Item& it, const Bound& b) {
  if (it.timestamp != b.timestamp) return it.timestamp < b.timestamp ? -1 : 1;
  return compare_ids(it.id.data(), b.id.data());
}

// Writes v as a varint into buf (at least 10 bytes); returns its length.
size_t put_varint(uint8_t* buf, uint64_t v) {
  uint8_t digits[10];
  size_t n = 0;
  do {
    digits[n++] = static_cast<uint8_t>(v & 0x7f);
    v >>= 7;
  } while (v != 0);
  for (size_t i = 0; i < n; ++i)
    buf[i] = static_cast<uint8_t>(digits[n - 1 - i] | (i + 1 < n ? 0x80 : 0));
  return n;
}

uint64_t load_le64(const uint8_t* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}

}  // namespace

bool operator<(const Item& a, const Item& b) {
  if (a.timestamp != b.timestamp) return a.timestamp < b.timestamp;
  return compare_ids(a.id.data(), b.id.data()) < 0;
}

bool operator==(const Item& a, const Item& b) {
  return a.timestamp == b.timestamp && compare_ids(a.id.data(), b.id.data()) == 0;
}

bool operator==(const Bound& a, const Bound& b) {
  return a.timestamp == b.timestamp && a.id_len == b.id_len &&
         compare_ids(a.id.data(), b.id.data()) == 0;
}

int compare(const Bound& a, const Bound& b) {
  if (a.timestamp != b.timestamp) return a.timestamp < b.timestamp ? -1 : 1;
  return compare_ids(a.id.data(), b.id.data());
}

// ---------------------------------------------------------------- encoding

void append_varint(std::vector<uint8_t>& out, uint64_t v) {
  uint8_t buf[10];
  out.insert(out.end(), buf, buf + put_varint(buf, v));
}

Result<uint64_t> read_varint(std::span<const uint8_t>& in) {
  uint64_t v = 0;
  for (size_t i = 0; i < in.size(); ++i) {
    const uint8_t byte = in[i];
    if (i == 0 && byte == 0x80) return bad("varint with a leading zero digit");
    if (v > (UINT64_MAX >> 7)) return bad("varint above 64 bits");
    v = (v << 7) | (byte & 0x7f);
    if ((byte & 0x80) == 0) {
      in = in.subspan(i + 1);
      return v;
    }
  }
  return bad("truncated varint");
}

void BoundWriter::append(std::vector<uint8_t>& out, const Bound& b) {
  assert(b.id_len <= kIdSize);
  if (b.timestamp == kInfinity) {
    last_ = kInfinity;
    append_varint(out, 0);
  } else {
    assert(last_ != kInfinity && b.timestamp >= last_);
    // A delta of 2^64-1 would need 1 + delta: impossible, timestamps stay below kInfinity.
    append_varint(out, b.timestamp - last_ + 1);
    last_ = b.timestamp;
  }
  append_varint(out, b.id_len);
  out.insert(out.end(), b.id.begin(), b.id.begin() + b.id_len);
}

Result<Bound> BoundReader::read(std::span<const uint8_t>& in) {
  auto encoded = read_varint(in);
  if (!encoded) return std::move(encoded).take_error();
  Bound b;
  if (encoded.value() == 0 || last_ == kInfinity) {
    b.timestamp = kInfinity;
  } else {
    const uint64_t delta = encoded.value() - 1;
    if (delta > kInfinity - last_) return bad("bound timestamp above 2^64-1");
    b.timestamp = last_ + delta;
  }
  last_ = b.timestamp;
  auto len = read_varint(in);
  if (!len) return std::move(len).take_error();
  if (len.value() > kIdSize) return bad("bound id prefix longer than 32 bytes");
  if (in.size() < len.value()) return bad("truncated bound id prefix");
  b.id_len = static_cast<uint8_t>(len.value());
  std::memcpy(b.id.data(), in.data(), b.id_len);
  in = in.subspan(b.id_len);
  return b;
}

// ----------------------------------------------------------------- storage

namespace {

void add_id(uint64_t* w, const uint8_t* id) {
  uint64_t carry = 0;
  for (int i = 0; i < 4; ++i) {
    const uint64_t x = load_le64(id + 8 * i);
    const uint64_t s = w[i] + x;
    const uint64_t c1 = s < x ? 1 : 0;
    w[i] = s + carry;
    carry = c1 | (w[i] < carry ? 1 : 0);
  }
}

void sub_sum(uint64_t* w, const uint64_t* x) {
  uint64_t borrow = 0;
  for (int i = 0; i < 4; ++i) {
    const uint64_t d = w[i] - x[i];
    const uint64_t b1 = w[i] < x[i] ? 1 : 0;
    const uint64_t r = d - borrow;
    const uint64_t b2 = d < borrow ? 1 : 0;
    w[i] = r;
    borrow = b1 | b2;
  }
}

}  // namespace

Storage::Storage(std::vector<Item> items) : items_(std::move(items)) {
  items_.erase(std::remove_if(items_.begin(), items_.end(),
                              [](const Item& it) { return it.timestamp == kInfinity; }),
               items_.end());
  std::sort(items_.begin(), items_.end());
  items_.erase(std::unique(items_.begin(), items_.end()), items_.end());

  block_sums_.resize(items_.size() / kBlock + 1);
  Sum running;
  for (size_t i = 0; i < items_.size(); ++i) {
    if (i % kBlock == 0) block_sums_[i / kBlock] = running;
    add_id(running.w, items_[i].id.data());
  }
  if (items_.size() % kBlock == 0) block_sums_.back() = running;
}

Storage::Sum Storage::prefix_sum(size_t end) const {
  const size_t block = end / kBlock;
  Sum s = block_sums_[block];
  for (size_t i = block * kBlock; i < end; ++i) add_id(s.w, items_[i].id.data());
  return s;
}

Fingerprint Storage::finish(const Sum& s, size_t count) {
  uint8_t buf[kIdSize + 10];
  for (int i = 0; i < 4; ++i) {
    for (int j = 0; j < 8; ++j) buf[8 * i + j] = static_cast<uint8_t>(s.w[i] >> (8 * j));
  }
  const size_t len = kIdSize + put_varint(buf + kIdSize, count);
  Sha256 h;
  h.update(buf, len);
  const Digest32 d = h.finish();
  Fingerprint fp;
  std::memcpy(fp.data(), d.data(), kFingerprintSize);
  return fp;
}

Fingerprint Storage::fingerprint(size_t begin, size_t end) const {
  assert(begin <= end && end <= items_.size());
  if (end - begin <= 2 * kBlock) return fingerprint_by_sum(begin, end);
  // Sums mod 2^256 form a group: a range is the difference of two prefixes.
  Sum s = prefix_sum(end);
  const Sum lower = prefix_sum(begin);
  sub_sum(s.w, lower.w);
  return finish(s, end - begin);
}

Fingerprint Storage::fingerprint_by_sum(size_t begin, size_t end) const {
  assert(begin <= end && end <= items_.size());
  Sum s;
  for (size_t i = begin; i < end; ++i) add_id(s.w, items_[i].id.data());
  return finish(s, end - begin);
}

size_t Storage::lower_bound(size_t from, const Bound& b) const {
  assert(from <= items_.size());
  const auto it =
      std::partition_point(items_.begin() + static_cast<std::ptrdiff_t>(from), items_.end(),
                           [&](const Item& x) { return compare_item_bound(x, b) < 0; });
  return static_cast<size_t>(it - items_.begin());
}

size_t Storage::memory_bytes() const {
  return items_.capacity() * sizeof(Item) + block_sums_.capacity() * sizeof(Sum);
}

// ------------------------------------------------------------ reconciliation

namespace {

// One range of an incoming message; the payload points into the message.
struct RangeIn {
  Bound upper;
  Mode mode = Mode::skip;
  const uint8_t* payload = nullptr;  // the fingerprint, or count ids
  size_t count = 0;
};

// Parses every range after the version byte, so that a malformed message is
// rejected before anything is computed or reported.
Result<std::vector<RangeIn>> parse_ranges(std::span<const uint8_t> in, size_t max_ranges) {
  std::vector<RangeIn> ranges;
  BoundReader reader;
  Bound prev;  // the first range starts at (0, empty)
  while (!in.empty()) {
    if (ranges.size() == max_ranges) {
      return bad("more than " + std::to_string(max_ranges) + " ranges in one message");
    }
    RangeIn r;
    auto bound = reader.read(in);
    if (!bound) return std::move(bound).take_error();
    r.upper = bound.value();
    if (compare(r.upper, prev) < 0) return bad("range bounds out of order");
    auto mode = read_varint(in);
    if (!mode) return std::move(mode).take_error();
    if (mode.value() > 2) return bad("unknown mode " + std::to_string(mode.value()));
    r.mode = static_cast<Mode>(mode.value());
    if (r.mode == Mode::fingerprint) {
      if (in.size() < kFingerprintSize) return bad("truncated fingerprint");
      r.payload = in.data();
      in = in.subspan(kFingerprintSize);
    } else if (r.mode == Mode::id_list) {
      auto count = read_varint(in);
      if (!count) return std::move(count).take_error();
      if (count.value() > in.size() / kIdSize) return bad("truncated id list");
      r.count = static_cast<size_t>(count.value());
      r.payload = in.data();
      in = in.subspan(r.count * kIdSize);
    }
    ranges.push_back(r);
    prev = r.upper;
  }
  return ranges;
}

Bound bound_at(uint64_t timestamp) {
  Bound b;
  b.timestamp = timestamp;
  return b;
}

Bound full_bound(const Item& it) {
  Bound b;
  b.timestamp = it.timestamp;
  b.id_len = kIdSize;
  b.id = it.id;
  return b;
}

// The shortest bound above prev and not above curr (prev < curr).
Bound minimal_bound(const Item& prev, const Item& curr) {
  if (curr.timestamp != prev.timestamp) return bound_at(curr.timestamp);
  size_t shared = 0;
  while (shared < kIdSize && prev.id[shared] == curr.id[shared]) ++shared;
  assert(shared < kIdSize);
  Bound b;
  b.timestamp = curr.timestamp;
  b.id_len = static_cast<uint8_t>(shared + 1);
  std::memcpy(b.id.data(), curr.id.data(), b.id_len);
  return b;
}

void append_fingerprint(std::vector<uint8_t>& out, const Fingerprint& fp) {
  out.insert(out.end(), fp.begin(), fp.end());
}

enum class Role : uint8_t { server, client };

// Builds one reply message from the parsed ranges of an incoming one.
class Reconciler {
 public:
  Reconciler(const Storage& storage, const Options& options, Role role, std::vector<Id>* have,
             std::vector<Id>* need)
      : storage_(storage), role_(role), have_(have), need_(need) {
    // Past the budget go at most: a server IdList's header (<= 47 bytes, its
    // ids are counted) or a pending skip (<= 45), then the closing
    // fingerprint (19). The reference's 200-byte margin covers both.
    // Limits below the minimum are raised to it (asserted by the callers, so
    // a release build still never wraps below the margin).
    const uint32_t limit = options.frame_size_limit == 0 && role == Role::client
                               ? 0
                               : std::max(options.frame_size_limit, kMinFrameSizeLimit);
    budget_ = limit == 0 ? SIZE_MAX : limit - 200;
    out_.push_back(kProtocolVersion);
  }

  // Splits [lower, upper) of our items into kBuckets fingerprints ending at
  // `upper_bound`, or lists it if small.
  void split(size_t lower, size_t upper, const Bound& upper_bound) {
    const size_t count = upper - lower;
    if (count < 2 * kBuckets) {
      writer_.append(out_, upper_bound);
      append_varint(out_, static_cast<uint64_t>(Mode::id_list));
      append_varint(out_, count);
      for (size_t i = lower; i < upper; ++i)
        out_.insert(out_.end(), storage_[i].id.begin(), storage_[i].id.end());
      return;
    }
    const size_t per_bucket = count / kBuckets;
    const size_t with_extra = count % kBuckets;
    size_t curr = lower;
    for (size_t i = 0; i < kBuckets; ++i) {
      const size_t size = per_bucket + (i < with_extra ? 1 : 0);
      const Fingerprint fp = storage_.fingerprint(curr, curr + size);
      curr += size;
      writer_.append(
          out_, curr == upper ? upper_bound : minimal_bound(storage_[curr - 1], storage_[curr]));
      append_varint(out_, static_cast<uint64_t>(Mode::fingerprint));
      append_fingerprint(out_, fp);
    }
  }

  void run(const std::vector<RangeIn>& ranges) {
    size_t prev_index = 0;
    Bound prev_bound;
    bool skip = false;  // skip ranges are pending: written only if something follows
    for (const RangeIn& r : ranges) {
      const size_t lower = prev_index;
      const size_t upper = storage_.lower_bound(prev_index, r.upper);
      const size_t mark_size = out_.size();
      const BoundWriter mark_writer = writer_;
      const bool mark_skip = skip;
      const auto flush_skip = [&] {
        if (!skip) return;
        writer_.append(out_, prev_bound);
        append_varint(out_, static_cast<uint64_t>(Mode::skip));
        skip = false;
      };
      bool cut = false;  // this range's answer does not fit

      switch (r.mode) {
        case Mode::skip:
          skip = true;
          break;
        case Mode::fingerprint: {
          const Fingerprint ours = storage_.fingerprint(lower, upper);
          if (std::memcmp(ours.data(), r.payload, kFingerprintSize) == 0) {
            skip = true;
          } else {
            flush_skip();
            split(lower, upper, r.upper);
          }
          break;
        }
        case Mode::id_list: {
          if (role_ == Role::client) {
            diff(lower, upper, r.payload, r.count);
            skip = true;
            break;
          }
          // The server answers with its own ids of the range, as many as fit.
          flush_skip();
          size_t fit = upper - lower;
          if (budget_ != SIZE_MAX)
            fit = std::min(fit, out_.size() < budget_ ? (budget_ - out_.size()) / kIdSize : 0);
          if (fit == 0 && upper > lower) {
            cut = true;
            break;
          }
          const size_t end = lower + fit;
          writer_.append(out_, end == upper ? r.upper : full_bound(storage_[end]));
          append_varint(out_, static_cast<uint64_t>(Mode::id_list));
          append_varint(out_, fit);
          for (size_t i = lower; i < end; ++i)
            out_.insert(out_.end(), storage_[i].id.begin(), storage_[i].id.end());
          if (end < upper || out_.size() > budget_) {
            finish_with_rest(end);
            return;
          }
          break;
        }
      }

      if (cut || out_.size() > budget_) {
        // Drop this range's answer: the ranges before it are settled (write
        // their pending skip), and one fingerprint covers the rest from here.
        out_.resize(mark_size);
        writer_ = mark_writer;
        if (mark_skip) {
          writer_.append(out_, prev_bound);
          append_varint(out_, static_cast<uint64_t>(Mode::skip));
        }
        finish_with_rest(lower);
        return;
      }
      prev_index = upper;
      prev_bound = r.upper;
    }
  }

  std::vector<uint8_t> take() { return std::move(out_); }

 private:
  // Ends the reply with one range from the last written bound to infinity:
  // the fingerprint of our items from index `from` (that bound's position).
  void finish_with_rest(size_t from) {
    writer_.append(out_, bound_at(kInfinity));
    append_varint(out_, static_cast<uint64_t>(Mode::fingerprint));
    append_fingerprint(out_, storage_.fingerprint(from, storage_.size()));
  }

  // Client: compares the server's ids of a range with ours.
  void diff(size_t lower, size_t upper, const uint8_t* payload, size_t count) {
    std::vector<Id> theirs(count);
    for (size_t i = 0; i < count; ++i)
      std::memcpy(theirs[i].data(), payload + i * kIdSize, kIdSize);
    const auto less = [](const Id& a, const Id& b) { return compare_ids(a.data(), b.data()) < 0; };
    const auto same = [](const Id& a, const Id& b) { return compare_ids(a.data(), b.data()) == 0; };
    std::sort(theirs.begin(), theirs.end(), less);
    theirs.erase(std::unique(theirs.begin(), theirs.end(), same), theirs.end());
    std::vector<uint8_t> matched(theirs.size(), 0);
    for (size_t i = lower; i < upper; ++i) {
      const Id& id = storage_[i].id;
      const auto it = std::lower_bound(theirs.begin(), theirs.end(), id, less);
      if (it != theirs.end() && same(*it, id)) {
        matched[static_cast<size_t>(it - theirs.begin())] = 1;
      } else {
        have_->push_back(id);
      }
    }
    for (size_t j = 0; j < theirs.size(); ++j) {
      if (!matched[j]) need_->push_back(theirs[j]);
    }
  }

  const Storage& storage_;
  Role role_;
  std::vector<Id>* have_;
  std::vector<Id>* need_;
  size_t budget_;
  std::vector<uint8_t> out_;
  BoundWriter writer_;
};

}  // namespace

Result<std::vector<uint8_t>> server_reconcile(const Storage& storage, std::span<const uint8_t> msg,
                                              const Options& options) {
  assert(options.frame_size_limit >= kMinFrameSizeLimit);
  if (msg.empty()) return bad("empty message");
  const uint8_t version = msg[0];
  if (version < 0x60 || version > 0x6f) return bad("not a negentropy message (version byte)");
  if (version != kProtocolVersion) return std::vector<uint8_t>{kProtocolVersion};
  auto ranges = parse_ranges(msg.subspan(1), options.max_ranges);
  if (!ranges) return std::move(ranges).take_error();
  Reconciler rec(storage, options, Role::server, nullptr, nullptr);
  rec.run(ranges.value());
  return rec.take();
}

std::vector<uint8_t> client_initiate(const Storage& storage) {
  Options unlimited;
  unlimited.frame_size_limit = 0;
  Reconciler rec(storage, unlimited, Role::client, nullptr, nullptr);
  rec.split(0, storage.size(), bound_at(kInfinity));
  return rec.take();
}

Result<std::vector<uint8_t>> client_reconcile(const Storage& storage, std::span<const uint8_t> msg,
                                              std::vector<Id>& have, std::vector<Id>& need,
                                              const Options& options) {
  assert(options.frame_size_limit == 0 || options.frame_size_limit >= kMinFrameSizeLimit);
  if (msg.empty()) return bad("empty message");
  if (msg[0] != kProtocolVersion) {
    return bad("unsupported protocol version 0x" + to_hex(msg.data(), 1));
  }
  auto ranges = parse_ranges(msg.subspan(1), options.max_ranges);
  if (!ranges) return std::move(ranges).take_error();
  Reconciler rec(storage, options, Role::client, &have, &need);
  rec.run(ranges.value());
  std::vector<uint8_t> out = rec.take();
  if (out.size() == 1) out.clear();  // nothing left to ask: the sync is complete
  return out;
}

Result<std::vector<uint8_t>> message_from_hex(std::string_view hex) {
  if (hex.size() % 2 != 0) return bad("odd-length hex");
  std::vector<uint8_t> out(hex.size() / 2);
  if (!decode_lower_hex(hex, out.data(), out.size())) return bad("not lowercase hex");
  return out;
}

}  // namespace nostr::neg
