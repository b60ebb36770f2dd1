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

/* Enables GET /stats and GET /metrics for requests carrying
 * "Authorization: Bearer <token>" (the Worker passes its METRICS_TOKEN secret;
 * it is not part of the relay configuration). An empty token (the default)
 * disables both: 404. The token is copied. */
void nr_edge_set_metrics_token(nr_edge* e, const uint8_t* token, uint32_t len);

const uint8_t* nr_edge_out_ptr(const nr_edge* e);
uint32_t nr_edge_out_len(const nr_edge* e);

/* Decides on one request. `req` is JSON:
 *   {"method":"GET","path":"/","origin":"https://relay.example",
 *    "headers":{"accept":..,"upgrade":..,"connection":..,"sec-websocket-key":..,
 *               "sec-websocket-version":..,"authorization":..,"content-type":..},
 *    "overrides":{"name":..,"description":..,"icon":..},
 *    "url":"https://host/path", "now":<unix seconds>, "body":".."}
 * Header names lowercase; absent headers omitted. "origin" is the request
 * URL's scheme and host (the relay page derives ws(s)://host from it when the
 * configuration has no relay_url). "overrides" are the management settings
 * (D1 mgmt_settings; each key optional, a present one replaces RELAY_CONFIG's);
 * omit the member entirely if they have not been loaded.
 * Returns 1: forward the request, unchanged, to the relay Durable Object (a
 *            valid WebSocket upgrade, or a NIP-86 POST /); the output is empty.
 *         0: answer directly; the output is JSON
 *            {"status":N,"headers":{"name":"value",..},"body":"text"}.
 *         2, 3, 4: answer with the output's status and headers (JSON as for 0,
 *            body empty) and, as the body, what the relay Durable Object
 *            returns for an authorized GET /stats (2: stats(), JSON,
 *            nr_relay_stats in durable/abi/relay_abi.h), an authorized
 *            GET /metrics (3: metrics(), Prometheus text) or GET /health
 *            (4: health(), JSON; the host answers 503 instead of the output's
 *            status unless it reports ok and d1).
 *         5: the answer needs the management overrides: ask again with
 *            "overrides" in `req`; the output is empty.
 *         6: a NIP-86 call (POST /, Content-Type application/nostr+json+rpc):
 *            ask again with "body" (its text, at most 16 KiB + 1 byte read),
 *            "url" (the full request URL) and "now" (unix seconds) in `req`;
 *            the output is empty. Then 1 (authorised: forward it, with that
 *            body) or 0 (401/404/413 answers, JSON bodies).
 */
int32_t nr_edge_request(nr_edge* e, const uint8_t* req, uint32_t len);

/* Which relay object serves a request (edge/route.h). `req`: JSON
 * {"continent","country","longitude","ip","query"} (request.cf fields,
 * CF-Connecting-IP, the URL's query without '?'; all optional). The output
 * buffer holds {"name","hint"}: the object's name for idFromName and its
 * location hint ("" for none). Returns 0. */
int32_t nr_edge_object(nr_edge* e, const uint8_t* req, uint32_t len);

#ifdef __cplusplus
}
#endif

#endif /* NOSTR_EDGE_ABI_H */
