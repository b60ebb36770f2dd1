// Implementation of core_abi.h: a thin adapter from C calls to the core.
#include "core/abi/core_abi.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <iterator>
#include <variant>
#include <new>
#include <string>

#include "core/abi/export.h"
#include "core/config.h"
#include "core/event.h"
#include "core/message.h"
#include "core/relay_message.h"
#include "core/verify.h"

struct nr_ctx {
  nostr::MessageParser parser{nostr::Limits{}};
  std::string out;
};

namespace {

std::string_view bytes(const uint8_t* p, uint32_t n) { return {reinterpret_cast<const char*>(p), n}; }

int32_t fail(nr_ctx* ctx, const nostr::Reject& r) {
  ctx->out = r.wire_message();
  return static_cast<int32_t>(r.code);
}

// Structure, then id + signature, then time; the order a relay checks in.
nostr::Status validate_fully(const nostr::Event& e, const nostr::Limits& limits, double now) {
  if (auto st = nostr::verify_event(e); !st) return st;
  return nostr::check_event_time(e, limits, static_cast<uint64_t>(now));
}

}  // namespace

NR_EXPORT("nr_abi_version") uint32_t nr_abi_version(void) { return 1; }

NR_EXPORT("nr_alloc") uint8_t* nr_alloc(uint32_t n) {
  return static_cast<uint8_t*>(std::malloc(static_cast<size_t>(n) + NR_PADDING));
}

NR_EXPORT("nr_free") void nr_free(uint8_t* p) { std::free(p); }

NR_EXPORT("nr_ctx_new") nr_ctx* nr_ctx_new(void) {
  nostr::crypto_selftest();  // before the context verifies anything
  return new (std::nothrow) nr_ctx();
}

NR_EXPORT("nr_ctx_free") void nr_ctx_free(nr_ctx* ctx) { delete ctx; }

NR_EXPORT("nr_out_ptr") const uint8_t* nr_out_ptr(const nr_ctx* ctx) {
  return reinterpret_cast<const uint8_t*>(ctx->out.data());
}

NR_EXPORT("nr_out_len") uint32_t nr_out_len(const nr_ctx* ctx) { return static_cast<uint32_t>(ctx->out.size()); }

NR_EXPORT("nr_validate_event")
int32_t nr_validate_event(nr_ctx* ctx, const uint8_t* json, uint32_t len, double now) {
  auto ev = nostr::Event::parse(ctx->parser.json(), bytes(json, len), ctx->parser.limits());
  if (!ev) return fail(ctx, ev.error());
  if (auto st = validate_fully(ev.value(), ctx->parser.limits(), now); !st) return fail(ctx, st.error());
  ctx->out = ev->id().hex();
  return 0;
}

NR_EXPORT("nr_check_frame")
int32_t nr_check_frame(nr_ctx* ctx, const uint8_t* frame, uint32_t len, double now) {
  nostr::ParsedFrame parsed = ctx->parser.parse(bytes(frame, len), true);
  if (!parsed.ok()) {
    ctx->out = nostr::reply_for(parsed.error);
    return static_cast<int32_t>(parsed.error.reject.code);
  }
  static constexpr const char* kNames[] = {"EVENT", "REQ", "COUNT", "CLOSE", "AUTH", "NEG", "NEG", "NEG"};
  static_assert(std::size(kNames) == std::variant_size_v<nostr::ClientMessage>, "one name per message type");
  const nostr::ClientMessage& m = *parsed.message;
  const nostr::Event* ev = nullptr;
  if (auto* e = std::get_if<nostr::EventMessage>(&m)) ev = &e->event;
  if (auto* a = std::get_if<nostr::AuthMessage>(&m)) ev = &a->event;
  if (ev) {
    if (auto st = validate_fully(*ev, ctx->parser.limits(), now); !st) {
      ctx->out = nostr::ok_message(ev->id().hex(), false, st.error().wire_message());
      return static_cast<int32_t>(st.error().code);
    }
  }
  ctx->out = kNames[m.index()];
  return 0;
}

NR_EXPORT("nr_serialize_event")
int32_t nr_serialize_event(nr_ctx* ctx, const uint8_t* json, uint32_t len) {
  auto ev = nostr::Event::parse(ctx->parser.json(), bytes(json, len), ctx->parser.limits());
  if (!ev) return fail(ctx, ev.error());
  ctx->out = ev->canonical_json();
  return 0;
}

NR_EXPORT("nr_config_error")
uint32_t nr_config_error(const uint8_t* json, uint32_t len, uint8_t* out, uint32_t cap) {
  const auto config = nostr::parse_config(bytes(json, len));
  if (config) return 0;
  // A refusal always has a reason: 0 must keep meaning "valid".
  const std::string why = config.error().text.empty() ? std::string("config: invalid") : config.error().text;
  if (out) std::memcpy(out, why.data(), std::min<size_t>(why.size(), cap));
  return static_cast<uint32_t>(why.size());
}
