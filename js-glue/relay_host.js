// The relay host: everything the Durable Object does except being one. It owns
// the relay engine (js-glue/engine.js: wasm calls, action pump, pending D1
// batches, failure policy), the table of sockets by connection id, and the
// performer that turns the engine's actions into platform calls. No runtime
// imports: node tests drive it against the real wasm module with a fake
// platform (tests/workers/node/relay_host.test.mjs).
//
// platform (all synchronous unless said otherwise; see js-glue/relay_do.js):
//   sql(sql, params)     the object's SQLite: returns { changes, columns, rows }
//   d1(stmts)            async: one D1 batch over [{ sql, params }] -> [{ changes, columns, rows }]
//   setAlarm(ms)         keep the object's one alarm at that epoch time (ms)
//   getWebSockets()      the object's open sockets (they survive hibernation)
//   abort(reason)        reset the object (drops its sockets and memory)
//   challenge()          a fresh NIP-42 challenge (>= 16 chars from a CSPRNG)
//   now()                the clock, unix seconds
//   name()               optional: this object's name ("relay:weur:0") or null if not known yet
//   forward(peer, events) optional: hand raw event lines to the object named peer (its deliver())
//   archive(key, body)   optional, async: write the archive object; resolves true when stored
// A socket: send(text), close(code, reason), serializeAttachment(value),
// deserializeAttachment(). Its attachment is { conn, state }: the connection id
// and the engine's conn state, which is all that survives hibernation.

import { logError } from './log.js';
import { RelayEngine } from './engine.js';

export class RelayHost {
  // getWasm, config (RELAY_CONFIG JSON), key (the object's id): as RelayEngine.
  // Throws ConfigError for a refused configuration.
  constructor({ getWasm, config, key, platform }) {
    this.platform = platform;
    this.sockets = new Map(); // conn -> socket
    this.connOf = new Map(); // socket -> conn
    this.nextConn = 1;
    this.replies = new Map(); // management request id -> resolve({ status, body })
    this.nextRequest = 1;
    this.engine = new RelayEngine({ getWasm, config, performer: this.#performer(), key, now: platform.now });
  }

  // The wake sequence, run once right after construction (inside the object's
  // blockConcurrencyWhile, so no event is delivered meanwhile):
  //  1. every surviving socket is matched to its connection id through its
  //     attachment; one without an attachment cannot be served and is closed
  //     (1011); new connections are numbered after the highest id;
  //  2. each surviving connection is reopened in the engine with its last
  //     conn state (challenge, logins, metadata, subscriptions that fit);
  //  3. the engine restores what lives in local SQL (larger subscription sets,
  //     timer times) and arms its timers again.
  async wake() {
    const t = this.platform.now();
    const name = this.platform.name?.();
    if (name) this.setName(name);
    for (const ws of this.platform.getWebSockets()) {
      const att = ws.deserializeAttachment();
      if (!att || typeof att.conn !== 'number') {
        closeQuietly(ws, 1011, 'error: lost connection state');
        continue;
      }
      this.#track(att.conn, ws);
      this.nextConn = Math.max(this.nextConn, att.conn + 1);
    }
    for (const [conn, ws] of this.sockets) {
      const rc = this.engine.open(conn, this.platform.challenge(), ws.deserializeAttachment().state ?? '', t);
      if (rc !== 0) logError('nr_relay_open after wake failed', undefined, { conn, rc });
      await this.engine.drain();
    }
    this.engine.restore(t);
    await this.engine.drain();
  }

  // Several relay objects: this object's name, once known (engine.setName).
  setName(name) {
    if (this.name === name) return;
    this.name = name;
    this.engine.setName(name);
  }

  // Events another relay object forwarded (raw JSON lines).
  async deliver(events) {
    this.engine.deliver(events, this.platform.now());
    await this.engine.drain();
  }

  // A new socket, already accepted by the platform. meta: { ip, origin, user_agent }.
  async accept(ws, meta) {
    const conn = this.nextConn++;
    // The id goes on the socket at once: a hibernation before the engine's
    // first conn state must still find it.
    ws.serializeAttachment({ conn, state: '' });
    this.#track(conn, ws);
    const rc = this.engine.open(conn, this.platform.challenge(), '', this.platform.now(), meta);
    if (rc !== 0) logError('nr_relay_open failed', undefined, { conn, rc });
    await this.engine.drain();
  }

  // A frame (string or binary) arrived on ws.
  async message(ws, data) {
    const conn = this.#connOf(ws);
    if (conn === undefined) return;
    // Text and binary frames alike go to the engine; it answers whatever is not JSON.
    this.engine.frame(conn, typeof data === 'string' ? data : new Uint8Array(data), this.platform.now());
    await this.engine.drain();
  }

  // ws closed (code, reason: the client's) or failed (no code).
  async closed(ws, code, reason = '') {
    if (code !== undefined) {
      // The Hibernation API does not answer a client's Close frame by itself:
      // reciprocate (reserved codes 1005/1006/1015 cannot be sent; use 1000).
      closeQuietly(ws, code === 1005 || code === 1006 || code === 1015 ? 1000 : code, reason, false);
    }
    const conn = this.#connOf(ws);
    if (conn !== undefined) {
      this.sockets.delete(conn);
      this.connOf.delete(ws);
      this.engine.close(conn);
    }
    await this.engine.drain();
  }

  // The object's alarm fired: the engine's durable timers are due.
  async alarm() {
    this.engine.timer(this.platform.now());
    await this.engine.drain();
  }

  stats() {
    return this.engine.stats();
  }

  // A NIP-86 request: resolves to { status, body, headers } (body: JSON
  // text; headers: [[name, value], ...] as the engine chose them).
  async admin(url, authorization, body) {
    const request = this.nextRequest++;
    const answer = new Promise((resolve) => this.replies.set(request, resolve));
    try {
      this.engine.httpAdmin(request, url, authorization, body, this.platform.now());
      await this.engine.drain();
    } catch (err) {
      this.replies.delete(request);
      return { status: 500, body: JSON.stringify({ result: null, error: `error: ${err?.message ?? err}` }) };
    }
    if (this.replies.has(request)) {
      // The engine answers every request; none means a bug, not a client error.
      this.replies.delete(request);
      return { status: 500, body: JSON.stringify({ result: null, error: 'error: no answer from the relay engine' }) };
    }
    return answer;
  }

  // The HTTP API (POST /api/v1/events, POST /api/v1/query, GET
  // /api/v1/events/{id}): the engine answers; { status, body, headers }.
  async api(method, path, body, meta) {
    const request = this.nextRequest++;
    const answer = new Promise((resolve) => this.replies.set(request, resolve));
    try {
      this.engine.httpApi(request, method, path, body, meta, this.platform.now());
      await this.engine.drain();
    } catch (err) {
      this.replies.delete(request);
      return { status: 500, body: JSON.stringify({ error: `error: ${err?.message ?? err}` }) };
    }
    return answer;
  }

  // GET /health: the engine's counters and whether D1 answers.
  async health() {
    let d1 = false;
    let error;
    try {
      const [r] = await this.platform.d1([{ sql: 'SELECT 1 AS ok', params: [] }]);
      d1 = r?.rows?.length === 1;
    } catch (err) {
      error = `D1: ${err?.message ?? err}`;
    }
    return this.engine.health(d1, error ?? '');
  }

  // GET /metrics: the engine's Prometheus text.
  metrics() {
    return this.engine.metrics();
  }

  // ------------------------------------------------------------ internals

  // The I/O the engine asks for (see js-glue/engine.js).
  #performer() {
    const p = this.platform;
    return {
      send: (conn, text) => {
        const ws = this.sockets.get(conn);
        if (!ws) return; // already gone
        try {
          ws.send(text);
        } catch {
          // a socket closing under us: its close event tells the engine
        }
      },
      attach: (conn, state) => {
        const ws = this.sockets.get(conn);
        if (!ws) return;
        try {
          ws.serializeAttachment({ conn, state });
        } catch (err) {
          logError('serializeAttachment failed', err, { conn, chars: state.length });
        }
      },
      close: (conn, code, reason) => {
        const ws = this.sockets.get(conn);
        if (ws) closeQuietly(ws, code, reason);
      },
      sql: (sql, params) => p.sql(sql, params),
      d1: (stmts) => p.d1(stmts),
      alarm: (at) => p.setAlarm(at * 1000),
      reply: (request, status, body, headers) => {
        const resolve = this.replies.get(request);
        this.replies.delete(request);
        resolve?.({ status, body, headers });
      },
      log: (line) => console.log(line),
      forward: (peer, events) => p.forward?.(peer, events),
      archive: async (key, body) => (p.archive ? p.archive(key, body) : false),
      failed: (err) => this.#reset(err),
    };
  }

  // The engine failed (it has already retired its wasm instance): drop every
  // socket and the object; the next connection gets a fresh one.
  #reset(err) {
    logError('relay engine failed; resetting the Durable Object', err);
    for (const ws of this.platform.getWebSockets()) closeQuietly(ws, 1011, 'error: internal');
    this.sockets.clear();
    this.connOf.clear();
    try {
      this.platform.abort('relay engine failed');
    } catch {
      // abort() throws by design to unwind
    }
  }

  #track(conn, ws) {
    this.sockets.set(conn, ws);
    this.connOf.set(ws, conn);
  }

  // A socket's connection id: from the table, else (an event for a socket the
  // table has not seen since a wake) from its attachment.
  #connOf(ws) {
    const known = this.connOf.get(ws);
    if (known !== undefined) return known;
    const att = ws.deserializeAttachment();
    if (!att || typeof att.conn !== 'number') return undefined;
    if (!this.sockets.has(att.conn)) this.#track(att.conn, ws);
    return att.conn;
  }
}

function closeQuietly(ws, code, reason, log = true) {
  try {
    ws.close(code, reason);
  } catch (err) {
    if (log) logError('close failed', err, { code, reason });
  }
}
