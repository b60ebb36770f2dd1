// The relay Durable Object: hibernatable WebSockets in, the wasm relay engine
// (durable/abi/relay_abi.h) decides everything; this class only feeds it
// socket events and performs the actions it returns (send, fan-out, D1 batch,
// DO SQL, attachment, close).

import { DurableObject } from 'cloudflare:workers';
import { ACTION, decodeActions, decodeFanout, encodeResults, fromD1Result } from './codec.js';
import { configJson, getWasm, utf8 } from './wasm.js';

const now = () => Date.now() / 1000;

// NIP-42 challenge: 16 random bytes as 32 hex chars.
function randomChallenge() {
  const b = crypto.getRandomValues(new Uint8Array(16));
  let s = '';
  for (const x of b) s += x.toString(16).padStart(2, '0');
  return s;
}

// The engine of the live instance per object id. An object evicted (for
// example hibernated) while its isolate lives on never learns it; the next
// instance for the same id frees the old engine, so wasm memory does not grow
// with every hibernation cycle.
const liveInstances = new Map(); // id string -> RelayDurableObject

export class RelayDurableObject extends DurableObject {
  constructor(ctx, env) {
    super(ctx, env);
    const id = ctx.id.toString();
    liveInstances.get(id)?.#dispose();
    liveInstances.set(id, this);
    this.sockets = new Map(); // conn -> WebSocket
    this.connOf = new Map(); // WebSocket -> conn
    this.wasm = getWasm();
    this.relay = this.wasm.withInput(configJson(env), (p, n) => this.wasm.call('nr_relay_new', p, n));
    if (!this.relay) {
      const why = this.wasm.has('nr_relay_error') ? this.#errorText() : '';
      throw new Error(`nr_relay_new rejected RELAY_CONFIG${why ? `: ${why}` : ''}`);
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
        const rc = this.#open(conn, randomChallenge(), state, t);
        if (rc !== 0) console.error(`nr_relay_open(${conn}) after wake returned ${rc}`);
        await this.#drain();
      }
      this.#engine((r) => this.wasm.call('nr_relay_restore', r, t));
      await this.#drain();
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
    const rc = this.#open(conn, randomChallenge(), '', now());
    if (rc !== 0) console.error(`nr_relay_open(${conn}) returned ${rc}`);
    await this.#drain();
    return new Response(null, { status: 101, webSocket: client });
  }

  async webSocketMessage(ws, message) {
    const conn = this.#connOf(ws);
    if (conn === undefined) return;
    // Text and binary frames alike go to the engine; it answers whatever is not JSON.
    const input = typeof message === 'string' ? message : new Uint8Array(message);
    const t = now();
    // A string of N UTF-16 units is at least N UTF-8 bytes: refuse what is surely
    // too big before copying it into wasm memory (which never shrinks).
    this.frameLimit ??= this.wasm.call('nr_relay_frame_limit', this.relay);
    if (input.length > this.frameLimit) {
      this.#engine((r) => this.wasm.call('nr_relay_oversized', r, conn, input.length, t));
    } else {
      this.#engine((r) => this.wasm.withInput(input, (p, n) => this.wasm.call('nr_relay_frame', r, conn, p, n, t)));
    }
    await this.#drain();
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
    await this.#drain();
  }

  async webSocketError(ws) {
    this.#closed(ws);
    await this.#drain();
  }

  // ------------------------------------------------------------ engine calls

  #open(conn, challenge, state, t) {
    let rc;
    this.#engine((r) => {
      const c = this.wasm.write(challenge);
      const s = this.wasm.write(state);
      try {
        rc = this.wasm.call('nr_relay_open', r, conn, c.ptr, c.len, s.ptr, s.len, t);
      } finally {
        if (!this.wasm.broken) {
          this.wasm.free(c.ptr);
          this.wasm.free(s.ptr);
        }
      }
    });
    return rc;
  }

  #closed(ws) {
    const conn = this.#connOf(ws);
    if (conn === undefined) return;
    this.sockets.delete(conn);
    this.connOf.delete(ws);
    this.#engine((r) => this.wasm.call('nr_relay_close', r, conn));
  }

  #errorText() {
    const p = this.wasm.call('nr_relay_error');
    if (!p) return '';
    const mem = new Uint8Array(this.wasm.exports.memory.buffer);
    let end = p;
    while (end < mem.length && mem[end] !== 0) end++;
    return utf8.decode(mem.subarray(p, end));
  }

  // Runs one nr_relay_* call, then performs the actions it left. D1 batches
  // start here and complete later; their promises collect in this.pending and
  // #drain() awaits them (other events interleave meanwhile: D1 is external I/O,
  // the input gate stays open).
  #engine(call) {
    if (this.disposed) return; // a late completion for an evicted instance
    if (this.failed) throw this.failed;
    try {
      if (this.wasm.broken) throw new Error('the wasm instance trapped in another call');
      call(this.relay);
      this.#perform(this.#takeActions());
    } catch (err) {
      this.#fail(err);
      throw err;
    }
  }

  #takeActions() {
    const r = this.relay;
    const len = this.wasm.call('nr_relay_actions_len', r);
    if (len === 0) return null;
    return this.wasm.read(this.wasm.call('nr_relay_actions_ptr', r), len); // a copy: performing may call back in
  }

  #perform(buf) {
    if (buf === null) return;
    for (const { type, a, b, bytes } of decodeActions(buf)) {
      switch (type) {
        case ACTION.SEND:
          this.#send(a, utf8.decode(bytes));
          break;
        case ACTION.FANOUT: {
          const { raw, targets } = decodeFanout(bytes, a);
          const event = utf8.decode(raw);
          for (const { conn, prefix } of targets) this.#send(conn, `${utf8.decode(prefix)}${event}]`);
          break;
        }
        case ACTION.D1:
          this.#startD1(a, bytes);
          break;
        case ACTION.SQL:
          this.#sql(a, bytes);
          break;
        case ACTION.ATTACH: {
          const ws = this.sockets.get(a);
          if (ws) {
            try {
              ws.serializeAttachment({ conn: a, state: utf8.decode(bytes) });
            } catch (err) {
              console.error(`serializeAttachment(conn ${a}, ${bytes.length} bytes) failed:`, err?.message ?? err);
            }
          }
          break;
        }
        case ACTION.CLOSE: {
          const ws = this.sockets.get(a);
          if (ws) this.#closeQuietly(ws, b, utf8.decode(bytes));
          break;
        }
        default:
          throw new Error(`relay engine emitted unknown action type ${type} (a=${a} b=${b} len=${bytes.length})`);
      }
    }
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

  // DO SQL, synchronous; a token asks for the results before later records.
  #sql(token, bytes) {
    const { sql, params } = JSON.parse(utf8.decode(bytes));
    let stmt;
    try {
      const cursor = this.ctx.storage.sql.exec(sql, ...(params ?? []));
      const rows = [...cursor.raw()];
      stmt = { changes: cursor.rowsWritten, columns: cursor.columnNames, rows };
    } catch (err) {
      throw new Error(`DO SQL failed: ${err?.message ?? err}; sql=${sql} params=${JSON.stringify(params)}`);
    }
    if (token === 0) return;
    const results = encodeResults([stmt]);
    this.wasm.withInput(results, (p, n) => this.wasm.call('nr_relay_sql_done', this.relay, token, p, n, now()));
    this.#perform(this.#takeActions());
  }

  #startD1(token, bytes) {
    const { stmts } = JSON.parse(utf8.decode(bytes));
    const work = (async () => {
      let ok = 1;
      let results;
      try {
        const batch = await this.env.DB.batch(stmts.map((s) => this.env.DB.prepare(s.sql).bind(...(s.params ?? []))));
        results = encodeResults(batch.map(fromD1Result));
      } catch (err) {
        ok = 0;
        results = utf8.encode(String(err?.message ?? err));
      }
      if (this.failed) return;
      this.#engine((r) => this.wasm.withInput(results, (p, n) => this.wasm.call('nr_relay_d1_done', r, token, ok, p, n, now())));
    })();
    (this.pending ??= new Set()).add(work);
    work.finally(() => this.pending.delete(work)).catch(() => {});
  }

  // Awaits every D1 batch in flight (including ones their completions start).
  async #drain() {
    while (this.pending?.size) await Promise.allSettled([...this.pending]);
    if (this.failed) throw this.failed;
  }

  // A trap or a malformed action is a bug, not client input: the engine's
  // state can no longer be trusted, so drop every socket and the instance
  // (the next connection gets a fresh object).
  #fail(err) {
    if (this.failed) return;
    this.failed = err;
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

  #dispose() {
    if (this.disposed) return;
    this.disposed = true;
    if (this.relay && !this.wasm.broken) this.wasm.call('nr_relay_free', this.relay);
    this.relay = 0;
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
