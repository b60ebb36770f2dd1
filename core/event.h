// Event: a Nostr event parsed from JSON with strict NIP-01 types, keeping the
// exact raw bytes the client sent (the relay stores and returns those).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/limits.h"
#include "core/result.h"
#include "core/types.h"
#include "simdjson.h"

namespace nostr {

enum class KindClass : uint8_t { regular, replaceable, ephemeral, addressable };

// Returns the NIP-01 storage class of `kind`.
KindClass kind_class(uint32_t kind);

// NIP-09: the kind of deletion requests.
inline constexpr uint32_t kDeletionKind = 5;
// NIP-62 request to vanish: delete everything of its author up to its created_at.
inline constexpr uint32_t kVanishKind = 62;

class Event;

// One tag: a read-only list of strings borrowed from its Event.
class TagView {
 public:
  size_t size() const { return end_ - begin_; }
  bool empty() const { return size() == 0; }
  std::string_view operator[](size_t i) const;

 private:
  friend class Event;
  TagView(const Event* e, uint32_t begin, uint32_t end) : e_(e), begin_(begin), end_(end) {}
  const Event* e_;
  uint32_t begin_, end_;
};

class Event {
 public:
  // Parses a JSON object already parsed by simdjson. Checks field types,
  // missing/duplicate/unknown fields and size limits; does NOT check id or
  // signature (see verify_event) nor time (see check_event_time).
  // `raw` is the object's exact JSON text; it is copied.
  [[nodiscard]] static Result<Event> from_element(simdjson::dom::element obj, std::string_view raw,
                                                  const Limits& limits);

  // Parses standalone event JSON with `parser` (which must be able to hold it).
  [[nodiscard]] static Result<Event> parse(simdjson::dom::parser& parser, std::string_view json,
                                           const Limits& limits);

  const EventId& id() const { return id_; }
  const Pubkey& pubkey() const { return pubkey_; }
  const Signature& sig() const { return sig_; }
  uint64_t created_at() const { return created_at_; }
  uint32_t kind() const { return kind_; }
  std::string_view content() const { return content_; }
  // The exact JSON text of the event as received.
  std::string_view raw() const { return raw_; }

  size_t tag_count() const { return tag_begin_.size() - 1; }
  TagView tag(size_t i) const { return TagView(this, tag_begin_[i], tag_begin_[i + 1]); }

  KindClass kind_class() const { return nostr::kind_class(kind_); }
  // Value of the first "d" tag ("" if none): the address part of addressable events.
  std::string_view d_tag() const;
  // NIP-40: the first well-formed "expiration" tag, if any.
  std::optional<uint64_t> expiration() const;
  // NIP-70: true if the event carries a ["-"] tag.
  bool is_protected() const;

  // Returns the NIP-01 serialization [0,pubkey,created_at,kind,tags,content]
  // exactly as JSON.stringify writes it.
  std::string canonical_json() const;
  // Returns sha256(canonical_json()).
  EventId computed_id() const;

 private:
  friend class TagView;
  struct Span {
    uint32_t offset, length;
  };
  Event();
  std::string_view span(Span s) const { return std::string_view(strings_).substr(s.offset, s.length); }

  EventId id_;
  Pubkey pubkey_;
  Signature sig_;
  uint64_t created_at_ = 0;
  uint32_t kind_ = 0;
  std::string content_;
  std::string raw_;
  std::string strings_;             // all tag strings, unescaped, back to back
  std::vector<Span> items_;         // every tag item, in order
  std::vector<uint32_t> tag_begin_; // tag i = items_[tag_begin_[i] .. tag_begin_[i+1])
};

// Checks that id == sha256(canonical_json()) and that sig is a valid BIP-340
// signature of id by pubkey. Returns id_mismatch or bad_signature.
[[nodiscard]] Status verify_event(const Event& e);

// Checks created_at against the limits' window around `now` (unix seconds) and
// NIP-40 expiration. Returns created_at_too_old/too_new or expired.
[[nodiscard]] Status check_event_time(const Event& e, const Limits& limits, uint64_t now);

// Largest created_at accepted: JavaScript's Number.MAX_SAFE_INTEGER, so every
// value round-trips exactly through JSON.stringify.
inline constexpr uint64_t kMaxTimestamp = (uint64_t{1} << 53) - 1;

// Returns a non-negative integer < 2^53 from a JSON number, or nullopt for
// floats, exponents, negatives and anything that is not a number.
std::optional<uint64_t> json_timestamp(simdjson::dom::element v);

}  // namespace nostr
