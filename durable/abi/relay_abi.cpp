// Implementation of relay_abi.h: a thin adapter from C calls to durable::Relay.
#include "durable/abi/relay_abi.h"

#include <new>
#include <string>

#include "core/abi/export.h"
#include "durable/abi/action_codec.h"
#include "durable/relay.h"

struct nr_relay {
  explicit nr_relay(nostr::RelayConfig c) : relay(std::move(c)) {}
  nostr::durable::Relay relay;
  std::string actions;  // the last call's actions, encoded
  std::string stats;
};

namespace {

std::string_view bytes(const uint8_t* p, uint32_t n) {
  return {reinterpret_cast<const char*>(p), n};
}

// Runs one engine call and encodes the actions it queued: the host reads them
// after the call returns (a call leaves only its own actions).
template <typename F>
int32_t run(nr_relay* r, F&& call) {
  r->actions.clear();
  const int32_t rc = call(r->relay);
  nostr::durable::encode_actions(r->relay.take_actions(), r->actions);
  return rc;
}

// Linear memory only grows: its size is the module's heap high-water mark.
uint64_t memory_bytes() {
#if defined(__wasm__)
  return static_cast<uint64_t>(__builtin_wasm_memory_size(0)) * 65536u;
#else
  return 0;
#endif
}

uint64_t seconds(double now) { return now > 0 ? static_cast<uint64_t>(now) : 0; }

}  // namespace

NR_EXPORT("nr_relay_new") nr_relay* nr_relay_new(const uint8_t* config_json, uint32_t len) {
  auto config = nostr::parse_config(bytes(config_json, len));
  if (!config) return nullptr;
  return new (std::nothrow) nr_relay(std::move(config).value());
}

NR_EXPORT("nr_relay_free") void nr_relay_free(nr_relay* r) { delete r; }

NR_EXPORT("nr_relay_actions_ptr") const uint8_t* nr_relay_actions_ptr(const nr_relay* r) {
  return reinterpret_cast<const uint8_t*>(r->actions.data());
}

NR_EXPORT("nr_relay_actions_len") uint32_t nr_relay_actions_len(const nr_relay* r) {
  return static_cast<uint32_t>(r->actions.size());
}

NR_EXPORT("nr_relay_open")
int32_t nr_relay_open(nr_relay* r, uint32_t conn, const uint8_t* challenge, uint32_t challenge_len,
                      const uint8_t* state, uint32_t state_len, const uint8_t* meta,
                      uint32_t meta_len, double now) {
  const nostr::ConnMeta m = nostr::ConnMeta::from_json(bytes(meta, meta_len));
  return run(r, [&](auto& relay) {
    return relay.open(conn, bytes(challenge, challenge_len), bytes(state, state_len), seconds(now),
                      m)
               ? 0
               : -1;
  });
}

NR_EXPORT("nr_relay_restore") int32_t nr_relay_restore(nr_relay* r, double now) {
  return run(r, [&](auto& relay) {
    relay.restore(seconds(now));
    return 0;
  });
}

NR_EXPORT("nr_relay_frame")
int32_t nr_relay_frame(nr_relay* r, uint32_t conn, const uint8_t* frame, uint32_t len, double now) {
  return run(r, [&](auto& relay) {
    relay.frame(conn, bytes(frame, len), /*padded=*/true, seconds(now));
    return 0;
  });
}

NR_EXPORT("nr_relay_frame_limit") uint32_t nr_relay_frame_limit(const nr_relay* r) {
  return r->relay.config().limits.max_message_length;
}

NR_EXPORT("nr_relay_oversized")
int32_t nr_relay_oversized(nr_relay* r, uint32_t conn, double size, double /*now*/) {
  return run(r, [&](auto& relay) {
    relay.oversized_frame(conn, size > 0 ? static_cast<uint64_t>(size) : 0);
    return 0;
  });
}

NR_EXPORT("nr_relay_close") int32_t nr_relay_close(nr_relay* r, uint32_t conn) {
  return run(r, [&](auto& relay) {
    relay.close(conn);
    return 0;
  });
}

NR_EXPORT("nr_relay_store_done")
int32_t nr_relay_store_done(nr_relay* r, uint32_t token, int32_t ok, const uint8_t* results,
                            uint32_t len, double now) {
  return run(r, [&](auto& relay) {
    relay.store_done(token, ok != 0, bytes(results, len), seconds(now));
    return 0;
  });
}

NR_EXPORT("nr_relay_local_sql_done")
int32_t nr_relay_local_sql_done(nr_relay* r, uint32_t token, const uint8_t* results, uint32_t len,
                                double now) {
  return run(r, [&](auto& relay) {
    relay.local_sql_done(token, bytes(results, len), seconds(now));
    return 0;
  });
}

NR_EXPORT("nr_relay_http_admin")
int32_t nr_relay_http_admin(nr_relay* r, uint32_t request, const uint8_t* url, uint32_t url_len,
                            const uint8_t* auth, uint32_t auth_len, const uint8_t* body,
                            uint32_t body_len, double now) {
  return run(r, [&](auto& relay) {
    relay.http_admin(request, bytes(url, url_len), bytes(auth, auth_len), bytes(body, body_len),
                     seconds(now));
    return 0;
  });
}

NR_EXPORT("nr_relay_set_name")
int32_t nr_relay_set_name(nr_relay* r, const uint8_t* name, uint32_t len) {
  return run(r, [&](auto& relay) {
    relay.set_object_name(bytes(name, len));
    return 0;
  });
}

NR_EXPORT("nr_relay_deliver")
int32_t nr_relay_deliver(nr_relay* r, const uint8_t* events, uint32_t len, double now) {
  return run(r, [&](auto& relay) {
    relay.deliver(bytes(events, len), seconds(now));
    return 0;
  });
}

NR_EXPORT("nr_relay_archive_done")
int32_t nr_relay_archive_done(nr_relay* r, uint32_t token, int32_t ok, double now) {
  return run(r, [&](auto& relay) {
    relay.archive_done(token, ok != 0, seconds(now));
    return 0;
  });
}

NR_EXPORT("nr_relay_http_api")
int32_t nr_relay_http_api(nr_relay* r, uint32_t request, const uint8_t* method, uint32_t method_len,
                          const uint8_t* path, uint32_t path_len, const uint8_t* body,
                          uint32_t body_len, const uint8_t* meta, uint32_t meta_len, double now) {
  return run(r, [&](auto& relay) {
    relay.http_api(request, bytes(method, method_len), bytes(path, path_len), bytes(body, body_len),
                   nostr::ConnMeta::from_json(bytes(meta, meta_len)), seconds(now));
    return 0;
  });
}

NR_EXPORT("nr_relay_store_latency") void nr_relay_store_latency(nr_relay* r, double seconds_taken) {
  r->relay.observe_store_latency(seconds_taken > 0 ? seconds_taken : 0);
}

NR_EXPORT("nr_relay_metrics") uint32_t nr_relay_metrics(nr_relay* r) {
  r->stats = r->relay.metrics_text(memory_bytes());
  return static_cast<uint32_t>(r->stats.size());
}

NR_EXPORT("nr_relay_health")
uint32_t nr_relay_health(nr_relay* r, int32_t d1_ok, const uint8_t* error, uint32_t error_len) {
  r->stats = r->relay.health_report(
      d1_ok != 0, std::string_view(reinterpret_cast<const char*>(error), error_len));
  return static_cast<uint32_t>(r->stats.size());
}

NR_EXPORT("nr_relay_connection_count") uint32_t nr_relay_connection_count(const nr_relay* r) {
  return static_cast<uint32_t>(r->relay.connection_count());
}

NR_EXPORT("nr_relay_subscription_count") uint32_t nr_relay_subscription_count(const nr_relay* r) {
  return static_cast<uint32_t>(r->relay.subscription_count());
}

NR_EXPORT("nr_relay_stats") uint32_t nr_relay_stats(nr_relay* r) {
  r->stats = r->relay.stats_json(memory_bytes());
  return static_cast<uint32_t>(r->stats.size());
}

NR_EXPORT("nr_relay_stats_ptr") const uint8_t* nr_relay_stats_ptr(const nr_relay* r) {
  return reinterpret_cast<const uint8_t*>(r->stats.data());
}

NR_EXPORT("nr_relay_next_deadline") double nr_relay_next_deadline(const nr_relay* r) {
  return static_cast<double>(r->relay.next_deadline());
}

NR_EXPORT("nr_relay_next_alarm") double nr_relay_next_alarm(const nr_relay* r) {
  return static_cast<double>(r->relay.next_alarm());
}

NR_EXPORT("nr_relay_timer") int32_t nr_relay_timer(nr_relay* r, double now) {
  return run(r, [&](auto& relay) {
    relay.timer(seconds(now));
    return 0;
  });
}
