// The relay engine host: owns one nr_relay engine (durable/abi/relay_abi.h) in
// a wasm instance, makes every call into it, decodes the actions each call
// leaves and hands them to a performer that does the I/O. A failure of any
// kind (a trap, an error in this glue, a malformed action, a throwing
// performer such as a DO SQL error) fails the engine for good and retires its
// wasm instance, so the next engine starts on a fresh heap.
//
// No runtime imports (the wasm instance comes from `getWasm`): the same code
// runs in the Durable Object (js-glue/relay_do.js) and in plain node tests.
//
// The performer (all synchronous unless said otherwise; a throw is an engine
// failure):
//   send(conn, text)            one text frame to that socket (ignore a closing one)
//   attach(conn, state)         keep the connection state (text) with the socket
//   close(conn, code, reason)   close the socket
//   sql(sql, params)            DO SQLite: returns { changes, columns, rows }
//   d1(stmts)                   async: one D1 batch over [{ sql, params }]; resolves
//                               to [{ changes, columns, rows }] per statement. A
//                               rejection is storage failure, not engine failure:
//                               the engine answers OK false.
//   alarm(at)                   optional: keep one wake-up alarm at `at` (unix seconds)
//                               that survives hibernation, then call timer(now)
//   reply(request, status, body) the answer to httpAdmin / httpApi(request, ...)
//   log(line)                   optional: one structured log line (JSON text); default console.log
//   forward(peer, events)       optional: hand `events` (raw JSON lines) to the relay
//                               object named `peer` (its deliver()), without waiting
//   archive(key, body)          optional, async: keep `body` (raw JSON lines) in the
//                               archive under `key`; resolves true once written
//                               (absent or false: retention keeps the events)
//   failed(err)                 the engine failed: drop its sockets (called once)

import { logError } from './log.js';
import { decodeActionList, encodeResults } from './codec.js';
import { configFailure } from './config.js';
import { utf8 } from './wasm_instance.js';

// RELAY_CONFIG refused by the core: the message names the key.
export class ConfigError extends Error {}

// The engine of the live owner per key (a Durable Object id). An object
// evicted (for example hibernated) while its isolate lives on never learns
// it; the next engine for the same key frees the old one, so wasm memory
// does not grow with every hibernation cycle.
const liveEngines = new Map(); // key -> RelayEngine

export class RelayEngine {
  // getWasm: () => WasmInstance (js-glue/wasm_instance.js instanceSource).
  // config: RELAY_CONFIG JSON text; throws ConfigError if the core refuses it.
  // performer: see above. key: owner identity, or null for no registry.
  // now: clock in unix seconds, for completions the engine is fed later.
  constructor({ getWasm, config, performer, key = null, now = () => Date.now() / 1000 }) {
    if (key !== null) liveEngines.get(key)?.dispose();
    this.performer = performer;
    this.key = key;
    this.now = now;
    this.failure = null; // the error that failed the engine
    this.disposed = false;
    this.pending = new Set(); // D1 batches in flight
    this.wasm = getWasm();
    let relay;
    let refused = null;
    try {
      relay = this.wasm.withInput(config, (p, n) => this.wasm.u32('nr_relay_new', p, n));
      if (!relay) refused = configFailure('nr_relay_new', this.wasm, config);
    } catch (err) {
      this.wasm.discard();
      throw err;
    }
    // A refused config leaves nothing behind: the instance stays in use.
    if (refused !== null) throw new ConfigError(refused);
    this.relay = relay;
    if (key !== null) liveEngines.set(key, this);
  }

  // The wasm instance's generation (see WasmInstance).
  get generation() {
    return this.wasm.generation;
  }

  // A socket opened (state '' for a new one, else its last conn state after
  // hibernation). meta: { ip, origin, user_agent, host } of a new socket (strings,
  // any may be missing). Returns nr_relay_open's code: 0, or -1 if conn is
  // already open.
  open(conn, challenge, state, now, meta = {}) {
    const metaJson = JSON.stringify({ ip: meta.ip ?? '', origin: meta.origin ?? '', user_agent: meta.user_agent ?? '', host: meta.host ?? '' });
    return this.#run((r) =>
      this.wasm.withInput(challenge, (cp, cn) =>
        this.wasm.withInput(state, (sp, sn) =>
          this.wasm.withInput(metaJson, (mp, mn) => this.wasm.call('nr_relay_open', r, conn, cp, cn, sp, sn, mp, mn, now)))));
  }

  // Timed work is due (the Durable Object alarm fired; early calls are harmless).
  timer(now) {
    this.#run((r) => this.wasm.call('nr_relay_timer', r, now));
  }

  // After waking: reloads subscriptions of the reopened sockets.
  restore(now) {
    this.#run((r) => this.wasm.call('nr_relay_restore', r, now));
  }

  // A frame (string or Uint8Array) arrived on conn.
  frame(conn, input, now) {
    this.#run((r) => {
      // A string of N UTF-16 units is at least N UTF-8 bytes: refuse what is surely
      // too big before copying it into wasm memory (which never shrinks).
      this.frameLimit ??= this.wasm.u32('nr_relay_frame_limit', r);
      if (input.length > this.frameLimit) return this.wasm.call('nr_relay_oversized', r, conn, input.length, now);
      return this.wasm.withInput(input, (p, n) => this.wasm.call('nr_relay_frame', r, conn, p, n, now));
    });
  }

  // Several relay objects: this engine's object name (nr_relay_set_name).
  setName(name) {
    this.#run((r) => this.wasm.withInput(name, (p, n) => this.wasm.call('nr_relay_set_name', r, p, n)));
  }

  // Events another relay object forwarded (raw JSON lines): fanned out here.
  deliver(events, now) {
    this.#run((r) => this.wasm.withInput(events, (p, n) => this.wasm.call('nr_relay_deliver', r, p, n, now)));
  }

  // The socket closed or errored.
  close(conn) {
    this.#run((r) => this.wasm.call('nr_relay_close', r, conn));
  }

  // The engine's stats JSON (nr_relay_stats), parsed: { connections,
  // subscriptions, memory_bytes, ... } exactly as the engine wrote it.
  stats() {
    return this.#query((r) => {
      const len = this.wasm.u32('nr_relay_stats', r);
      return JSON.parse(this.wasm.readText(this.wasm.u32('nr_relay_stats_ptr', r), len));
    });
  }

  // A NIP-86 management request (nr_relay_http_admin): the answer comes to
  // performer.reply(request, ...), now or after a D1 batch (drain() awaits it).
  httpAdmin(request, url, authorization, body, now) {
    this.#run((r) =>
      this.wasm.withInput(url, (up, un) =>
        this.wasm.withInput(authorization, (ap, an) =>
          this.wasm.withInput(body, (bp, bn) => this.wasm.call('nr_relay_http_admin', r, request, up, un, ap, an, bp, bn, now)))));
  }

  // An HTTP API call (nr_relay_http_api): answered by reply(request, ...).
  httpApi(request, method, path, body, meta, now) {
    this.#run((r) =>
      this.wasm.withInput(method, (mp, mn) =>
        this.wasm.withInput(path, (pp, pn) =>
          this.wasm.withInput(body, (bp, bn) =>
            this.wasm.withInput(JSON.stringify(meta), (xp, xn) =>
              this.wasm.call('nr_relay_http_api', r, request, mp, mn, pp, pn, bp, bn, xp, xn, now))))));
  }

  // The Prometheus text of the engine's metrics (nr_relay_metrics).
  metrics() {
    return this.#query((r) => {
      const len = this.wasm.u32('nr_relay_metrics', r);
      return this.wasm.readText(this.wasm.u32('nr_relay_stats_ptr', r), len);
    });
  }

  // The body of GET /health (nr_relay_health: the engine builds it on both
  // hosts), parsed. d1: whether D1 answered the probe; error: why not, or ''.
  health(d1, error = '') {
    return this.#query((r) =>
      this.wasm.withInput(error, (ep, en) => {
        const len = this.wasm.u32('nr_relay_health', r, d1 ? 1 : 0, ep, en);
        return JSON.parse(this.wasm.readText(this.wasm.u32('nr_relay_stats_ptr', r), len));
      }));
  }

  connectionCount() {
    return this.#query((r) => this.wasm.u32('nr_relay_connection_count', r));
  }

  subscriptionCount() {
    return this.#query((r) => this.wasm.u32('nr_relay_subscription_count', r));
  }

  // Awaits every D1 batch in flight (including ones their completions start);
  // throws the failure if the engine failed meanwhile.
  async drain() {
    while (this.pending.size) await Promise.allSettled([...this.pending]);
    if (this.failure) throw this.failure;
  }

  // Frees the engine (its owner is gone). Later calls do nothing, so late D1
  // completions for an evicted owner are dropped.
  dispose() {
    if (this.disposed) return;
    this.disposed = true;
    clearTimeout(this.timeout);
    if (liveEngines.get(this.key) === this) liveEngines.delete(this.key);
    if (!this.failure && !this.wasm.trapped) {
      try {
        this.wasm.call('nr_relay_free', this.relay);
      } catch (err) {
        this.wasm.discard();
        logError('nr_relay_free failed', err);
      }
    }
    this.relay = 0;
  }

  // ------------------------------------------------------------ internals

  // Runs one action-producing nr_relay_* call, then performs the actions it
  // left. Returns the call's result (undefined once disposed).
  #run(call) {
    return this.#guard(() => {
      const result = call(this.relay);
      this.#perform(this.#takeActions());
      this.#armTimer();
      return result;
    });
  }

  // The engine's two kinds of timed work. Durable work (nr_relay_next_alarm:
  // expiry sweep, AUTH deadlines) goes to performer.alarm(at), which keeps the
  // Durable Object alarm there (only when it changes: it is a storage write).
  // Short-lived work (nr_relay_next_deadline: paced pages) is one setTimeout;
  // an earlier deadline replaces a later one. It is only armed while such work
  // exists, so an idle object can still hibernate.
  #armTimer() {
    const alarm = this.wasm.call('nr_relay_next_alarm', this.relay);
    if (alarm && alarm !== this.alarmAt && this.performer.alarm) {
      this.alarmAt = alarm;
      this.performer.alarm(alarm);
    }
    const due = this.wasm.call('nr_relay_next_deadline', this.relay);
    if (!due || (this.timerDue && this.timerDue <= due)) return;
    clearTimeout(this.timeout);
    this.timerDue = due;
    this.timeout = setTimeout(() => {
      this.timeout = null;
      this.timerDue = 0;
      try {
        this.#run((r) => this.wasm.call('nr_relay_timer', r, this.now()));
      } catch (err) {
        logError('relay engine timer failed', err); // #fail already ran
      }
    }, Math.max(0, (due - this.now()) * 1000));
    this.timeout?.unref?.(); // node: never keeps a test process alive
  }

  // Runs a call that leaves no actions (the action buffer still holds the
  // previous call's, already performed).
  #query(call) {
    return this.#guard(() => call(this.relay));
  }

  #guard(fn) {
    if (this.disposed) return undefined;
    if (this.failure) throw this.failure;
    try {
      return fn();
    } catch (err) {
      this.#fail(err);
      throw err;
    }
  }

  // A copy of the pending actions (performing may call back in), or null.
  #takeActions() {
    const len = this.wasm.u32('nr_relay_actions_len', this.relay);
    if (len === 0) return null;
    return this.wasm.read(this.wasm.u32('nr_relay_actions_ptr', this.relay), len);
  }

  #perform(buf) {
    if (buf === null) return;
    const p = this.performer;
    for (const act of decodeActionList(buf)) {
      switch (act.type) {
        case 'send':
          p.send(act.conn, act.text);
          break;
        case 'fanout':
          for (const { conn, prefix } of act.targets) p.send(conn, `${prefix}${act.raw}]`);
          break;
        case 'store':
          this.#startD1(act.token, act.stmts_json);
          break;
        case 'local_sql':
          this.#sql(act.token, act.stmt_json);
          break;
        case 'save_conn_state':
          p.attach(act.conn, act.state);
          break;
        case 'close':
          p.close(act.conn, act.code, act.reason);
          break;
        case 'http_reply':
          p.reply(act.request, act.status, act.body, act.headers);
          break;
        case 'log':
          (p.log ?? console.log)(act.line);
          break;
        case 'forward':
          p.forward?.(act.peer, act.events);
          break;
        case 'archive':
          this.#startArchive(act.token, act.key, act.body);
          break;
      }
    }
  }

  // DO SQL, synchronous; a token asks for the results before later records.
  #sql(token, json) {
    const { sql, params } = JSON.parse(json);
    let stmt;
    try {
      stmt = this.performer.sql(sql, params ?? []);
    } catch (err) {
      const shown = JSON.stringify(params);
      throw new Error(`DO SQL failed: ${err?.message ?? err}; sql=${sql} params=${shown.length > 300 ? `${shown.slice(0, 300)}… (${shown.length} chars)` : shown}`);
    }
    if (token === 0) return;
    const results = encodeResults([stmt]);
    this.wasm.withInput(results, (p, n) => this.wasm.call('nr_relay_local_sql_done', this.relay, token, p, n, this.now()));
    this.#perform(this.#takeActions());
  }

  // D1 batches start here and complete later (other calls interleave
  // meanwhile: D1 is external I/O); drain() awaits them.
  #startD1(token, json) {
    const { stmts } = JSON.parse(json);
    const work = (async () => {
      let ok = 1;
      let results;
      const started = Date.now();
      try {
        results = encodeResults(await this.performer.d1(stmts));
        if (!this.failure && !this.disposed) this.wasm.call('nr_relay_store_latency', this.relay, (Date.now() - started) / 1000);
      } catch (err) {
        ok = 0;
        // Transient or not, the operator should see why storage refused.
        logError('D1 batch failed', err, { statements: stmts.length });
        results = utf8.encode(String(err?.message ?? err));
      }
      if (this.failure) return;
      this.#run((r) => this.wasm.withInput(results, (p, n) => this.wasm.call('nr_relay_store_done', r, token, ok, p, n, this.now())));
    })();
    this.pending.add(work);
    work.finally(() => this.pending.delete(work)).catch(() => {});
  }

  // Retention's archive write (async, like D1): nr_relay_archive_done when done.
  #startArchive(token, key, body) {
    const work = (async () => {
      let ok = 0;
      try {
        ok = (await this.performer.archive?.(key, body)) ? 1 : 0;
      } catch (err) {
        logError('archive write failed', err, { key });
      }
      if (this.failure) return;
      this.#run((r) => this.wasm.call('nr_relay_archive_done', r, token, ok, this.now()));
    })();
    this.pending.add(work);
    work.finally(() => this.pending.delete(work)).catch(() => {});
  }

  // A failure is a bug, not client input: the engine's state can no longer be
  // trusted, and its instance's heap may keep whatever the failed call had
  // allocated. Retire both; the owner drops its sockets.
  #fail(err) {
    if (this.failure) return;
    this.failure = err;
    clearTimeout(this.timeout);
    this.wasm.discard();
    if (liveEngines.get(this.key) === this) liveEngines.delete(this.key);
    try {
      this.performer.failed(err);
    } catch (e) {
      logError('performer.failed threw', e);
    }
  }
}
