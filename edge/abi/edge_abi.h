/* Edge (stateless Worker) C ABI, version 1: decides what to do with an HTTP
 * request before anything reaches (and bills) a Durable Object.
 *
 * Memory and output buffer: as in core/abi/core_abi.h.
 */
#ifndef NOSTR_EDGE_ABI_H
#define NOSTR_EDGE_ABI_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct nr_edge nr_edge;

/* Creates the edge handler from the relay configuration JSON (core/config.h).
 * Returns 0 if the configuration is invalid. */
nr_edge* nr_edge_new(const uint8_t* config_json, uint32_t len);
void nr_edge_free(nr_edge* e);

const uint8_t* nr_edge_out_ptr(const nr_edge* e);
uint32_t nr_edge_out_len(const nr_edge* e);

/* Decides on one request. `req` is JSON:
 *   {"method":"GET","path":"/","headers":{"accept":..,"upgrade":..,"connection":..,
 *    "sec-websocket-key":..,"sec-websocket-version":..,"origin":..}}
 * (header names lowercase; absent headers omitted).
 * Returns 1: forward the request to the relay Durable Object (a valid WebSocket
 *            upgrade); the output is empty.
 *         0: answer directly; the output is JSON
 *            {"status":N,"headers":{"name":"value",..},"body":"text"}.
 */
int32_t nr_edge_request(nr_edge* e, const uint8_t* req, uint32_t len);

#ifdef __cplusplus
}
#endif

#endif /* NOSTR_EDGE_ABI_H */
