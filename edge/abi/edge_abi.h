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
 * Returns 0 if the configuration is invalid (nr_config_error in
 * core/abi/core_abi.h says why). */
nr_edge* nr_edge_new(const uint8_t* config_json, uint32_t len);
void nr_edge_free(nr_edge* e);

/* Enables GET /stats for requests carrying "Authorization: Bearer <token>"
 * (the Worker passes its METRICS_TOKEN secret; it is not part of the relay
 * configuration). An empty token (the default) disables /stats: 404. The token
 * is copied. */
void nr_edge_set_metrics_token(nr_edge* e, const uint8_t* token, uint32_t len);

const uint8_t* nr_edge_out_ptr(const nr_edge* e);
uint32_t nr_edge_out_len(const nr_edge* e);

/* Decides on one request. `req` is JSON:
 *   {"method":"GET","path":"/","headers":{"accept":..,"upgrade":..,"connection":..,
 *    "sec-websocket-key":..,"sec-websocket-version":..,"origin":..,"authorization":..}}
 * (header names lowercase; absent headers omitted).
 * Returns 1: forward the request to the relay Durable Object (a valid WebSocket
 *            upgrade); the output is empty.
 *         0: answer directly; the output is JSON
 *            {"status":N,"headers":{"name":"value",..},"body":"text"}.
 *         2: an authorized GET /stats: answer with the output's status and
 *            headers (JSON as for 0, body empty) and, as the body, the relay
 *            Durable Object's stats JSON (nr_relay_stats, durable/abi/relay_abi.h).
 */
int32_t nr_edge_request(nr_edge* e, const uint8_t* req, uint32_t len);

#ifdef __cplusplus
}
#endif

#endif /* NOSTR_EDGE_ABI_H */
