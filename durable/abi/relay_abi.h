/* Relay engine C ABI (the Durable Object role), version 1.
 *
 * The engine is sans-IO: the host (js-glue/relay_do.js) feeds it socket
 * events, frames and storage results; after EVERY nr_relay_* call the host
 * drains the actions the engine wants performed.
 *
 * Memory: as in core/abi/core_abi.h. Inputs are nr_alloc'd buffers the call only
 * borrows (frames must carry NR_PADDING spare bytes). The action buffer is owned
 * by the engine and valid until the next nr_relay_* call: copy it out (slice)
 * before performing actions, because performing an action may call back in.
 *
 * Time: `now` is unix seconds (double). Connection ids are chosen by the host
 * (unique among open sockets); the engine never invents them.
 *
 * Action buffer: a sequence of records, little-endian:
 *   u32 type, u32 a, u32 b, u32 len, then len bytes, then zero padding to a
 *   multiple of 4.
 *   type 1 SEND    a=conn. bytes: one UTF-8 text frame for that socket.
 *   type 2 FANOUT  a=count. bytes: u32 raw_len, raw (UTF-8 event JSON), pad to 4,
 *                  then `count` entries {u32 conn, u32 prefix_len, prefix, pad to 4}.
 *                  Send prefix + raw + "]" as one text frame to each conn.
 * (durable/action.h: Send, Fanout, Store, LocalSql, SaveConnState, Close,
 * HttpReply, Log, Forward, Archive, one name each in C++, here and in JS
 * (js-glue/codec.js ACTION); encoded by
 * durable/abi/action_codec.cpp, decoded by js-glue/codec.js.)
 *   type 3 STORE   a=token. bytes: JSON {"stmts":[{"sql":..,"params":[..]},..]}.
 *                  Run env.DB.batch() over them (one transaction) asynchronously,
 *                  then call nr_relay_store_done(token, ok, results).
 *   type 4 LOCAL_SQL a=token (0: no result wanted). bytes: JSON {"sql":..,"params":[..]}.
 *                  Run ctx.storage.sql.exec(sql, ...params) synchronously, right
 *                  away (before later records); if token != 0 call
 *                  nr_relay_local_sql_done(token, results) and perform its actions
 *                  before continuing.
 *   type 5 SAVE_CONN_STATE a=conn. bytes: opaque connection state (UTF-8 JSON text, small).
 *                  Keep it with the socket (serializeAttachment) and hand it back
 *                  to nr_relay_open after hibernation.
 *   type 6 CLOSE   a=conn, b=websocket close code. bytes: reason. Close the socket.
 *   type 7 HTTP_REPLY a=request id (nr_relay_http_admin), b=HTTP status. bytes: the
 *                  JSON body of the answer to that request.
 *   type 8 LOG     bytes: one structured log line (a JSON object): print it.
 *   type 9 FORWARD bytes: a relay object's name, "\n", then raw event JSON, one
 *                  per line: deliver them to that object (its nr_relay_deliver),
 *                  without waiting; nothing comes back.
 *   type 10 ARCHIVE a=token. bytes: a key, "\n", then raw event JSON, one per
 *                  line: store them in the archive under that key (R2: key +
 *                  ".jsonl.gz", gzip), then call nr_relay_archive_done(token, ok).
 *
 * Results (nr_relay_store_done / nr_relay_local_sql_done), little-endian, no padding:
 *   u32 nstmts; per statement: u32 changes, u32 nrows, u32 ncols, then
 *   nrows*ncols cells in row order, each: u32 len + len bytes of UTF-8 text
 *   (numbers in decimal), or len = 0xFFFFFFFF for NULL (no bytes).
 *   Column order is the SELECT's order. For failures (ok = 0) the bytes are the
 *   error message instead.
 */
#ifndef NOSTR_RELAY_ABI_H
#define NOSTR_RELAY_ABI_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct nr_relay nr_relay;

/* Creates an engine from the relay configuration JSON (see core/config.h).
 * Returns 0 if the JSON is invalid; the host should then refuse to start. */
nr_relay* nr_relay_new(const uint8_t* config_json, uint32_t len);
void nr_relay_free(nr_relay* r);

/* The pending actions (see above). */
const uint8_t* nr_relay_actions_ptr(const nr_relay* r);
uint32_t nr_relay_actions_len(const nr_relay* r);

/* A socket is open. For a new connection pass `state` empty and a fresh random
 * `challenge` (NIP-42; >= 16 chars from a CSPRNG). After hibernation pass the last
 * SAVE_CONN_STATE state for that socket (the challenge is then ignored).
 * `meta`: the connection's metadata as JSON {"ip":..,"origin":..,"user_agent":..}
 * (CF-Connecting-IP, Origin, User-Agent; every field optional, may be empty);
 * policy sees it (core/policy.h). After hibernation it comes from `state`.
 * Returns 0, or -1 if conn is already open. */
int32_t nr_relay_open(nr_relay* r, uint32_t conn, const uint8_t* challenge, uint32_t challenge_len,
                      const uint8_t* state, uint32_t state_len, const uint8_t* meta, uint32_t meta_len,
                      double now);

/* Several relay objects: this engine's object name (e.g. "relay:weur:0"),
 * set before the first other call of every object life. Without it the engine
 * neither publishes its interests nor forwards events (one object). */
int32_t nr_relay_set_name(nr_relay* r, const uint8_t* name, uint32_t len);

/* Events another relay object forwarded (a FORWARD action's events: raw JSON,
 * one per line): fanned out to this object's matching subscriptions. */
int32_t nr_relay_deliver(nr_relay* r, const uint8_t* events, uint32_t len, double now);

/* Completion of an ARCHIVE action: ok = 0 if the archive could not be written
 * (the events are then kept, and retention tries again later). */
int32_t nr_relay_archive_done(nr_relay* r, uint32_t token, int32_t ok, double now);

/* Call once after waking (after nr_relay_open for every surviving socket):
 * reloads the subscriptions of open sockets from DO storage and drops the rest. */
int32_t nr_relay_restore(nr_relay* r, double now);

/* A text frame arrived on conn. Returns 0 (every outcome, including refusals,
 * is expressed as actions). */
int32_t nr_relay_frame(nr_relay* r, uint32_t conn, const uint8_t* frame, uint32_t len, double now);

/* The largest frame (bytes) nr_relay_frame accepts: limits.max_message_length.
 * A host can refuse bigger frames without copying them (nr_relay_oversized). */
uint32_t nr_relay_frame_limit(const nr_relay* r);

/* A frame of at least `size` bytes (> nr_relay_frame_limit) arrived on conn and
 * was not copied in. The engine answers it as it would answer nr_relay_frame. */
int32_t nr_relay_oversized(nr_relay* r, uint32_t conn, double size, double now);

/* The socket closed (or errored): forget its subscriptions. */
int32_t nr_relay_close(nr_relay* r, uint32_t conn);

/* Completion of a STORE action (a D1 batch). ok = 1: `results` as described above; ok = 0:
 * `results` is the error text. Unknown tokens are ignored. */
int32_t nr_relay_store_done(nr_relay* r, uint32_t token, int32_t ok, const uint8_t* results, uint32_t len,
                         double now);

/* Completion of a LOCAL_SQL action with a token. DO SQLite statements are local and
 * are not expected to fail; if one throws, the host must treat the engine as
 * broken (close its sockets with 1011 and rebuild it), not call this. */
int32_t nr_relay_local_sql_done(nr_relay* r, uint32_t token, const uint8_t* results, uint32_t len, double now);

/* Returns the time (unix seconds) at which nr_relay_timer has short-lived
 * work (paced stored-query pages), or 0 if none. Read it after every call and
 * arm an in-memory timer (setTimeout) for it; 0 lets the object hibernate.
 * Calling nr_relay_timer early is harmless. */
double nr_relay_next_deadline(const nr_relay* r);
/* Returns the time (unix seconds) of the engine's durable timed work (NIP-40
 * expiry sweep, NIP-42 AUTH deadlines), or 0 if none. Keep the Durable Object
 * alarm set to it (read after every call); the alarm calls nr_relay_timer. */
double nr_relay_next_alarm(const nr_relay* r);
/* Time passed: the engine runs whatever of both kinds is due. */
int32_t nr_relay_timer(nr_relay* r, double now);

/* Resource use, as JSON (see Relay::stats_json in durable/relay.h), written into an
 * engine-owned buffer: returns its length; nr_relay_stats_ptr gives its address,
 * valid until the next nr_relay_* call. Includes "memory_bytes": the size of the
 * module's linear memory, which never shrinks, so it is the heap high-water mark. */
uint32_t nr_relay_stats(nr_relay* r);
const uint8_t* nr_relay_stats_ptr(const nr_relay* r);

/* A NIP-86 management request (HTTP POST, Content-Type
 * application/nostr+json+rpc) with the host's id `request`: the URL the host
 * received, the Authorization header ('' if none) and the body. The answer
 * comes as one HTTP action (type 7) for `request`, from this call or from a
 * later nr_relay_store_done. */
int32_t nr_relay_http_admin(nr_relay* r, uint32_t request, const uint8_t* url, uint32_t url_len,
                            const uint8_t* auth, uint32_t auth_len, const uint8_t* body, uint32_t body_len,
                            double now);
/* The HTTP API (Relay::http_api): method, path, body and the caller's
 * metadata JSON ({"ip","origin","user_agent"}); answered like
 * nr_relay_http_admin, by one HTTP action for `request`. */
int32_t nr_relay_http_api(nr_relay* r, uint32_t request, const uint8_t* method, uint32_t method_len, const uint8_t* path,
                          uint32_t path_len, const uint8_t* body, uint32_t body_len, const uint8_t* meta,
                          uint32_t meta_len, double now);
/* A D1 batch took `seconds` (host-measured): the store latency histogram. */
void nr_relay_store_latency(nr_relay* r, double seconds);
/* The Prometheus text of the engine's metrics / the body of GET /health
 * (Relay::health_report: `d1_ok` whether D1 answered the host's probe,
 * `error` the probe's error, may be empty), written like nr_relay_stats
 * (length returned; nr_relay_stats_ptr). */
uint32_t nr_relay_metrics(nr_relay* r);
uint32_t nr_relay_health(nr_relay* r, int32_t d1_ok, const uint8_t* error, uint32_t error_len);

/* Diagnostics: open connections and subscriptions. */
uint32_t nr_relay_connection_count(const nr_relay* r);
uint32_t nr_relay_subscription_count(const nr_relay* r);

#ifdef __cplusplus
}
#endif

#endif /* NOSTR_RELAY_ABI_H */
