// Soak: mixed load on one relay (wrangler dev or the native server, started
// here on a free port with fresh state) for N minutes, tracking correctness,
// answer latencies and memory. scripts/soak runs it:
//   scripts/soak [minutes] [--host wrangler|native] [--json FILE] [--slow-rate BYTES_PER_S] [--nice N]
//
// All at once, modest (2 cores shared with the relay):
//   publishers     3 sockets, one key each, one event at a time: kind 1 notes
//                  (t/e/p tags), replaceable updates (kinds 0, 3, 10002),
//                  addressable 30023 articles (d tags, 0.5-6 KB), NIP-09
//                  deletions of their own notes (e tags; now and then also a
//                  foreign note, which must stay) and of their own articles (a
//                  tags), republished events (duplicate: / deleted: blocked),
//                  stale and same-second versions (duplicate: superseded);
//   reconnecting   3 clients: connect, subscribe to their own key, publish 1-3
//                  notes (each must come back live on that subscription), wait
//                  1-4 s, close, reconnect (now and then closing before the OK);
//   REQ/CLOSE      one socket keeps opening and closing subscriptions with
//                  varied filters (authors, kinds, #e/#p/#t/#d, since/until,
//                  ids, limit; 1-3 filters), some closed before EOSE;
//   COUNT          one socket, a COUNT about every 0.7 s;
//   NIP-77         a negentropy sync every 20 s (one author's notes up to
//                  10 s ago against what the soak knows);
//   HTTP API       POST /api/v1/events, POST /api/v1/query, GET /api/v1/events/{id};
//   watcher        one socket with four long-lived subscriptions: every event
//                  stored after their EOSE must arrive on them exactly once;
//   slow reader    a raw TCP WebSocket that reads at --slow-rate bytes/s
//                  (default 32768), asking for the newest 500 events (all
//                  kinds) again each time the previous answer ended, plus a
//                  live subscription it must receive in full at the end.
// Correctness model: every event answered OK true must be readable afterwards
// unless replaced (replaceable/addressable: the newest, equal created_at ->
// lowest id) or deleted (NIP-09); every OK is predicted (accepted, duplicate:,
// blocked:) and a different answer is an error. Every minute a sample (100
// notes, 20 replaceable keys) is read back; at the end everything is: by ids,
// one REQ per author for replaceable keys, COUNT per author, a full negentropy
// sync, and the live subscriptions' completeness.
// Errors: an OK the model did not predict, CLOSED, NOTICE, NEG-ERR, an HTTP
// status not predicted, socket error or close not asked for, a delivered event
// not matching its filter, a stored answer not newest first or over its limit.
// Expected by construction (counted, not errors): duplicate:, superseded and
// deleted refusals the model predicts, frames for a subscription after its
// CLOSE, HTTP 404 for a deleted id. Duplicates: an event delivered twice on
// one subscription. Exit status 1 if anything was lost, any error, any duplicate.
// Each minute: latency percentiles (EVENT->OK, REQ->EOSE, COUNT, HTTP calls,
// NIP-77 sync), events, errors, the relay's RSS (workerd processes' VmRSS, or
// the server's) and GET /stats (memory_bytes: on wrangler the wasm linear
// memory, i.e. the heap high-water mark; natively the server's RSS).
// Events stored while a stored answer is read may arrive live before its EOSE
// (the relay does that on purpose): they are left out of the limit and order
// checks. The load runs at nice --nice (default 5) once the relay has started.
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { setPriority } from 'node:os';
import { dirname, resolve } from 'node:path';
import { finalizeEvent, generateSecretKey, getPublicKey } from 'nostr-tools/pure';
import { matchFilters } from 'nostr-tools/filter';
import { nip77 } from 'nostr-tools';
import { FrameReader, closeInfo, encodeFrame, rawHandshake } from '../../tests/support/raw_ws.mjs';

// ------------------------------------------------------------------ options

function usage(msg) {
  if (msg) console.error(`soak: ${msg}`);
  console.error('usage: scripts/soak [minutes] [--host wrangler|native] [--json FILE] [--slow-rate BYTES_PER_S] [--nice N]');
  process.exit(2);
}
const opts = { minutes: 2, host: 'wrangler', json: null, slowRate: 32768, nice: 5 };
{
  const a = process.argv.slice(2);
  for (let i = 0; i < a.length; i++) {
    const arg = a[i];
    const val = () => {
      if (i + 1 >= a.length) usage(`${arg} needs a value`);
      return a[++i];
    };
    if (arg === '--host') opts.host = val();
    else if (arg.startsWith('--host=')) opts.host = arg.slice(7);
    else if (arg === '--json') opts.json = val();
    else if (arg.startsWith('--json=')) opts.json = arg.slice(7);
    else if (arg === '--slow-rate') opts.slowRate = Number(val());
    else if (arg === '--nice') opts.nice = Number(val());
    else if (arg === '--minutes') opts.minutes = Number(val());
    else if (arg === '-h' || arg === '--help') usage();
    else if (/^\d*\.?\d+$/.test(arg)) opts.minutes = Number(arg);
    else usage(`unknown argument ${arg}`);
  }
  if (!['wrangler', 'native'].includes(opts.host)) usage(`--host must be wrangler or native, not ${opts.host}`);
  if (!(opts.minutes > 0)) usage('minutes must be > 0');
  if (!(opts.slowRate >= 1024)) usage('--slow-rate must be >= 1024');
}

// The harness picks its host from E2E_HOST when it is loaded.
process.env.E2E_HOST = opts.host;
const H = await import('../../tests/e2e/harness.mjs');

// ------------------------------------------------------------------ helpers

const MiB = 1024 * 1024;
const now = () => performance.now();
const nowSec = () => Math.floor(Date.now() / 1000);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const rand = (n) => Math.floor(Math.random() * n);
const pick = (a) => a[rand(a.length)];
const chance = (p) => Math.random() < p;
const short = (s, n = 300) => (typeof s === 'string' && s.length > n ? `${s.slice(0, n)}…` : s);
const WORDS = 'relay soak nostr event filter socket durable object wasm heap latency memory replace delete sync count query page stream edge native'.split(' ');
const words = (n) => Array.from({ length: n }, () => pick(WORDS)).join(' ');
const TOPICS = ['soak', 'alpha', 'beta', 'gamma', 'delta'];
const DTAGS = ['a', 'b', 'c', 'd', 'e'];
const RUN = randomBytes(3).toString('hex');
const TOKEN = `soak-${randomBytes(12).toString('hex')}`;

let T0 = now(); // load start
const elapsed = () => ((now() - T0) / 1000).toFixed(1);
let running = true; // load loops run while true
let stopWake = null;
const stopped = new Promise((r) => (stopWake = r));
// Sleeps ms, or less if the load is being stopped.
const pause = (ms) => Promise.race([sleep(ms), stopped]);

function percentiles(values) {
  if (!values?.length) return null;
  const a = Float64Array.from(values).sort();
  const at = (q) => a[Math.min(a.length - 1, Math.max(0, Math.ceil(q * a.length) - 1))];
  const r = (x) => Math.round(x * 10) / 10;
  return { n: a.length, p50: r(at(0.5)), p90: r(at(0.9)), p99: r(at(0.99)), max: r(a[a.length - 1]) };
}

// ------------------------------------------------------------------ accounting

const LAT = ['event_ok', 'req_eose', 'count', 'http_post_event', 'http_query', 'http_get', 'neg_sync', 'connect', 'slow_big_eose'];
const LAT_NAMES = {
  event_ok: 'EVENT->OK', req_eose: 'REQ->EOSE', count: 'COUNT', http_post_event: 'HTTP POST /events', http_query: 'HTTP POST /query',
  http_get: 'HTTP GET /events/{id}', neg_sync: 'NIP-77 sync', connect: 'WS connect', slow_big_eose: 'slow reader REQ->EOSE',
};
const newWindow = () => ({ lat: {}, c: {}, errors: {}, expected: {}, lost: {}, dups: {} });
let win = newWindow();
const total = newWindow();
const errorSamples = [];
const lostSamples = [];
const dupSamples = [];
let printedErrors = 0;

function lat(kind, ms) {
  for (const w of [win, total]) (w.lat[kind] ??= []).push(ms);
}
function bump(name, n = 1) {
  for (const w of [win, total]) w.c[name] = (w.c[name] ?? 0) + n;
}
function tally(field, cat) {
  for (const w of [win, total]) w[field][cat] = (w[field][cat] ?? 0) + 1;
}
const sum = (o) => Object.values(o).reduce((a, b) => a + b, 0);
function record(list, kind, cat, detail) {
  const entry = { t: Number(elapsed()), cat, detail };
  if (list.length < 100) list.push(entry);
  if (printedErrors < 30) {
    printedErrors++;
    console.error(`[soak ${opts.host} +${entry.t}s] ${kind}: ${cat}: ${typeof detail === 'string' ? detail : JSON.stringify(detail)}`);
  }
}
function error(cat, detail) {
  tally('errors', cat);
  record(errorSamples, 'ERROR', cat, detail);
}
function expected(cat) {
  tally('expected', cat);
}
function lost(cat, detail) {
  tally('lost', cat);
  record(lostSamples, 'LOST', cat, detail);
}
function duplicate(cat, detail) {
  tally('dups', cat);
  record(dupSamples, 'DUPLICATE', cat, detail);
}

// ------------------------------------------------------------------ the model

// Event records: { ev (no content/sig), cls: 'regular'|'repl', key, state:
// 'pending'|'stored'|'refused'|'uncertain', deleted, tDeleted, delPending,
// maybeDeleted, replaced, tSend, fresh (OK true with an empty message) }.
const events = new Map();
const regularIds = []; // regular events the relay stored (for sampling; some later deleted)
const keys = new Map(); // key -> { pubkey, kind, d, current, deletedUntil, pending, gen, uncertain }
const authors = new Map(); // pubkey -> { name, records: [] }
const watchers = []; // long-lived subscriptions: { sub, name, tReady, tEnd }
const pubkeys = [];

const isReplaceable = (k) => k === 0 || k === 3 || (k >= 10000 && k < 20000);
const isAddressable = (k) => k >= 30000 && k < 40000;
const dTag = (ev) => ev.tags.find((t) => t[0] === 'd')?.[1] ?? '';
const keyOf = (ev) => (isReplaceable(ev.kind) ? `${ev.kind}:${ev.pubkey}:` : isAddressable(ev.kind) ? `${ev.kind}:${ev.pubkey}:${dTag(ev)}` : null);
const lite = (ev) => ({ id: ev.id, pubkey: ev.pubkey, kind: ev.kind, created_at: ev.created_at, tags: ev.tags });
const describe = (ev) => ({ id: ev.id, kind: ev.kind, pubkey: ev.pubkey.slice(0, 12), created_at: ev.created_at, d: isAddressable(ev.kind) ? dTag(ev) : undefined });
const beats = (a, b) => a.created_at > b.created_at || (a.created_at === b.created_at && a.id < b.id); // a replaces b

function author(pk, name) {
  if (!authors.has(pk)) {
    authors.set(pk, { name, records: [] });
    pubkeys.push(pk);
  }
  return authors.get(pk);
}
function keyState(key, ev) {
  if (!keys.has(key)) keys.set(key, { pubkey: ev.pubkey, kind: ev.kind, d: dTag(ev), current: null, deletedUntil: -1, pending: 0, gen: 0, uncertain: false, history: [] });
  return keys.get(key);
}
// A regular event the relay must serve right now.
const alive = (r) => r && r.cls === 'regular' && r.state === 'stored' && !r.deleted && !r.delPending && !r.maybeDeleted;
// What the relay must answer: { ok, prefix } ('' means an empty message).
function predict(ev) {
  const r = events.get(ev.id);
  const key = keyOf(ev);
  if (!key) {
    if (r?.state === 'stored') return r.deleted ? { ok: false, prefix: 'blocked:' } : { ok: true, prefix: 'duplicate:' };
    return { ok: true, prefix: '' };
  }
  const k = keys.get(key);
  if (k && ev.created_at <= k.deletedUntil) return { ok: false, prefix: 'blocked:' };
  const cur = k?.current;
  if (cur && cur.ev.id === ev.id) return { ok: true, prefix: 'duplicate:' };
  if (cur && !beats(ev, cur.ev)) return { ok: false, prefix: 'duplicate:' };
  return { ok: true, prefix: '' };
}
function matches(pred, ok, msg) {
  if (ok !== pred.ok) return false;
  return pred.prefix === '' ? msg === '' : typeof msg === 'string' && msg.startsWith(pred.prefix);
}
// Before sending: the record (reused on a republish) and the pending marks.
function beginPublish(ev, who) {
  let r = events.get(ev.id);
  const republish = !!r;
  if (!r) {
    const key = keyOf(ev);
    r = { ev: lite(ev), cls: key ? 'repl' : 'regular', key, state: 'pending', deleted: false, delPending: 0, maybeDeleted: false, replaced: false, tSend: now(), fresh: false, who };
    events.set(ev.id, r);
    author(ev.pubkey, who).records.push(r);
  }
  const pred = predict(ev);
  if (r.key) keys.get(r.key) ?? keyState(r.key, ev);
  if (r.key) keys.get(r.key).pending++;
  const targets = ev.kind === 5 ? deletionTargets(ev) : { ids: [], addrs: [] };
  for (const t of targets.ids) t.delPending++;
  for (const k of targets.addrs) k.pending++;
  return { r, pred, republish, targets, tSend: now() };
}
function deletionTargets(ev) {
  const ids = [];
  const addrs = [];
  for (const t of ev.tags) {
    if (t[0] === 'e') {
      const target = events.get(t[1]);
      if (target && target.ev.pubkey === ev.pubkey) ids.push(target);
    } else if (t[0] === 'a') {
      const [kind, pk, d] = t[1].split(':');
      if (pk !== ev.pubkey) continue;
      const key = `${kind}:${pk}:${d ?? ''}`;
      addrs.push(keys.get(key) ?? keyState(key, { pubkey: pk, kind: Number(kind), tags: [['d', d ?? '']] }));
    }
  }
  return { ids, addrs };
}
// After the answer: outcome = { ok, msg } | { uncertain: true }.
function endPublish(p, outcome, where, sentText) {
  const { r, pred, targets } = p;
  const k = r.key ? keys.get(r.key) : null;
  if (k) k.pending--;
  for (const t of targets.ids) t.delPending--;
  for (const a of targets.addrs) a.pending--;
  if (outcome.uncertain) {
    if (r.state === 'pending') r.state = 'uncertain';
    if (k) k.uncertain = true;
    for (const t of targets.ids) t.maybeDeleted = true;
    for (const a of targets.addrs) a.uncertain = true;
    return;
  }
  const { ok, msg } = outcome;
  if (k) {
    k.history.push({ id: r.ev.id, created_at: r.ev.created_at, ok, msg: short(msg, 60), predicted: pred, t: Number(elapsed()) });
    if (k.history.length > 8) k.history.shift();
  }
  if (!matches(pred, ok, msg)) {
    const detail = { where, sent: short(sentText, 200), got: ['OK', r.ev.id, ok, msg], predicted: pred, event: describe(r.ev) };
    if (k) {
      // What the model and the relay hold for this key, for the report.
      detail.key = r.key;
      detail.model_current = k.current ? describe(k.current.ev) : null;
      detail.key_history = k.history.slice(0, -1);
      probeKey(r.key, k, detail);
    }
    error(ok ? 'OK not predicted' : `OK false${/^[a-z-]+:/.test(msg) ? ` ${msg.split(':')[0]}:` : ''}`, detail);
  } else if (!ok || pred.prefix) {
    expected(`${ok ? 'OK true' : 'OK false'} ${pred.prefix}`.trim());
  }
  bump('answered');
  if (ok && msg === '') bump('stored');
  if (!ok) {
    if (r.state === 'pending') r.state = 'refused';
    return;
  }
  const first = r.state !== 'stored';
  if (msg === '') r.fresh = true;
  r.state = 'stored';
  if (msg !== '' || !first) return; // duplicate: already applied
  r.tAck = now();
  if (r.cls === 'regular') regularIds.push(r.ev.id);
  if (k) {
    if (!k.current || beats(r.ev, k.current.ev)) {
      if (k.current) k.current.replaced = true;
      k.current = r;
    } else {
      r.replaced = true;
    }
    k.gen++;
  }
  if (r.ev.kind === 5) {
    for (const t of targets.ids) {
      if (t.state === 'stored' && !t.deleted) {
        t.deleted = true;
        t.tDeleted = now();
      }
    }
    for (const a of targets.addrs) {
      a.deletedUntil = Math.max(a.deletedUntil, r.ev.created_at);
      if (a.current && a.current.ev.created_at <= r.ev.created_at) {
        a.current.deleted = true;
        a.current.tDeleted = now();
        a.current = null;
      }
      a.gen++;
    }
  }
}

// After an OK the model did not predict for a replaceable key: what the relay
// serves for that key now (added to the error's detail and printed).
let checkerConn = null;
function probeKey(key, k, detail) {
  if (!checkerConn?.open) return;
  const filter = isAddressable(k.kind) ? { authors: [k.pubkey], kinds: [k.kind], '#d': [k.d] } : { authors: [k.pubkey], kinds: [k.kind] };
  const s = checkerConn.req([filter], { measure: null });
  const got = [];
  const onEvent = s.onEvent.bind(s);
  s.onEvent = (ev, text) => {
    got.push({ id: ev.id, created_at: ev.created_at });
    onEvent(ev, text);
  };
  s.waitEose(15000).then(() => {
    checkerConn.unsub(s);
    detail.relay_serves_after = got;
    console.error(`[soak ${opts.host} +${elapsed()}s] relay serves for ${key}: ${JSON.stringify(got)}; model current ${JSON.stringify(detail.model_current)}`);
  });
}

// What the relay must hold now: regular alive + each key's current version.
function mustHave(filterRec = () => true) {
  const out = [];
  for (const r of events.values()) {
    if (!filterRec(r)) continue;
    if (alive(r)) out.push(r);
    else if (r.cls === 'repl' && r.state === 'stored' && keys.get(r.key)?.current === r && !keys.get(r.key).uncertain && !keys.get(r.key).pending) out.push(r);
  }
  return out;
}
// An id the relay may or may not hold (no conclusion possible).
function excused(r) {
  if (!r) return false;
  if (r.state === 'pending' || r.state === 'uncertain' || r.delPending || r.maybeDeleted) return true;
  if (r.key) {
    const k = keys.get(r.key);
    if (k.uncertain || k.pending) return true;
  }
  return false;
}

// ------------------------------------------------------------------ transports

// Node's WebSocket as a transport: send(text), close(); calls conn.onText / conn.onClose.
class WsTransport {
  static async open(url) {
    return new WsTransport(await H.openSocket(url, 10000));
  }
  constructor(ws) {
    this.ws = ws;
  }
  attach(conn) {
    this.ws.addEventListener('message', (ev) => conn.onText(typeof ev.data === 'string' ? ev.data : Buffer.from(ev.data).toString('utf8')));
    this.ws.addEventListener('error', (ev) => conn.onError(ev.message ?? 'error'));
    this.ws.addEventListener('close', (ev) => conn.onClose(ev.code, ev.reason));
  }
  get open() {
    return this.ws.readyState === WebSocket.OPEN;
  }
  send(text) {
    this.ws.send(text);
  }
  close() {
    if (this.ws.readyState === WebSocket.OPEN || this.ws.readyState === WebSocket.CONNECTING) this.ws.close();
  }
}

// A raw TCP WebSocket client that reads at most `rate` bytes/s (a token
// bucket with one second of burst): the slow reader. fast() lifts the limit.
class SlowTransport {
  static async open(url, rate) {
    const { sock, rest } = await rawHandshake(url, { timeoutMs: 10000 });
    return new SlowTransport(sock, rate, rest); // paused until attach() listens
  }
  constructor(sock, rate, rest) {
    this.sock = sock;
    this.rate = rate;
    this.tokens = rate;
    this.last = now();
    this.isFast = false;
    this.rest = rest; // bytes that came with the handshake
    this.reader = new FrameReader();
    this.bytes = 0;
    this.pauses = 0;
    this.pausedMs = 0;
    this.closedByUs = false;
    this.isOpen = true;
    this.resumeTimer = null;
  }
  attach(conn) {
    this.conn = conn;
    this.sock.on('data', (d) => this.onData(d));
    this.sock.on('error', (e) => conn.onError(e.message));
    this.sock.on('close', () => {
      this.isOpen = false;
      clearTimeout(this.resumeTimer);
      conn.onClose(this.closeCode ?? 1006, this.closeReason ?? 'tcp closed');
    });
    this.sock.resume();
    if (this.rest.length) setImmediate(() => this.onData(this.rest));
  }
  get open() {
    return this.isOpen && !this.closedByUs;
  }
  refill() {
    const t = now();
    this.tokens = Math.min(this.rate, this.tokens + ((t - this.last) / 1000) * this.rate);
    this.last = t;
  }
  onData(d) {
    this.bytes += d.length;
    this.parse(d);
    if (this.isFast) return;
    this.refill();
    this.tokens -= d.length;
    if (this.tokens < 0 && !this.sock.isPaused()) {
      this.sock.pause();
      this.pauses++;
      const wait = (-this.tokens / this.rate) * 1000;
      this.pausedMs += wait;
      this.resumeTimer = setTimeout(() => {
        this.refill();
        this.sock.resume();
      }, wait);
    }
  }
  fast() {
    this.isFast = true;
    clearTimeout(this.resumeTimer);
    this.sock.resume();
  }
  parse(bytes) {
    const frames = this.reader.push(bytes);
    for (const f of frames) {
      if (f.op === 'error') {
        this.conn.onError(`slow reader: ${f.reason}`);
        this.sock.destroy();
        return;
      }
      if (f.op === 0x1 || f.op === 0x2) {
        this.conn.onText(f.payload.toString('utf8'));
      } else if (f.op === 0x8) {
        ({ code: this.closeCode, reason: this.closeReason } = closeInfo(f.payload));
        if (!this.closedByUs) this.frame(0x8, f.payload.subarray(0, 2));
        this.sock.end();
      } else if (f.op === 0x9) {
        this.frame(0xa, f.payload);
      }
    }
  }
  frame(op, payload) {
    if (!this.sock.destroyed) this.sock.write(encodeFrame(op, payload));
  }
  send(text) {
    this.frame(0x1, Buffer.from(text, 'utf8'));
  }
  close() {
    if (this.closedByUs) return;
    this.closedByUs = true;
    this.fast();
    const code = Buffer.alloc(2);
    code.writeUInt16BE(1000);
    this.frame(0x8, code);
    setTimeout(() => this.sock.destroy(), 3000).unref();
  }
}

// ------------------------------------------------------------------ connections

let connSeq = 0;
let subSeq = 0;
const conns = new Set();

class Sub {
  constructor(conn, filters, { measure = 'req_eose', eoseTimeoutMs = 30000 } = {}) {
    this.conn = conn;
    this.id = `${conn.role.slice(0, 6)}-${++subSeq}`;
    this.filters = filters;
    this.seen = new Set();
    this.stored = 0;
    this.live = 0;
    this.liveBeforeEose = 0;
    this.lastCreated = Infinity;
    this.eosed = false;
    this.t0 = now();
    this.measure = measure;
    this.closedByRelay = null;
    this.eose = new Promise((r) => (this.eoseWake = r));
    this.timer = setTimeout(() => {
      if (!this.eosed && this.conn.subs.has(this.id) && this.conn.transport.open) {
        error('no EOSE', { role: conn.role, sub: this.id, filters, after_ms: eoseTimeoutMs });
      }
    }, eoseTimeoutMs);
  }
  onEvent(ev, text) {
    if (!ev || typeof ev.id !== 'string') {
      error('malformed EVENT', short(text));
      return;
    }
    if (!matchFilters(this.filters, ev)) error('event does not match its filter', { role: this.conn.role, sub: this.id, filters: this.filters, event: describe(ev) });
    if (this.seen.has(ev.id)) {
      duplicate(this.eosed ? 'delivered twice (live)' : 'delivered twice (stored answer)', { role: this.conn.role, sub: this.id, filters: this.filters, event: describe(ev), eosed: this.eosed });
      return;
    }
    this.seen.add(ev.id);
    if (!this.eosed) {
      // The relay delivers events stored while the answer is read live, even
      // before EOSE (durable/relay_writes.cpp fan_out): only events acked
      // before the REQ was sent are certainly from the stored answer.
      const r = events.get(ev.id);
      if (r && !(r.tAck < this.t0)) {
        this.liveBeforeEose++;
        return;
      }
      this.stored++;
      if (ev.created_at > this.lastCreated) error('stored answer not newest first', { role: this.conn.role, sub: this.id, filters: this.filters, event: describe(ev), previous_created_at: this.lastCreated });
      this.lastCreated = ev.created_at;
    } else {
      this.live++;
    }
  }
  onEose() {
    if (this.eosed) {
      error('second EOSE', { role: this.conn.role, sub: this.id });
      return;
    }
    this.eosed = true;
    this.tEose = now();
    clearTimeout(this.timer);
    if (this.measure) lat(this.measure, this.tEose - this.t0);
    const cap = this.filters.reduce((a, f) => a + Math.min(f.limit ?? 500, 500), 0);
    if (this.stored > cap) error('stored answer over its limit', { role: this.conn.role, sub: this.id, filters: this.filters, stored: this.stored });
    this.eoseWake(true);
  }
  onClosed(reason, text) {
    clearTimeout(this.timer);
    this.closedByRelay = reason;
    error(`CLOSED ${String(reason).split(':')[0]}:`, { role: this.conn.role, sub: this.id, filters: this.filters, frame: short(text) });
    this.eoseWake(false);
  }
  // Resolves true at EOSE, false if closed, or after ms (then false).
  waitEose(ms) {
    return Promise.race([this.eose, sleep(ms).then(() => false)]);
  }
}

class Conn {
  static async open(role, transport) {
    const t0 = now();
    const tr = transport ?? await WsTransport.open(relayInfo.wsUrl);
    lat('connect', now() - t0);
    return new Conn(role, tr);
  }
  constructor(role, transport) {
    this.role = role;
    this.n = ++connSeq;
    this.transport = transport;
    this.oks = new Map();
    this.subs = new Map();
    this.closedSubs = new Set();
    this.counts = new Map();
    this.negs = new Map();
    this.closing = false;
    this.isClosed = false;
    this.closed = new Promise((r) => (this.closedWake = r));
    conns.add(this);
    transport.attach(this);
  }
  get open() {
    return !this.isClosed && this.transport.open;
  }
  onError(msg) {
    if (!this.closing) error('socket error', `${this.role}#${this.n}: ${msg}`);
  }
  onClose(code, reason) {
    if (this.isClosed) return;
    this.isClosed = true;
    conns.delete(this);
    if (!this.closing) error('socket closed by the relay', `${this.role}#${this.n}: code ${code} ${JSON.stringify(reason ?? '')}`);
    for (const [, p] of this.oks) p.resolve({ closed: true });
    this.oks.clear();
    for (const [, p] of this.counts) p.resolve({ closed: true });
    this.counts.clear();
    for (const [, n] of this.negs) n.onFrame(['NEG-ERR', '', 'socket closed'], 'socket closed', true);
    for (const s of this.subs.values()) {
      clearTimeout(s.timer);
      s.eoseWake(false);
    }
    this.closedWake({ code, reason });
  }
  onText(text) {
    let m;
    try {
      m = JSON.parse(text);
    } catch {
      error('frame is not JSON', short(text));
      return;
    }
    if (!Array.isArray(m)) {
      error('frame is not an array', short(text));
      return;
    }
    const kind = m[0];
    if (kind === 'AUTH') return;
    if (kind === 'OK') {
      const p = this.oks.get(m[1]);
      if (!p) {
        error('OK for no pending EVENT', `${this.role}: ${short(text)}`);
        return;
      }
      this.oks.delete(m[1]);
      p.resolve({ ok: m[2], msg: m[3], text });
      return;
    }
    if (kind === 'EVENT' || kind === 'EOSE' || kind === 'CLOSED') {
      const s = this.subs.get(m[1]);
      if (!s) {
        if (this.closedSubs.has(m[1])) expected(`${kind} after CLOSE`);
        else error(`${kind} for an unknown subscription`, `${this.role}: ${short(text)}`);
        return;
      }
      if (kind === 'EVENT') s.onEvent(m[2], text);
      else if (kind === 'EOSE') s.onEose();
      else {
        this.subs.delete(m[1]);
        s.onClosed(m[2], text);
      }
      return;
    }
    if (kind === 'COUNT') {
      const p = this.counts.get(m[1]);
      if (!p) {
        error('COUNT for no pending COUNT', short(text));
        return;
      }
      this.counts.delete(m[1]);
      p.resolve({ result: m[2], text });
      return;
    }
    if (kind === 'NEG-MSG' || kind === 'NEG-ERR') {
      const n = this.negs.get(m[1]);
      if (!n) {
        error(`${kind} for no open sync`, short(text));
        return;
      }
      n.onFrame(m, text);
      return;
    }
    if (kind === 'NOTICE') {
      error('NOTICE', `${this.role}: ${short(text)}`);
      return;
    }
    error('unknown frame', short(text));
  }
  send(frame) {
    if (!this.open) return false;
    this.transport.send(typeof frame === 'string' ? frame : JSON.stringify(frame));
    return true;
  }
  // EVENT -> OK, through the model: predicts, sends, applies. Resolves { ok, msg } or { uncertain }.
  async publish(ev, { waitOk = true, timeoutMs = 30000 } = {}) {
    const p = beginPublish(ev, this.role);
    const text = JSON.stringify(['EVENT', ev]);
    bump('published');
    let resolveOk;
    const answer = new Promise((r) => (resolveOk = r));
    this.oks.set(ev.id, { resolve: resolveOk });
    if (!this.send(text)) {
      this.oks.delete(ev.id);
      endPublish(p, { uncertain: true }, this.role, text);
      return { uncertain: true };
    }
    if (!waitOk) {
      // The caller closes the socket now: the OK may never come.
      answer.then((a) => endPublish(p, a.closed ? { uncertain: true } : a, this.role, text));
      return { sent: true };
    }
    const timer = sleep(timeoutMs).then(() => ({ timeout: true }));
    const a = await Promise.race([answer, timer]);
    if (a.timeout || a.closed) {
      this.oks.delete(ev.id);
      if (a.timeout) error('no OK', { role: this.role, event: describe(ev), after_ms: timeoutMs });
      endPublish(p, { uncertain: true }, this.role, text);
      return { uncertain: true };
    }
    lat('event_ok', now() - p.tSend);
    endPublish(p, a, this.role, text);
    return a;
  }
  req(filters, options) {
    const s = new Sub(this, filters, options);
    this.subs.set(s.id, s);
    this.send(['REQ', s.id, ...filters]);
    return s;
  }
  unsub(s) {
    if (!this.subs.has(s.id)) return;
    this.subs.delete(s.id);
    clearTimeout(s.timer);
    this.closedSubs.add(s.id);
    this.send(['CLOSE', s.id]);
  }
  // REQ up to EOSE, then CLOSE: the sub (seen = ids) or null.
  async query(filters, { measure = null, timeoutMs = 60000 } = {}) {
    if (!this.open) return null;
    const s = this.req(filters, { measure, eoseTimeoutMs: timeoutMs });
    const done = await s.waitEose(timeoutMs + 1000);
    this.unsub(s);
    return done ? s : null;
  }
  async count(filters, timeoutMs = 30000) {
    if (!this.open) return null;
    const id = `cnt-${++subSeq}`;
    let resolveCount;
    const answer = new Promise((r) => (resolveCount = r));
    this.counts.set(id, { resolve: resolveCount });
    const t0 = now();
    this.send(['COUNT', id, ...filters]);
    const a = await Promise.race([answer, sleep(timeoutMs).then(() => ({ timeout: true }))]);
    if (a.timeout) {
      this.counts.delete(id);
      error('no COUNT answer', { filters, after_ms: timeoutMs });
      return null;
    }
    if (a.closed) return null;
    lat('count', now() - t0);
    if (typeof a.result?.count !== 'number') {
      error('COUNT without a count', short(a.text));
      return null;
    }
    return a.result.count;
  }
  // A NIP-77 sync of `filter` against the records `local` ({ ev }): { have, need, rounds } or null.
  async negSync(filter, local, timeoutMs = 60000) {
    if (!this.open) return null;
    const storage = new nip77.NegentropyStorageVector();
    for (const r of local) storage.insert(r.ev.created_at, r.ev.id);
    storage.seal();
    const neg = new nip77.Negentropy(storage, 50000);
    const id = `neg-${++subSeq}`;
    const have = new Set();
    const need = new Set();
    let rounds = 0;
    const t0 = now();
    const result = new Promise((resolveSync) => {
      this.negs.set(id, {
        onFrame: (m, text, closing) => {
          if (m[0] === 'NEG-ERR') {
            this.negs.delete(id);
            if (!closing) error(`NEG-ERR ${String(m[2]).split(':')[0]}:`, { filter, frame: short(text) });
            resolveSync(null);
            return;
          }
          rounds++;
          let next;
          try {
            next = neg.reconcile(m[2], (x) => have.add(x), (x) => need.add(x));
          } catch (err) {
            this.negs.delete(id);
            error('NEG-MSG the client cannot reconcile', { filter, err: String(err), frame: short(text, 120) });
            this.send(['NEG-CLOSE', id]);
            resolveSync(null);
            return;
          }
          if (next) {
            this.send(['NEG-MSG', id, next]);
          } else {
            this.negs.delete(id);
            this.send(['NEG-CLOSE', id]);
            resolveSync({ have, need, rounds });
          }
        },
      });
    });
    this.send(['NEG-OPEN', id, filter, neg.initiate()]);
    const out = await Promise.race([result, sleep(timeoutMs).then(() => 'timeout')]);
    if (out === 'timeout') {
      this.negs.delete(id);
      error('NIP-77 sync timed out', { filter, after_ms: timeoutMs, rounds });
      return null;
    }
    if (out) lat('neg_sync', now() - t0);
    return out;
  }
  async close() {
    this.closing = true;
    this.transport.close();
    await Promise.race([this.closed, sleep(5000)]);
  }
}

// ------------------------------------------------------------------ event makers

function sign(sk, kind, content, tags, created_at = nowSec()) {
  return finalizeEvent({ kind, created_at, tags, content }, sk);
}
function randomKnownIds(n) {
  const out = new Set();
  for (let i = 0; i < n * 3 && out.size < n && regularIds.length; i++) out.add(regularIds[regularIds.length - 1 - rand(Math.min(regularIds.length, 2000))]);
  return [...out];
}
function note(sk, extra = []) {
  const tags = [['t', 'soak'], ['t', pick(TOPICS)], ...extra];
  if (chance(0.3)) {
    const [id] = randomKnownIds(1);
    if (id) tags.push(['e', id]);
  }
  if (chance(0.3) && pubkeys.length) tags.push(['p', pick(pubkeys)]);
  return sign(sk, 1, `${RUN} ${words(5 + rand(60))}`, tags);
}
function replaceable(sk, kind, k, created_at = Math.max(nowSec(), k?.current?.ev.created_at ?? 0)) {
  if (kind === 0) return sign(sk, 0, JSON.stringify({ name: `soak-${RUN}`, about: words(10 + rand(20)) }), [], created_at);
  if (kind === 3) return sign(sk, 3, '', pubkeys.slice(0, 30).map((p) => ['p', p]), created_at);
  return sign(sk, 10002, '', Array.from({ length: 1 + rand(4) }, (_, i) => ['r', `wss://relay${i}.example.com`]), created_at);
}
function article(sk, d, created_at) {
  return sign(sk, 30023, `# ${words(4)}\n\n${words(80 + rand(900))}`, [['d', d], ['title', words(3)], ['t', 'soak']], created_at);
}

// ------------------------------------------------------------------ filters

function randomFilter() {
  const t = nowSec();
  const lim = (n) => 1 + rand(n);
  switch (rand(11)) {
    case 0: return { authors: [pick(pubkeys)], limit: lim(50) };
    case 1: return { kinds: [1], since: t - rand(120), limit: lim(100) };
    case 2: {
      const ids = randomKnownIds(1 + rand(3));
      return ids.length ? { '#e': ids } : { kinds: [1], limit: 5 };
    }
    case 3: return { '#p': [pick(pubkeys)], limit: lim(50) };
    case 4: return { '#t': [pick(TOPICS)], limit: lim(30) };
    case 5: return { kinds: [30023], '#d': [pick(DTAGS)], limit: lim(20) };
    case 6: return { authors: [pick(pubkeys)], kinds: [0, 3, 10002] };
    case 7: {
      const since = t - 30 - rand(300);
      return { since, until: since + 5 + rand(60), limit: lim(100) };
    }
    case 8: {
      const ids = randomKnownIds(1 + rand(5));
      return ids.length ? { ids } : { kinds: [0] };
    }
    case 9: return { kinds: [5], limit: lim(20) };
    default: return { kinds: [1, 30023], authors: [pick(pubkeys), pick(pubkeys)], until: t - rand(30), limit: lim(40) };
  }
}
const randomFilters = () => Array.from({ length: chance(0.7) ? 1 : 2 + rand(2) }, randomFilter);

// ------------------------------------------------------------------ load

const PUBLISHERS = 3;
const RECONNECTORS = 3;

async function openRetry(role) {
  for (let i = 0; running || i === 0; i++) {
    try {
      return await Conn.open(role);
    } catch (err) {
      error('connect failed', `${role}: ${err.message}`);
      await pause(1000);
    }
  }
  return null;
}

async function publisher(i) {
  const sk = generateSecretKey();
  const pk = getPublicKey(sk);
  author(pk, `pub${i}`);
  const mine = []; // own regular notes
  let conn = await openRetry(`pub${i}`);
  while (running && conn) {
    if (!conn.open) {
      conn = await openRetry(`pub${i}`);
      if (!conn) break;
    }
    const r = Math.random();
    let ev;
    if (r < 0.5) {
      ev = note(sk);
      mine.push(ev.id);
    } else if (r < 0.62) {
      const kind = pick([0, 3, 10002]);
      ev = replaceable(sk, kind, keys.get(`${kind}:${pk}:`));
    } else if (r < 0.77) {
      const d = pick(DTAGS);
      const k = keys.get(`30023:${pk}:${d}`);
      // After an `a` deletion sometimes its own second (refused: deleted), else later.
      const floor = k && k.deletedUntil >= 0 && chance(0.7) ? k.deletedUntil + 1 : 0;
      ev = article(sk, d, Math.max(nowSec(), k?.current?.ev.created_at ?? 0, floor));
    } else if (r < 0.87) {
      const targets = [];
      for (let j = 0; j < 1 + rand(3) && mine.length; j++) {
        const id = mine.splice(rand(mine.length), 1)[0];
        if (alive(events.get(id))) targets.push(['e', id]);
      }
      if (chance(0.1)) {
        const [foreign] = randomKnownIds(1);
        if (foreign && events.get(foreign).ev.pubkey !== pk) targets.push(['e', foreign]); // not theirs: must stay
      }
      if (!targets.length) continue;
      ev = sign(sk, 5, 'soak deletion', targets);
    } else if (r < 0.89) {
      const d = pick(DTAGS);
      if (!keys.get(`30023:${pk}:${d}`)?.current) continue;
      ev = sign(sk, 5, 'soak address deletion', [['a', `30023:${pk}:${d}`]]);
    } else if (r < 0.93) {
      const own = authors.get(pk).records.filter((x) => x.cls === 'regular' && x.state === 'stored');
      if (!own.length) continue;
      const again = pick(own);
      ev = again.full;
      if (!ev) continue;
    } else {
      const kind = pick([0, 3, 10002]);
      const k = keys.get(`${kind}:${pk}:`);
      if (!k?.current) continue;
      // Stale (older) or same-second (lower or higher id) version.
      ev = replaceable(sk, kind, k, chance(0.5) ? k.current.ev.created_at - 1 - rand(100) : k.current.ev.created_at);
    }
    const res = await conn.publish(ev);
    const rec = events.get(ev.id);
    if (rec && rec.cls === 'regular' && !rec.full && ev.kind !== 5) rec.full = ev; // for republishing
    if (res.uncertain && !conn.open) continue;
    await pause(100 + rand(200));
  }
  await conn?.close();
}

async function reconnector(i) {
  const sk = generateSecretKey();
  const pk = getPublicKey(sk);
  author(pk, `reconnect${i}`);
  while (running) {
    const conn = await openRetry(`reconnect${i}`);
    if (!conn) break;
    bump('reconnects');
    const mine = conn.req([{ authors: [pk], since: nowSec() - 1 }]);
    if (!(await mine.waitEose(15000))) {
      await conn.close();
      await pause(1000);
      continue;
    }
    const other = chance(0.5) ? conn.req(randomFilters()) : null;
    const fresh = [];
    for (let k = 0; k < 1 + rand(3) && running && conn.open; k++) {
      const ev = note(sk, [['t', 'reconnect']]);
      const res = await conn.publish(ev);
      if (res.ok && res.msg === '') fresh.push(ev);
    }
    // Each stored note must come back on `mine`, once (right after its OK).
    const deadline = now() + 3000;
    while (fresh.some((e) => !mine.seen.has(e.id)) && now() < deadline && conn.open) await sleep(20);
    if (conn.open) {
      for (const e of fresh) if (!mine.seen.has(e.id)) lost('live delivery missed (own subscription)', { role: conn.role, event: describe(e) });
    }
    if (running && chance(0.1)) {
      // Publish and leave without waiting for the OK.
      await conn.publish(note(sk, [['t', 'reconnect']]), { waitOk: false });
      expected('closed before its OK');
      await conn.close();
      continue;
    }
    if (other && chance(0.5)) conn.unsub(other);
    await pause(1000 + rand(3000));
    if (chance(0.3)) conn.unsub(mine);
    await conn.close();
  }
}

async function churner() {
  let conn = await openRetry('churn');
  const open = [];
  while (running && conn) {
    if (!conn.open) {
      open.length = 0;
      conn = await openRetry('churn');
      if (!conn) break;
    }
    while (open.length >= 12 || (open.length && chance(0.3))) conn.unsub(open.splice(rand(open.length), 1)[0]);
    const s = conn.req(randomFilters());
    bump('reqs');
    if (chance(0.15)) {
      conn.unsub(s);
      expected('CLOSE before EOSE');
    } else {
      open.push(s);
    }
    await pause(150 + rand(150));
  }
  await conn?.close();
}

async function counter() {
  let conn = await openRetry('count');
  while (running && conn) {
    if (!conn.open) {
      conn = await openRetry('count');
      if (!conn) break;
    }
    await conn.count(randomFilters());
    bump('counts');
    await pause(500 + rand(400));
  }
  await conn?.close();
}

// Every 20 s: one author's notes up to 10 s ago, against the model.
async function negentropy() {
  let conn = await openRetry('neg');
  await pause(5000);
  while (running && conn) {
    if (!conn.open) {
      conn = await openRetry('neg');
      if (!conn) break;
    }
    const pk = pick(pubkeys);
    const until = nowSec() - 10;
    const tStart = now();
    const local = authors.get(pk).records.filter((r) => r.ev.kind === 1 && r.ev.created_at <= until && alive(r));
    const out = await conn.negSync({ authors: [pk], kinds: [1], until }, local);
    bump('neg_syncs');
    if (out) checkNegResult(out, tStart, `sync of ${authors.get(pk).name}'s notes`);
    await pause(20000);
  }
  await conn?.close();
}
function checkNegResult({ have, need }, tStart, what) {
  for (const id of need) {
    // The relay has it, the local set did not: fine unless it is known to be gone.
    const r = events.get(id);
    if (!r) error('NIP-77: the relay has an event nobody published', { what, id });
    else if (excused(r)) continue;
    else if (r.state === 'refused') error('NIP-77: the relay has an event it refused', { what, event: describe(r.ev) });
    else if (r.deleted && r.tDeleted < tStart) error('NIP-77: the relay still has a deleted event', { what, event: describe(r.ev) });
  }
  for (const id of have) {
    const r = events.get(id);
    if (r && !r.deleted && !r.replaced && !excused(r)) lost('NIP-77: acked event missing from the relay', { what, event: describe(r.ev) });
  }
}

async function httpClient() {
  const sk = generateSecretKey();
  const pk = getPublicKey(sk);
  author(pk, 'http');
  const post = (path, body) => fetch(`${relayInfo.url}${path}`, {
    method: 'POST', headers: { 'content-type': 'application/json' }, body, signal: AbortSignal.timeout(30000),
  });
  while (running) {
    const r = Math.random();
    try {
      if (r < 0.4) {
        const ev = chance(0.8) ? note(sk, [['t', 'http']]) : replaceable(sk, 0, keys.get(`0:${pk}:`));
        const p = beginPublish(ev, 'http');
        bump('published');
        const t0 = now();
        let res;
        let body;
        try {
          res = await post('/api/v1/events', JSON.stringify(ev));
          body = await res.text();
        } catch (err) {
          error('HTTP POST /api/v1/events failed', String(err?.message ?? err));
          endPublish(p, { uncertain: true }, 'http', '');
          continue;
        }
        lat('http_post_event', now() - t0);
        let j = null;
        try {
          j = JSON.parse(body);
        } catch {
          // checked below
        }
        const want = p.pred.ok || p.pred.prefix === 'duplicate:' ? 200 : 403;
        if (res.status !== want || typeof j?.accepted !== 'boolean') {
          error(`HTTP POST /api/v1/events ${res.status}`, { event: describe(ev), predicted: p.pred, body: short(body) });
          endPublish(p, res.status === 200 && typeof j?.accepted === 'boolean' ? { ok: j.accepted, msg: j.message } : { uncertain: true }, 'http', '');
        } else {
          endPublish(p, { ok: j.accepted, msg: j.message }, 'http POST /api/v1/events', JSON.stringify(ev));
        }
      } else if (r < 0.75) {
        const filters = randomFilters();
        const t0 = now();
        const res = await post('/api/v1/query', JSON.stringify(filters));
        const body = await res.text();
        lat('http_query', now() - t0);
        if (res.status !== 200 && res.status !== 206) {
          error(`HTTP POST /api/v1/query ${res.status}`, { filters, body: short(body) });
        } else {
          if (res.status === 206) expected('HTTP query 206 (cut at 1 MiB)');
          const seen = new Set();
          let last = Infinity;
          let n = 0;
          for (const line of body.split('\n')) {
            if (!line) continue;
            let ev;
            try {
              ev = JSON.parse(line);
            } catch {
              error('HTTP query line is not JSON', short(line));
              continue;
            }
            n++;
            if (!matchFilters(filters, ev)) error('HTTP query: event does not match the filters', { filters, event: describe(ev) });
            if (seen.has(ev.id)) duplicate('HTTP query: event twice', { filters, event: describe(ev) });
            seen.add(ev.id);
            if (ev.created_at > last) error('HTTP query: not newest first', { filters, event: describe(ev) });
            last = ev.created_at;
          }
          const cap = filters.reduce((a, f) => a + Math.min(f.limit ?? 500, 500), 0);
          if (n > cap) error('HTTP query: over its limit', { filters, n });
        }
      } else {
        const [id] = randomKnownIds(1);
        if (!id) {
          await pause(200);
          continue;
        }
        const rec = events.get(id);
        const wasAlive = alive(rec);
        const t0 = now();
        const res = await fetch(`${relayInfo.url}/api/v1/events/${id}`, { signal: AbortSignal.timeout(30000) });
        const body = await res.text();
        lat('http_get', now() - t0);
        if (res.status === 200) {
          let ev = null;
          try {
            ev = JSON.parse(body);
          } catch {
            // checked below
          }
          if (ev?.id !== id) error('HTTP GET /api/v1/events/{id}: another body', { id, body: short(body) });
          else if (rec.deleted && rec.tDeleted < t0 && !excused(rec)) error('HTTP GET served a deleted event', { event: describe(rec.ev) });
        } else if (res.status === 404) {
          if (wasAlive && alive(rec)) lost('HTTP GET /api/v1/events/{id}: 404 for an acked event', { event: describe(rec.ev) });
          else expected('HTTP GET 404 for a deleted event');
        } else {
          error(`HTTP GET /api/v1/events/{id} ${res.status}`, { id, body: short(body) });
        }
      }
      bump('http_calls');
    } catch (err) {
      error('HTTP call failed', String(err?.message ?? err));
    }
    await pause(250 + rand(250));
  }
}

// Long-lived subscriptions: everything stored after their EOSE must arrive once.
const WATCH_FILTERS = [[{ kinds: [1], limit: 1 }], [{ kinds: [0, 3, 10002, 30023], limit: 1 }], [{ '#t': ['soak'], limit: 1 }], [{ kinds: [5], limit: 1 }]];
async function watcher() {
  const conn = await openRetry('watch');
  for (const f of WATCH_FILTERS) {
    const s = conn.req(f);
    s.eose.then((ok) => ok && watchers.push({ sub: s, name: `watcher ${JSON.stringify(f)}`, tReady: now(), conn }));
  }
  return conn;
}

// The slow reader: the newest 500 events again and again, read at --slow-rate.
const slow = { bigs: 0, bigEvents: 0, eoseMs: [], conn: null, transport: null, live: null };
async function slowReader() {
  let conn;
  try {
    conn = await Conn.open('slow', await SlowTransport.open(relayInfo.wsUrl, opts.slowRate));
  } catch (err) {
    error('connect failed', `slow reader: ${err.message}`);
    return;
  }
  slow.conn = conn;
  slow.transport = conn.transport;
  const live = conn.req([{ kinds: [1, 30023], limit: 1 }], { measure: null });
  slow.live = live;
  live.eose.then((ok) => ok && watchers.push({ sub: live, name: 'slow reader live {kinds:[1,30023]}', tReady: now(), conn, slow: true }));
  while (running && conn.open) {
    const t0 = now();
    const s = conn.req([{ limit: 500 }], { measure: 'slow_big_eose', eoseTimeoutMs: 600000 });
    const done = await Promise.race([s.eose, stopped.then(() => 'stop')]);
    if (done === 'stop') {
      // Let the answer in flight finish (at full speed) rather than cut it.
      conn.transport.fast();
      await s.waitEose(60000);
    }
    conn.unsub(s);
    if (s.eosed) {
      slow.bigs++;
      slow.bigEvents += s.stored;
      slow.eoseMs.push(now() - t0);
      bump('slow_big_answers');
      bump('slow_big_events', s.stored);
    }
    await pause(1000);
  }
}

// ------------------------------------------------------------------ checks

// Every minute: 100 random acked notes and 20 replaceable keys read back.
async function sampleCheck(checker) {
  const ids = [];
  const seenIds = new Set();
  for (let i = 0; i < 400 && ids.length < 100 && regularIds.length; i++) {
    const id = regularIds[rand(regularIds.length)];
    if (!seenIds.has(id) && alive(events.get(id))) {
      seenIds.add(id);
      ids.push(id);
    }
  }
  const keySample = [...keys.entries()].filter(([, k]) => k.current && !k.pending && !k.uncertain).sort(() => Math.random() - 0.5).slice(0, 20);
  let missing = 0;
  if (ids.length) {
    const s = await checker.query([{ ids }]);
    if (s) {
      for (const id of ids) {
        const r = events.get(id);
        if (!s.seen.has(id) && alive(r)) {
          missing++;
          lost('sample: acked event not served', { event: describe(r.ev), acked_s_ago: ((now() - r.tAck) / 1000).toFixed(1) });
        }
      }
    }
  }
  let keyMissing = 0;
  for (let i = 0; i < keySample.length; i += 10) {
    const part = keySample.slice(i, i + 10);
    const gens = part.map(([, k]) => k.gen);
    const filters = part.map(([, k]) => (isAddressable(k.kind) ? { authors: [k.pubkey], kinds: [k.kind], '#d': [k.d] } : { authors: [k.pubkey], kinds: [k.kind] }));
    const s = await checker.query(filters);
    if (!s) continue;
    part.forEach(([key, k], j) => {
      if (k.gen !== gens[j] || k.pending || k.uncertain || !k.current) return; // changed meanwhile
      if (!s.seen.has(k.current.ev.id)) {
        keyMissing++;
        lost('sample: newest replaceable version not served', { key, event: describe(k.current.ev) });
      }
    });
    for (const id of s.seen) {
      const r = events.get(id);
      const j = part.findIndex(([key]) => key === r?.key);
      if (j < 0) continue;
      const k = part[j][1];
      // A version replaced while the query ran may be in its answer.
      if (k.gen === gens[j] && k.current !== r && !excused(r) && (r.replaced || r.deleted)) {
        error('sample: a replaced or deleted version served', { key: r.key, event: describe(r.ev), current: k.current ? describe(k.current.ev) : null });
      }
    }
  }
  return { ids: ids.length, keys: keySample.length, missing: missing + keyMissing };
}

// At the end, everything (the load stopped, every answer in).
async function finalCheck(checker) {
  const out = { checked_ids: 0, must_have: 0, lost: 0, served_but_gone: 0, keys: 0, counts: 0, count_mismatch: 0, neg: null, live: [] };
  // 1. Every id the soak ever sent, by ids.
  const all = [...events.values()];
  const must = new Set(mustHave().map((r) => r.ev.id));
  out.must_have = must.size;
  for (let i = 0; i < all.length; i += 250) {
    const part = all.slice(i, i + 250);
    const s = await checker.query([{ ids: part.map((r) => r.ev.id), limit: 500 }], { timeoutMs: 60000 });
    if (!s) continue;
    out.checked_ids += part.length;
    for (const r of part) {
      const has = s.seen.has(r.ev.id);
      if (must.has(r.ev.id) && !has) {
        out.lost++;
        lost('final: acked event not served', { event: describe(r.ev), state: r.state, who: r.who });
      } else if (!must.has(r.ev.id) && has && !excused(r)) {
        out.served_but_gone++;
        const why = r.deleted ? 'a deleted event served' : r.replaced ? 'a replaced version served' : r.state === 'refused' ? 'a refused event served' : 'an event that should be gone served';
        error(`final: ${why}`, { event: describe(r.ev), state: r.state, who: r.who });
      }
    }
  }
  // 2. Replaceable keys: one REQ per author, exactly the current versions.
  for (const [pk, a] of authors) {
    const want = new Map();
    let unsure = false;
    for (const [key, k] of keys) {
      if (k.pubkey !== pk) continue;
      if (k.uncertain) unsure = true;
      if (k.current) want.set(key, k.current.ev.id);
    }
    const s = await checker.query([{ authors: [pk], kinds: [0, 3, 10002, 30023] }]);
    if (!s) continue;
    out.keys += want.size;
    const got = new Map();
    for (const id of s.seen) {
      const r = events.get(id);
      if (!r) {
        error('final: an unknown replaceable version served', { id, author: a.name });
        continue;
      }
      if (got.has(r.key)) error('final: two versions of one replaceable key served', { key: r.key, ids: [got.get(r.key), id] });
      got.set(r.key, id);
    }
    if (unsure) continue;
    for (const [key, id] of want) {
      if (got.get(key) !== id) {
        out.lost++;
        lost('final: newest replaceable version not served', { key, want: id, got: got.get(key) ?? null });
      }
    }
    for (const [key, id] of got) if (!want.has(key)) error('final: a deleted replaceable key served', { key, id });
  }
  // 3. COUNT per author.
  for (const [pk, a] of authors) {
    const exp = a.records.filter((r) => must.has(r.ev.id)).length;
    const slack = a.records.filter((r) => excused(r) && !must.has(r.ev.id)).length;
    const n = await checker.count([{ authors: [pk] }]);
    if (n === null) continue;
    out.counts++;
    if (n < exp || n > exp + slack) {
      out.count_mismatch++;
      error('final: COUNT differs from the model', { author: a.name, count: n, expected: exp, uncertain: slack });
    }
  }
  // 4. A full NIP-77 sync against everything the relay must hold.
  const local = [...must].map((id) => events.get(id));
  if (local.length < 90000) {
    const res = await checker.negSync({}, local, 120000);
    if (res) {
      out.neg = { records: local.length, have: res.have.size, need: res.need.size, rounds: res.rounds };
      for (const id of res.need) {
        const r = events.get(id);
        if (!r) error('final NIP-77: the relay has an event nobody published', { id });
        else if (!excused(r)) error('final NIP-77: the relay has an event that should be gone', { event: describe(r.ev), state: r.state, deleted: r.deleted, replaced: r.replaced });
      }
      for (const id of res.have) lost('final NIP-77: acked event missing', { event: describe(events.get(id).ev) });
    }
  }
  return out;
}

// Each long-lived subscription got every event stored after its EOSE (sent
// after it was ready), once.
async function liveCheck(waitMs) {
  const out = [];
  const deadline = now() + waitMs;
  const expectedFor = (w) => {
    const ids = [];
    for (const r of events.values()) {
      if (r.fresh && r.tSend > w.tReady && matchFilters(w.sub.filters, r.ev)) ids.push(r.ev.id);
    }
    return ids;
  };
  for (const w of watchers) {
    const exp = expectedFor(w);
    const open = () => w.conn.open && w.conn.subs.has(w.sub.id);
    while (open() && exp.some((id) => !w.sub.seen.has(id)) && now() < deadline) await sleep(100);
    const missing = exp.filter((id) => !w.sub.seen.has(id));
    const extra = [...w.sub.seen].filter((id) => !events.has(id));
    out.push({ name: w.name, expected: exp.length, live: w.sub.live, missing: missing.length, open: open() });
    if (!open()) continue; // its socket or subscription ended: already an error
    for (const id of missing.slice(0, 20)) lost('live delivery missed', { sub: w.name, event: describe(events.get(id).ev) });
    if (missing.length > 20) for (let i = 20; i < missing.length; i++) tally('lost', 'live delivery missed');
    for (const id of extra.slice(0, 5)) error('live: an event nobody published', { sub: w.name, id });
  }
  return out;
}

// ------------------------------------------------------------------ memory

function vmRss(pid) {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : null;
  } catch {
    return null;
  }
}
async function getStats() {
  try {
    const res = await fetch(`${relayInfo.url}/stats`, { headers: { Authorization: `Bearer ${TOKEN}` }, signal: AbortSignal.timeout(10000) });
    const body = await res.text();
    if (res.status !== 200) {
      error(`GET /stats ${res.status}`, short(body));
      return null;
    }
    return JSON.parse(body);
  } catch (err) {
    error('GET /stats failed', String(err?.message ?? err));
    return null;
  }
}
let knownPids = null;
async function memorySample() {
  const pids = relay.workerdPids();
  const key = [...pids].sort().join(',');
  if (knownPids !== null && key !== knownPids) error('the relay processes changed', { before: knownPids, now: key });
  knownPids ??= key;
  const rss = pids.map(vmRss).filter((x) => x !== null);
  let cpu = 0;
  for (const pid of pids) {
    try {
      cpu += H.cpuSeconds(pid);
    } catch {
      // gone
    }
  }
  const stats = await getStats();
  return { t_s: (now() - T0) / 1000, rss_bytes: rss.reduce((a, b) => a + b, 0), pids: pids.length, rss_by_pid: Object.fromEntries(pids.map((p) => [p, vmRss(p)])), cpu_s: cpu, stats };
}
function slope(points) {
  // Least squares of (hours, MiB): MiB per hour.
  if (points.length < 2) return null;
  const n = points.length;
  const mx = points.reduce((a, p) => a + p[0], 0) / n;
  const my = points.reduce((a, p) => a + p[1], 0) / n;
  let sxy = 0;
  let sxx = 0;
  for (const [x, y] of points) {
    sxy += (x - mx) * (y - my);
    sxx += (x - mx) ** 2;
  }
  return sxx ? Math.round((sxy / sxx) * 10) / 10 : null;
}

// ------------------------------------------------------------------ report

const fmtLat = (p) => (p ? `p50 ${p.p50} p90 ${p.p90} p99 ${p.p99} max ${p.max} ms (n=${p.n})` : '-');
const mib = (b) => (b == null ? '-' : (b / MiB).toFixed(1));
function windowReport(w, label, durationS, mem, prevMem, extra = {}) {
  const latency = {};
  for (const k of LAT) latency[k] = percentiles(w.lat[k]);
  latency.http_all = percentiles([...(w.lat.http_post_event ?? []), ...(w.lat.http_query ?? []), ...(w.lat.http_get ?? [])]);
  // (Not comparable when the relay's processes changed: their counters restart.)
  const cpuPct = mem && prevMem && mem.cpu_s >= prevMem.cpu_s ? Math.round(((mem.cpu_s - prevMem.cpu_s) / Math.max(0.001, mem.t_s - prevMem.t_s)) * 100) : null;
  return {
    label, duration_s: Math.round(durationS * 10) / 10,
    published: w.c.published ?? 0, stored: w.c.stored ?? 0, answered: w.c.answered ?? 0,
    reqs: w.c.reqs ?? 0, counts: w.c.counts ?? 0, http_calls: w.c.http_calls ?? 0, neg_syncs: w.c.neg_syncs ?? 0, reconnects: w.c.reconnects ?? 0,
    slow_big_answers: w.c.slow_big_answers ?? 0,
    errors: sum(w.errors), errors_by_cat: { ...w.errors }, expected: { ...w.expected }, lost: sum(w.lost), lost_by_cat: { ...w.lost },
    duplicates: sum(w.dups), latency,
    memory: mem ? { rss_bytes: mem.rss_bytes, pids: mem.pids, relay_cpu_pct: cpuPct, stats: mem.stats } : null,
    ...extra,
  };
}
function printWindow(r) {
  const lines = [];
  lines.push(`[soak ${opts.host}] ${r.label} (${r.duration_s} s): published ${r.published} (stored ${r.stored}), REQs ${r.reqs}, COUNTs ${r.counts}, HTTP ${r.http_calls}, NIP-77 ${r.neg_syncs}, reconnects ${r.reconnects}, slow-reader answers ${r.slow_big_answers}; errors ${r.errors}, lost ${r.lost}, duplicates ${r.duplicates}`);
  for (const k of LAT) if (r.latency[k]) lines.push(`    ${LAT_NAMES[k].padEnd(22)} ${fmtLat(r.latency[k])}`);
  if (r.memory) {
    const s = r.memory.stats;
    lines.push(`    memory: relay RSS ${mib(r.memory.rss_bytes)} MiB (${r.memory.pids} process${r.memory.pids === 1 ? '' : 'es'}), relay CPU ${r.memory.relay_cpu_pct ?? '-'}%, ` +
      `/stats memory_bytes ${mib(s?.memory_bytes)} MiB (${opts.host === 'native' ? 'server RSS without file-backed pages' : 'wasm linear memory'}), connections ${s?.connections ?? '-'}, subscriptions ${s?.subscriptions ?? '-'}, ` +
      `queries_waiting ${s?.queries_waiting ?? '-'}, neg_syncs ${s?.neg_syncs ?? '-'}`);
  }
  if (r.sample) lines.push(`    sample read-back: ${r.sample.ids} notes + ${r.sample.keys} replaceable keys, ${r.sample.missing} missing`);
  if (r.errors) lines.push(`    errors: ${JSON.stringify(r.errors_by_cat)}`);
  if (r.lost) lines.push(`    lost: ${JSON.stringify(r.lost_by_cat)}`);
  console.log(lines.join('\n'));
}

// ------------------------------------------------------------------ main

let relay;
let relayInfo;
let exitCode = 1;
let relayExit = null;
let stoppingRelay = false;

async function main() {
  const started = new Date().toISOString();
  console.log(`[soak ${opts.host}] starting the relay (fresh state, rate limits off, METRICS_TOKEN set)`);
  relay = await H.startHost({ config: { rate_limits: H.NO_RATE_LIMITS }, vars: { METRICS_TOKEN: TOKEN } });
  relayInfo = { url: relay.url, wsUrl: relay.wsUrl };
  relay.exited?.then((code) => {
    if (stoppingRelay) return;
    relayExit = code;
    error('the relay exited', { code, log: short(relay.log().slice(-2000), 2000) });
  });
  try {
    setPriority(opts.nice); // the load below the relay (already started, at its own priority)
  } catch {
    // not permitted: same priority
  }
  console.log(`[soak ${opts.host}] relay on ${relay.url} (pids ${relay.workerdPids().join(', ')}); ${opts.minutes} min of load`);
  T0 = now();
  const mem0 = await memorySample();
  const memSamples = [mem0];
  const minutes = [];
  let checker = await Conn.open('check');
  checkerConn = checker;

  // Authors exist before the filters that name them.
  const loops = [];
  const guard = (name, promise) => promise.catch((err) => error('load loop crashed', `${name}: ${err?.stack ?? err}`));
  for (let i = 0; i < PUBLISHERS; i++) loops.push(guard(`publisher ${i}`, publisher(i)));
  for (let i = 0; i < RECONNECTORS; i++) loops.push(guard(`reconnecting client ${i}`, reconnector(i)));
  await sleep(200);
  const watchConn = await watcher();
  loops.push(guard('REQ/CLOSE churn', churner()), guard('COUNT', counter()), guard('NIP-77', negentropy()),
    guard('HTTP', httpClient()), guard('slow reader', slowReader()));

  const endAt = T0 + opts.minutes * 60000;
  let markAt = T0;
  let prevMem = mem0;
  for (let m = 1; ; m++) {
    const next = Math.min(T0 + m * 60000, endAt);
    await sleep(Math.max(0, next - now()));
    const last = next >= endAt - 1;
    const mem = await memorySample(); // under load, also for the last minute
    memSamples.push(mem);
    if (last) {
      running = false;
      stopWake();
      // Every loop finishes its step (OKs, EOSEs) and closes its sockets.
      const done = await Promise.race([Promise.all(loops).then(() => true), sleep(90000).then(() => false)]);
      if (!done) error('load did not stop', 'a load loop was still busy 90 s after the end');
    }
    if (!last && !checker.open) {
      checker = await openRetry('check');
      checkerConn = checker;
    }
    const sample = last || !checker ? null : await sampleCheck(checker);
    const w = win;
    win = newWindow();
    const dur = (now() - markAt) / 1000;
    markAt = now();
    const r = windowReport(w, last && dur < 59 ? `minute ${m} (partial)` : `minute ${m}`, dur, mem, prevMem, sample ? { sample } : {});
    prevMem = mem;
    minutes.push(r);
    printWindow(r);
    if (last) break;
  }

  // Final checks (their findings count like the others'); the slow reader
  // reads at full speed now.
  console.log(`[soak ${opts.host}] load stopped; final checks`);
  slow.transport?.fast();
  await sleep(2000);
  let finalChecker = checker;
  if (!checker?.open) {
    // Its socket was dropped (already an error): a new one for the checks.
    finalChecker = await Conn.open('check').catch((err) => {
      error('connect failed', `final checks: ${err.message}`);
      return checker;
    });
    checkerConn = finalChecker;
  }
  const fin = await finalCheck(finalChecker);
  fin.live = await liveCheck(120000);
  fin.uncertain = [...events.values()].filter((r) => r.state === 'uncertain').length;
  const afterMem = await memorySample();
  memSamples.push({ ...afterMem, after_checks: true });
  for (const c of [...conns]) await c.close();
  await watchConn?.close();
  await sleep(500);
  if (relayExit === null && relay.workerdPids().length === 0) error('the relay exited', 'no relay process left before stop');
  const finalReport = windowReport(win, 'final checks', (now() - markAt) / 1000, afterMem, prevMem);

  // Summary.
  const tot = windowReport(total, 'total', (now() - T0) / 1000, afterMem, mem0);
  // The per-minute samples (not the pre-load one: workerd's RSS grows as it
  // warms up, which is no leak).
  const used = memSamples.slice(1).filter((s) => !s.after_checks);
  const rssPoints = used.map((s) => [s.t_s / 3600, s.rss_bytes / MiB]);
  const heapPoints = used.filter((s) => typeof s.stats?.memory_bytes === 'number').map((s) => [s.t_s / 3600, s.stats.memory_bytes / MiB]);
  const memorySlope = {
    rss_mib_per_hour: slope(rssPoints), memory_bytes_mib_per_hour: slope(heapPoints), points: rssPoints.length,
    note: used.length >= 2 ? 'least squares over the per-minute samples' : 'fewer than 2 per-minute samples (run at least 2 minutes)',
  };
  console.log(`\n[soak ${opts.host}] summary: ${opts.minutes} min on ${opts.host}`);
  const head = ['minute', 'events', 'stored', 'errors', 'lost', 'dups', 'EVENT->OK p50/p99/max ms', 'REQ->EOSE p50/p99/max ms', 'HTTP p50/p99/max ms',
    'COUNT p50/p99 ms', 'RSS MiB', 'memory_bytes MiB', 'relay CPU %'];
  const f3 = (p) => (p ? `${p.p50}/${p.p99}/${p.max}` : '-');
  const row = (r, label) => [label, r.published, r.stored, r.errors, r.lost, r.duplicates, f3(r.latency.event_ok), f3(r.latency.req_eose),
    f3(r.latency.http_all), r.latency.count ? `${r.latency.count.p50}/${r.latency.count.p99}` : '-',
    mib(r.memory?.rss_bytes), mib(r.memory?.stats?.memory_bytes), r.memory?.relay_cpu_pct ?? '-'];
  const rows = [head, ...minutes.map((r) => row(r, r.label.replace('minute ', ''))), row(finalReport, 'checks'), row(tot, 'total')];
  const widths = head.map((_, i) => Math.max(...rows.map((x) => String(x[i]).length)));
  for (const [i, x] of rows.entries()) {
    console.log(`| ${x.map((v, j) => String(v).padEnd(widths[j])).join(' | ')} |`);
    if (i === 0) console.log(`|${widths.map((n) => '-'.repeat(n + 2)).join('|')}|`);
  }
  const totalErrors = sum(total.errors);
  const totalLost = sum(total.lost);
  const totalDups = sum(total.dups);
  console.log(`memory slope: ${memorySlope.rss_mib_per_hour === null ? 'n/a (fewer than 2 per-minute samples: run at least 2 minutes)'
    : `relay RSS ${memorySlope.rss_mib_per_hour} MiB/h, /stats memory_bytes ${memorySlope.memory_bytes_mib_per_hour ?? 'n/a'} MiB/h (${memorySlope.note}, ${memorySlope.points} points)`}; ` +
    `RSS before the load ${mib(mem0.rss_bytes)} MiB, after the checks ${mib(afterMem.rss_bytes)} MiB; ` +
    `memory_bytes is ${opts.host === 'native' ? "the server's RSS" : 'the wasm linear memory (heap high-water mark)'}`);
  console.log(`slow reader: ${slow.bigs} answers of the newest 500 events (${slow.bigEvents} events) read at ${opts.slowRate} B/s: ${mib(slow.transport?.bytes ?? 0)} MiB, ` +
    `paused ${slow.transport?.pauses ?? 0} times; REQ->EOSE ${fmtLat(percentiles(slow.eoseMs))}`);
  console.log(`final read-back: ${fin.checked_ids} ids (${fin.must_have} must be served), ${fin.keys} replaceable keys, ${fin.counts} COUNTs, ` +
    `NIP-77 ${fin.neg ? `${fin.neg.records} records: have ${fin.neg.have}, need ${fin.neg.need}, ${fin.neg.rounds} rounds` : 'not run'}; ` +
    `${fin.uncertain} events never answered (socket closed first, by the soak)`);
  for (const l of fin.live) console.log(`live: ${l.name}: ${l.expected} expected after EOSE, ${l.live} live deliveries, ${l.missing} missing${l.open ? '' : ' (subscription ended)'}`);
  console.log(`expected by construction: ${JSON.stringify(total.expected)}`);
  if (totalErrors) console.log(`ERRORS (${totalErrors}): ${JSON.stringify(total.errors)}`);
  if (totalLost) console.log(`LOST (${totalLost}): ${JSON.stringify(total.lost)}`);
  if (totalDups) console.log(`DUPLICATES (${totalDups}): ${JSON.stringify(total.dups)}`);
  const ok = totalErrors === 0 && totalLost === 0 && totalDups === 0;
  console.log(`[soak ${opts.host}] ${ok ? 'PASS' : 'FAIL'}: ${totalLost} lost, ${totalErrors} errors, ${totalDups} duplicate deliveries`);

  if (opts.json) {
    const file = resolve(opts.json);
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, `${JSON.stringify({
      host: opts.host, minutes: opts.minutes, started, slow_rate: opts.slowRate, ok,
      load: { publishers: PUBLISHERS, reconnecting_clients: RECONNECTORS, churn_sockets: 1, count_sockets: 1, neg_every_s: 20, http_clients: 1,
        watcher_subscriptions: WATCH_FILTERS.length, slow_readers: 1 },
      per_minute: minutes, final_checks: { ...fin, window: finalReport }, total: tot,
      memory_samples: memSamples, memory_slope: memorySlope,
      slow_reader: { answers: slow.bigs, events: slow.bigEvents, bytes: slow.transport?.bytes ?? 0, pauses: slow.transport?.pauses ?? 0, eose_ms: percentiles(slow.eoseMs) },
      error_samples: errorSamples, lost_samples: lostSamples, duplicate_samples: dupSamples,
    }, null, 2)}\n`);
    console.log(`[soak ${opts.host}] report: ${file}`);
  }
  exitCode = ok ? 0 : 1;
}

let interrupted = false;
for (const sig of ['SIGINT', 'SIGTERM']) {
  process.on(sig, async () => {
    if (interrupted) process.exit(130);
    interrupted = true;
    console.error(`[soak] ${sig}: stopping the relay`);
    stoppingRelay = true;
    await relay?.stop().catch(() => {});
    process.exit(130);
  });
}

try {
  await main();
} catch (err) {
  console.error(`[soak ${opts.host}] failed: ${err?.stack ?? err}`);
  if (relay) console.error(`relay log (tail):\n${relay.log().slice(-3000)}`);
  exitCode = 1;
} finally {
  stoppingRelay = true;
  await relay?.stop().catch(() => {});
}
process.exit(exitCode);
