#include "core/event.h"

#include <cassert>

#include "core/json_writer.h"
#include "core/sha256.h"
#include "core/text.h"

namespace nostr {

KindClass kind_class(uint32_t kind) {
  if (kind == 0 || kind == 3 || (kind >= 10000 && kind < 20000)) return KindClass::replaceable;
  if (kind >= 20000 && kind < 30000) return KindClass::ephemeral;
  if (kind >= 30000 && kind < 40000) return KindClass::addressable;
  return KindClass::regular;
}

std::string_view TagView::operator[](size_t i) const {
  assert(i < size());
  return e_->span(e_->items_[begin_ + i]);
}

Event::Event()
    : id_(EventId::from_bytes({})),
      pubkey_(Pubkey::from_bytes({})),
      sig_(Signature::from_bytes({})),
      tag_begin_{0} {}

std::optional<uint64_t> json_timestamp(simdjson::dom::element v) {
  const auto t = v.type();
  // DOUBLE covers "1.0", "1e3" and integers too large for 64 bits.
  if (t != simdjson::dom::element_type::INT64 && t != simdjson::dom::element_type::UINT64) {
    return std::nullopt;
  }
  uint64_t out = 0;
  if (v.get_uint64().get(out) != simdjson::SUCCESS) return std::nullopt;  // negative
  if (out > kMaxTimestamp) return std::nullopt;
  return out;
}

namespace {

enum Field : uint32_t {
  kId = 1,
  kPubkey = 2,
  kCreatedAt = 4,
  kKind = 8,
  kTags = 16,
  kContent = 32,
  kSig = 64,
  kAllFields = 127,
};

Field field_of(std::string_view key) {
  if (key == "id") return kId;
  if (key == "pubkey") return kPubkey;
  if (key == "created_at") return kCreatedAt;
  if (key == "kind") return kKind;
  if (key == "tags") return kTags;
  if (key == "content") return kContent;
  if (key == "sig") return kSig;
  return Field{0};
}

const char* field_name(uint32_t f) {
  switch (f) {
    case kId: return "id";
    case kPubkey: return "pubkey";
    case kCreatedAt: return "created_at";
    case kKind: return "kind";
    case kTags: return "tags";
    case kContent: return "content";
    default: return "sig";
  }
}

}  // namespace

Result<Event> Event::from_element(simdjson::dom::element el, std::string_view raw,
                                  const Limits& limits) {
  using simdjson::SUCCESS;
  simdjson::dom::object obj;
  if (el.get_object().get(obj) != SUCCESS) return reject(Code::event_not_object, "event must be a JSON object");
  if (raw.size() > limits.max_event_size) {
    return reject(Code::event_too_large,
                  "event is " + std::to_string(raw.size()) + " bytes, limit is " +
                      std::to_string(limits.max_event_size));
  }
  Event e;
  uint32_t seen = 0;
  for (simdjson::dom::key_value_pair kv : obj) {
    const Field f = field_of(kv.key);
    if (f == 0) {
      const std::string key(utf8_prefix(kv.key, 32));
      // Extra fields would be stored and served verbatim; refuse them.
      return reject(Code::unknown_field, "unknown field in event: " + key);
    }
    if (seen & f) return reject(Code::duplicate_field, std::string("duplicate field in event: ") + field_name(f));
    seen |= f;
    std::string_view s;
    switch (f) {
      case kId: {
        std::optional<EventId> v;
        if (kv.value.get_string().get(s) != SUCCESS || !(v = EventId::from_hex(s))) {
          return reject(Code::bad_id, "id must be 64 lowercase hex characters");
        }
        e.id_ = *v;
        break;
      }
      case kPubkey: {
        std::optional<Pubkey> v;
        if (kv.value.get_string().get(s) != SUCCESS || !(v = Pubkey::from_hex(s))) {
          return reject(Code::bad_pubkey, "pubkey must be 64 lowercase hex characters");
        }
        e.pubkey_ = *v;
        break;
      }
      case kSig: {
        std::optional<Signature> v;
        if (kv.value.get_string().get(s) != SUCCESS || !(v = Signature::from_hex(s))) {
          return reject(Code::bad_sig, "sig must be 128 lowercase hex characters");
        }
        e.sig_ = *v;
        break;
      }
      case kCreatedAt: {
        const auto ts = json_timestamp(kv.value);
        if (!ts) return reject(Code::bad_created_at, "created_at must be a non-negative integer");
        e.created_at_ = *ts;
        break;
      }
      case kKind: {
        uint64_t k = 0;
        const auto t = kv.value.type();
        if ((t != simdjson::dom::element_type::INT64 && t != simdjson::dom::element_type::UINT64) ||
            kv.value.get_uint64().get(k) != SUCCESS || k > 65535) {
          return reject(Code::bad_kind, "kind must be an integer between 0 and 65535");
        }
        e.kind_ = static_cast<uint32_t>(k);
        break;
      }
      case kContent: {
        if (kv.value.get_string().get(s) != SUCCESS) return reject(Code::bad_content, "content must be a string");
        if (s.size() > limits.max_content_length) {
          return reject(Code::content_too_long, "content is " + std::to_string(s.size()) +
                                                    " bytes, limit is " +
                                                    std::to_string(limits.max_content_length));
        }
        e.content_.assign(s);
        break;
      }
      case kTags: {
        simdjson::dom::array tags;
        if (kv.value.get_array().get(tags) != SUCCESS) {
          return reject(Code::bad_tags, "tags must be an array of arrays of strings");
        }
        for (simdjson::dom::element tag : tags) {
          simdjson::dom::array items;
          if (tag.get_array().get(items) != SUCCESS) {
            return reject(Code::bad_tags, "each tag must be an array of strings");
          }
          if (e.tag_count() >= limits.max_event_tags) {
            return reject(Code::too_many_tags,
                          "more than " + std::to_string(limits.max_event_tags) + " tags");
          }
          // A tag is at least its name: [] and [""] say nothing and only cost storage.
          if (items.size() == 0) return reject(Code::bad_tags, "a tag must not be empty");
          for (simdjson::dom::element item : items) {
            if (item.get_string().get(s) != SUCCESS) {
              return reject(Code::bad_tags, "tag items must be strings");
            }
            if (s.empty() && e.items_.size() == e.tag_begin_.back()) {
              return reject(Code::bad_tags, "a tag name must not be empty");
            }
            e.items_.push_back(Span{static_cast<uint32_t>(e.strings_.size()), static_cast<uint32_t>(s.size())});
            e.strings_.append(s);
          }
          e.tag_begin_.push_back(static_cast<uint32_t>(e.items_.size()));
        }
        break;
      }
      default: break;
    }
  }
  if (seen != kAllFields) {
    for (uint32_t f = 1; f < kAllFields; f <<= 1) {
      if (!(seen & f)) return reject(Code::missing_field, std::string("missing field in event: ") + field_name(f));
    }
  }
  e.raw_.assign(raw);
  return e;
}

Result<Event> Event::parse(simdjson::dom::parser& parser, std::string_view json, const Limits& limits) {
  simdjson::dom::element el;
  const auto err = parser.parse(json.data(), json.size(), true).get(el);
  if (err == simdjson::DEPTH_ERROR) return reject(Code::too_deep, "JSON nested too deeply");
  if (err != simdjson::SUCCESS) return reject(Code::bad_json, "event is not valid JSON");
  return from_element(el, json, limits);
}

std::string_view Event::d_tag() const {
  for (size_t i = 0; i < tag_count(); ++i) {
    const TagView t = tag(i);
    if (t.size() >= 2 && t[0] == "d") return t[1];
  }
  return {};
}

std::optional<uint64_t> Event::expiration() const {
  for (size_t i = 0; i < tag_count(); ++i) {
    const TagView t = tag(i);
    if (t.size() < 2 || t[0] != "expiration") continue;
    const std::string_view v = t[1];
    uint64_t out = 0;
    if (v.size() <= 16 && parse_decimal(v, out)) return out;
  }
  return std::nullopt;
}

bool Event::is_protected() const {
  for (size_t i = 0; i < tag_count(); ++i) {
    const TagView t = tag(i);
    if (t.size() == 1 && t[0] == "-") return true;
  }
  return false;
}

// Hot path / byte-exact: direct appends (the text hashed for the event id).
std::string Event::canonical_json() const {
  std::string out;
  out.reserve(raw_.size() + 16);
  out += "[0,\"";
  char pk[64];
  encode_hex(pubkey_.data(), 32, pk);
  out.append(pk, 64);
  out += "\",";
  append_uint(out, created_at_);
  out += ',';
  append_uint(out, kind_);
  out += ",[";
  for (size_t i = 0; i < tag_count(); ++i) {
    if (i) out += ',';
    out += '[';
    const TagView t = tag(i);
    for (size_t j = 0; j < t.size(); ++j) {
      if (j) out += ',';
      append_json_string(out, t[j]);
    }
    out += ']';
  }
  out += "],";
  append_json_string(out, content_);
  out += ']';
  return out;
}

EventId Event::computed_id() const { return EventId::from_bytes(sha256(canonical_json())); }

Status check_event_time(const Event& e, const Limits& limits, uint64_t now) {
  if (limits.created_at_upper_limit && e.created_at() > now + limits.created_at_upper_limit) {
    return reject(Code::created_at_too_new,
                  "created_at is more than " + std::to_string(limits.created_at_upper_limit) +
                      " seconds in the future");
  }
  if (limits.created_at_lower_limit && e.created_at() + limits.created_at_lower_limit < now) {
    return reject(Code::created_at_too_old,
                  "created_at is more than " + std::to_string(limits.created_at_lower_limit) +
                      " seconds in the past");
  }
  if (const auto exp = e.expiration(); exp && *exp <= now) {
    return reject(Code::expired, "event has expired");
  }
  return {};
}

}  // namespace nostr
