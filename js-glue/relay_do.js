// The relay Durable Object: maps the platform's events (WebSocket upgrade,
// hibernatable socket events, the alarm, the stats RPC) to the relay host
// (js-glue/relay_host.js), and gives the host the platform it performs the
// engine's actions on (DO SQLite, D1, the alarm, the sockets). No decisions.

import { DurableObject } from 'cloudflare:workers';
import { fromD1Result } from './codec.js';
import { configJson } from './config.js';
import { RelayHost } from './relay_host.js';
import { getWasm } from './wasm.js';
import { ADMIN_BODY_CAP, API_BODY_CAP, readCapped } from './body.js';
import { logError } from './log.js';

// NIP-42 challenge: 16 random bytes as 32 hex chars.
// The headers the engine chose for a reply ([[name, value], ...]: Content-Type,
// CORS, a 401's WWW-Authenticate), sent as they are so both hosts answer the
// same; a reply the host made itself (the engine failed) is JSON.
function replyHeaders(headers) {
  return new Headers(headers ?? [['Content-Type', 'application/json'], ['Access-Control-Allow-Origin', '*']]);
}

function randomChallenge() {
  const b = crypto.getRandomValues(new Uint8Array(16));
  let s = '';
  for (const x of b) s += x.toString(16).padStart(2, '0');
  return s;
}

// D1 Sessions API (read replication): one session per relay object for all its
// reads and writes, so everything a client does through this object is
// sequentially consistent (a REQ after an OK reads that write) wherever the
// reads are served. The bookmark survives hibernation in the object's
// storage. Without the API (older runtimes): the database itself.
function openD1Session(ctx, env) {
  if (typeof env.DB.withSession !== 'function') return env.DB;
  let bookmark = 'first-unconstrained';
  try {
    ctx.storage.sql.exec('CREATE TABLE IF NOT EXISTS glue_d1_bookmark (bookmark TEXT NOT NULL)');
    const row = [...ctx.storage.sql.exec('SELECT bookmark FROM glue_d1_bookmark').raw()][0];
    if (row?.[0]) bookmark = row[0];
  } catch (err) {
    logError('D1 bookmark unreadable; starting a new session', err);
  }
  return env.DB.withSession(bookmark);
}

function saveBookmark(ctx, db) {
  const bookmark = db.getBookmark?.();
  if (!bookmark || bookmark === db.savedBookmark) return;
  db.savedBookmark = bookmark;
  ctx.storage.sql.exec('DELETE FROM glue_d1_bookmark');
  ctx.storage.sql.exec('INSERT INTO glue_d1_bookmark (bookmark) VALUES (?)', bookmark);
}

export class RelayDurableObject extends DurableObject {
  constructor(ctx, env) {
    super(ctx, env);
    this.d1Rows = { read: 0, written: 0, batches: 0 }; // this object life's D1 usage
    this.db = openD1Session(ctx, env);
    const platform = {
      sql: (sql, params) => {
        const cursor = ctx.storage.sql.exec(sql, ...params);
        const rows = [...cursor.raw()];
        return { changes: cursor.rowsWritten, columns: cursor.columnNames, rows };
      },
      d1: async (stmts) => {
        const db = this.db;
        const batch = await db.batch(stmts.map((s) => db.prepare(s.sql).bind(...(s.params ?? []))));
        saveBookmark(ctx, db);
        // D1 bills rows: counted for GET /stats (docs/scale.md's cost model).
        for (const r of batch) {
          this.d1Rows.read += r.meta?.rows_read ?? 0;
          this.d1Rows.written += r.meta?.rows_written ?? 0;
        }
        this.d1Rows.batches += 1;
        return batch.map(fromD1Result);
      },
      setAlarm: (ms) => ctx.storage.setAlarm(ms),
      getWebSockets: () => ctx.getWebSockets(),
      abort: (reason) => ctx.abort?.(reason),
      challenge: randomChallenge,
      now: () => Date.now() / 1000,
      // The name the Worker created this object by (relay:<region>:<shard>):
      // the id knows it; an older runtime's does not, and then the first
      // forwarded request's x-relay-object header tells (fetch below).
      name: () => ctx.id.name ?? null,
      // Retention's archive: R2 (binding ARCHIVE), gzip-compressed JSON lines
      // at <key>.jsonl.gz. Without the binding nothing is archived, so
      // nothing is pruned (the engine keeps events it could not archive).
      archive: async (key, body) => {
        if (!env.ARCHIVE) {
          logError('retention: no ARCHIVE (R2) binding; events are kept', undefined, { key });
          return false;
        }
        const gzip = new Response(new Blob([body]).stream().pipeThrough(new CompressionStream('gzip')));
        await env.ARCHIVE.put(`${key}.jsonl.gz`, await gzip.arrayBuffer(), {
          httpMetadata: { contentType: 'application/x-ndjson', contentEncoding: 'gzip' },
        });
        return true;
      },
      // Another object's deliver(), not awaited by the engine: a peer that
      // cannot be reached costs a log line, never this object's answers.
      forward: (peer, events) => {
        const stub = env.RELAY.get(env.RELAY.idFromName(peer));
        ctx.waitUntil(stub.deliver(events).catch((err) => logError('forward to another relay object failed', err, { peer })));
      },
    };
    try {
      this.host = new RelayHost({ getWasm, config: configJson(env), key: ctx.id.toString(), platform });
    } catch (err) {
      logError('relay Durable Object cannot start', err);
      throw err;
    }
    ctx.blockConcurrencyWhile(() => this.host.wake());
  }

  async fetch(request) {
    const name = request.headers.get('x-relay-object');
    if (name) this.host.setName(name);
    const url = new URL(request.url);
    const path = url.pathname;
    // NIP-86 is served on / only: an /api/v1/* call with its content type is
    // an API call (the edge checked it as one), never a management call.
    if (path === '/' && request.method === 'POST' && /^application\/nostr\+json\+rpc\b/i.test(request.headers.get('content-type') ?? '')) {
      // NIP-86: the engine authorises and answers (the Worker routed it here).
      const body = await readCapped(request, ADMIN_BODY_CAP);
      const { status, body: json, headers } = await this.host.admin(request.url, request.headers.get('authorization') ?? '', body);
      return new Response(json, { status, headers: replyHeaders(headers) });
    }
    // What the engine knows of the caller; `host` is the one the client reached
    // (NIP-42 and NIP-62 compare relay URLs with it when relay_url is unset).
    const meta = {
      ip: request.headers.get('CF-Connecting-IP') ?? '',
      origin: request.headers.get('Origin') ?? '',
      user_agent: request.headers.get('User-Agent') ?? '',
      host: url.host,
    };
    if (path.startsWith('/api/v1/')) {
      // The HTTP API: the engine answers (the Worker routed it here). The
      // engine refuses bodies over its max_message_length by their size.
      const body = request.method === 'POST' ? await readCapped(request, API_BODY_CAP) : '';
      const { status, body: out, headers } = await this.host.api(request.method, path, body, meta);
      return new Response(out, { status, headers: replyHeaders(headers) });
    }
    if (request.headers.get('upgrade')?.toLowerCase() !== 'websocket') {
      return new Response('expected a WebSocket upgrade\n', { status: 426 });
    }
    const { 0: client, 1: server } = new WebSocketPair();
    this.ctx.acceptWebSocket(server);
    await this.host.accept(server, meta);
    return new Response(null, { status: 101, webSocket: client });
  }

  // The engine (workerd tests inspect it through runInDurableObject).
  get engine() {
    return this.host.engine;
  }

  // RPC for the Worker's GET /stats: the engine's stats, as the engine wrote them.
  async stats() {
    return { ...this.host.stats(), d1_rows_read: this.d1Rows.read, d1_rows_written: this.d1Rows.written, d1_batches: this.d1Rows.batches };
  }

  // RPC for GET /health: { ok, d1, connections, subscriptions, events_accepted, ... }.
  async health() {
    return this.host.health();
  }

  // RPC from another relay object: events it stored that this object's
  // subscriptions may want (raw JSON lines).
  async deliver(events) {
    if (typeof events !== 'string') return;
    await this.host.deliver(events);
  }

  // RPC for GET /metrics: Prometheus text.
  async metrics() {
    return this.host.metrics();
  }

  async webSocketMessage(ws, message) {
    await this.host.message(ws, message);
  }

  async webSocketClose(ws, code, reason) {
    await this.host.closed(ws, code, reason);
  }

  async webSocketError(ws) {
    await this.host.closed(ws);
  }

  async alarm() {
    await this.host.alarm();
  }
}
