/* nostr core C ABI (version 1): the interface the wasm module exports.
 *
 * Ownership and memory
 *  - Every pointer is an address in the module's linear memory.
 *  - Input bytes: the host gets a buffer from nr_alloc(n), writes up to n bytes,
 *    passes (ptr, len) to a call, and releases it with nr_free. nr_alloc adds
 *    NR_PADDING spare bytes after n so simdjson can parse without copying.
 *    Calls only borrow input buffers for their duration.
 *  - Output bytes: calls that produce text write it into their context's output
 *    buffer; read it at nr_out_ptr(ctx) for nr_out_len(ctx) bytes. It is owned by
 *    the context and valid until the next call on that context.
 *  - A context (nr_ctx) is created by nr_ctx_new and destroyed by nr_ctx_free.
 *    Contexts are independent; nothing is global.
 * Time: `now` is unix seconds as a double (exact for any realistic date); the
 * module never reads a clock.
 * Return codes: 0 means success; otherwise a value of nostr::Code (core/reject.h).
 * Host interface: the module imports nothing but libc's exit/write stubs
 * (wasi_snapshot_preview1 fd_write/fd_seek/fd_close/proc_exit, and for the
 * Emscripten build env.emscripten_notify_memory_growth); tests/wasm checks it.
 */
#ifndef NOSTR_CORE_ABI_H
#define NOSTR_CORE_ABI_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define NR_PADDING 64

typedef struct nr_ctx nr_ctx;

/* Returns the ABI version (1). */
uint32_t nr_abi_version(void);

/* Returns a buffer of n + NR_PADDING bytes, or 0 if out of memory. */
uint8_t* nr_alloc(uint32_t n);
/* Releases a buffer from nr_alloc (0 is ignored). */
void nr_free(uint8_t* p);

/* Returns a context with default limits (core/limits.h), or 0 if out of memory. */
nr_ctx* nr_ctx_new(void);
void nr_ctx_free(nr_ctx* ctx);

/* The context's output buffer (see above). */
const uint8_t* nr_out_ptr(const nr_ctx* ctx);
uint32_t nr_out_len(const nr_ctx* ctx);

/* Validates one standalone event JSON object completely: structure and types,
 * id == sha256(serialization), BIP-340 signature, created_at window and NIP-40
 * expiration against `now`. json must be followed by NR_PADDING readable bytes.
 * Returns 0 and writes the event id (64 hex) to the output, or a Code and writes
 * the "prefix: reason" text. */
int32_t nr_validate_event(nr_ctx* ctx, const uint8_t* json, uint32_t len, double now);

/* Parses one client frame as the relay would; EVENT and AUTH payloads are also
 * fully validated like nr_validate_event. Returns 0 and writes the message type
 * ("EVENT", "REQ", ...) to the output, or a Code and writes the exact reply the
 * relay sends for the refusal (["OK",...], ["CLOSED",...] or ["NOTICE",...]).
 * frame must be followed by NR_PADDING readable bytes. */
int32_t nr_check_frame(nr_ctx* ctx, const uint8_t* frame, uint32_t len, double now);

/* Writes the canonical NIP-01 serialization [0,pubkey,created_at,kind,tags,content]
 * of a structurally valid event to the output (id and signature unchecked).
 * Returns 0 or a Code (with the reason in the output). */
int32_t nr_serialize_event(nr_ctx* ctx, const uint8_t* json, uint32_t len);

/* Checks relay configuration JSON (core/config.h, the Worker's RELAY_CONFIG)
 * the way nr_relay_new and nr_edge_new parse it, so a host whose engine
 * creation returned 0 can say why. json is only borrowed and needs no padding.
 * Returns 0 if the configuration is valid. Otherwise returns the length of the
 * reason (UTF-8 text naming the offending key, e.g.
 * "config: limits.max_filters must be a non-negative integer") and copies its
 * first min(length, cap) bytes to out (no terminating NUL); a return above cap
 * means the text was cut: call again with a bigger buffer. */
uint32_t nr_config_error(const uint8_t* json, uint32_t len, uint8_t* out, uint32_t cap);

#ifdef __cplusplus
}
#endif

#endif /* NOSTR_CORE_ABI_H */
