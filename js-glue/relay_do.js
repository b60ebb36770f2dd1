// The relay Durable Object: hibernatable WebSockets in, the relay engine
// (js-glue/engine.js, which owns the wasm side) decides everything. This class
// only maps socket events to engine calls and performs the I/O the engine
// asks for (send, attachment, close, DO SQL, D1 batch).

import { DurableObject } from 'cloudflare:workers';
import { fromD1Result } from './codec.js';
import { configJson } from './config.js';
import { RelayEngine } from './engine.js';
import { getWasm } from './wasm.js';

const now = () => Date.now() / 1000;

// NIP-42 challenge: 16 random bytes as 32 hex chars.
function randomChallenge() {
  const b = crypto.getRandomValues(new Uint8Array(16));
  let s = '';
  for (const x of b) s += x.toString(16).padStart(2, '0');
  return s;
}

export class RelayDurableObject extends DurableObject {
  constructor(ctx, env) {
    super(ctx, env);
    this.sockets = new Map(); // conn -> WebSocket
    this.connOf = new Map(); // WebSocket -> conn
    try {
      this.engine = new RelayEngine({ getWasm, config: configJson(env), performer: this.#performer(), key: ctx.id.toString(), now });
    } catch (err) {
      console.error(`relay Durable Object cannot start: ${err?.message ?? err}`);
      throw err;
    }

    // Waking from hibernation: give the engine back every surviving socket
    // with its last attachment, then let it reload their subscriptions.
    const t = now();
    let maxConn = 0;
    const orphans = [];
    for (const ws of ctx.getWebSockets()) {
      const att = ws.deserializeAttachment();
      if (!att || typeof att.conn !== 'number') {
        orphans.push(ws);
        continue;
      }
      this.#track(att.conn, ws);
      maxConn = Math.max(maxConn, att.conn);
    }
    this.nextConn = maxConn + 1;
    for (const ws of orphans) this.#closeQuietly(ws, 1011, 'error: lost connection state');

    ctx.blockConcurrencyWhile(async () => {
      for (const [conn, ws] of this.sockets) {
        const state = ws.deserializeAttachment().state ?? '';
        const rc = this.engine.open(conn, randomChallenge(), state, t);
        if (rc !== 0) console.error(`nr_relay_open(${conn}) after wake returned ${rc}`);
        await this.engine.drain();
      }
      this.engine.restore(t);
      await this.engine.drain();
    });
  }

  async fetch(request) {
    if (request.headers.get('upgrade')?.toLowerCase() !== 'websocket') {
      return new Response('expected a WebSocket upgrade\n', { status: 426 });
    }
    const { 0: client, 1: server } = new WebSocketPair();
    this.ctx.acceptWebSocket(server);
    const conn = this.nextConn++;
    // Record the conn id right away: a hibernation before the engine's first
    // ATTACH must still find it.
    server.serializeAttachment({ conn, state: '' });
    this.#track(conn, server);
    const meta = {
      ip: request.headers.get('CF-Connecting-IP') ?? '',
      origin: request.headers.get('Origin') ?? '',
      user_agent: request.headers.get('User-Agent') ?? '',
    };
    const rc = this.engine.open(conn, randomChallenge(), '', now(), meta);
    if (rc !== 0) console.error(`nr_relay_open(${conn}) returned ${rc}`);
    await this.engine.drain();
    return new Response(null, { status: 101, webSocket: client });
  }

  // RPC for the Worker's GET /stats: the engine's stats, as the engine wrote them.
  async stats() {
    return this.engine.stats();
  }

  async webSocketMessage(ws, message) {
    const conn = this.#connOf(ws);
    if (conn === undefined) return;
    // Text and binary frames alike go to the engine; it answers whatever is not JSON.
    this.engine.frame(conn, typeof message === 'string' ? message : new Uint8Array(message), now());
    await this.engine.drain();
  }

  // The engine's durable timer (expiry sweep, AUTH deadlines) is due.
  async alarm() {
    this.engine.timer(now());
    await this.engine.drain();
  }

  async webSocketClose(ws, code, reason) {
    // The Hibernation API does not answer a client's Close frame by itself:
    // reciprocate (reserved codes 1005/1006/1015 cannot be sent; use 1000).
    try {
      ws.close(code === 1005 || code === 1006 || code === 1015 ? 1000 : code, reason);
    } catch {
      // already closed
    }
    this.#closed(ws);
    await this.engine.drain();
  }

  async webSocketError(ws) {
    this.#closed(ws);
    await this.engine.drain();
  }

  // ------------------------------------------------------------ actions

  // The I/O the engine asks for (see js-glue/engine.js).
  #performer() {
    return {
      send: (conn, text) => this.#send(conn, text),
      attach: (conn, state) => {
        const ws = this.sockets.get(conn);
        if (!ws) return;
        try {
          ws.serializeAttachment({ conn, state });
        } catch (err) {
          console.error(`serializeAttachment(conn ${conn}, ${state.length} chars) failed:`, err?.message ?? err);
        }
      },
      close: (conn, code, reason) => {
        const ws = this.sockets.get(conn);
        if (ws) this.#closeQuietly(ws, code, reason);
      },
      sql: (sql, params) => {
        const cursor = this.ctx.storage.sql.exec(sql, ...params);
        const rows = [...cursor.raw()];
        return { changes: cursor.rowsWritten, columns: cursor.columnNames, rows };
      },
      d1: async (stmts) => {
        const batch = await this.env.DB.batch(stmts.map((s) => this.env.DB.prepare(s.sql).bind(...(s.params ?? []))));
        return batch.map(fromD1Result);
      },
      alarm: (at) => {
        this.ctx.storage.setAlarm(at * 1000);
      },
      failed: (err) => this.#reset(err),
    };
  }

  #send(conn, text) {
    const ws = this.sockets.get(conn);
    if (!ws) return; // already gone
    try {
      ws.send(text);
    } catch {
      // a socket closing under us: its close event tells the engine
    }
  }

  #closeQuietly(ws, code, reason) {
    try {
      ws.close(code, reason);
    } catch (err) {
      console.error(`close(${code}, ${JSON.stringify(reason)}) failed:`, err?.message ?? err);
    }
  }

  // The engine failed (it has already retired its wasm instance): drop every
  // socket and this object; the next connection gets a fresh one.
  #reset(err) {
    console.error('relay engine failed; resetting the Durable Object:', err?.stack ?? err);
    for (const ws of this.ctx.getWebSockets()) this.#closeQuietly(ws, 1011, 'error: internal');
    this.sockets.clear();
    this.connOf.clear();
    try {
      this.ctx.abort?.('relay engine failed');
    } catch {
      // abort() throws by design to unwind
    }
  }

  // ------------------------------------------------------------ sockets

  #closed(ws) {
    const conn = this.#connOf(ws);
    if (conn === undefined) return;
    this.sockets.delete(conn);
    this.connOf.delete(ws);
    this.engine.close(conn);
  }

  #track(conn, ws) {
    this.sockets.set(conn, ws);
    this.connOf.set(ws, conn);
  }

  #connOf(ws) {
    const known = this.connOf.get(ws);
    if (known !== undefined) return known;
    const att = ws.deserializeAttachment();
    if (!att || typeof att.conn !== 'number') return undefined;
    if (!this.sockets.has(att.conn)) this.#track(att.conn, ws);
    return att.conn;
  }
}
