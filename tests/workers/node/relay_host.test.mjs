// js-glue/relay_host.js (the Durable Object's host class) in plain node, with
// the real wasm module and a fake platform whose DO SQLite and D1 are real
// SQLite databases (node:sqlite; D1 loaded with schema.sql): sockets in,
// frames out, the wake sequence, the alarm, and the failure reset.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { DatabaseSync } from 'node:sqlite';
import { finalizeEvent, generateSecretKey } from 'nostr-tools/pure';
import { RelayHost } from '../../../js-glue/relay_host.js';
import { instanceSource } from '../../../js-glue/wasm_instance.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const WASM = process.env.NOSTR_WASM_WASI || `${ROOT}build/wasm-wasi/nostr_relay.wasm`;
const getWasm = instanceSource(new WebAssembly.Module(readFileSync(WASM)));
const tick = () => new Promise((r) => setImmediate(r));

class FakeSocket {
  constructor(attachment = null) {
    this.sent = [];
    this.closedWith = null;
    this.att = attachment;
  }
  send(text) {
    if (this.closedWith) throw new Error('socket closed');
    this.sent.push(text);
  }
  close(code, reason) {
    this.closedWith ??= { code, reason };
  }
  serializeAttachment(v) {
    this.att = structuredClone(v);
  }
  deserializeAttachment() {
    return this.att === null ? null : structuredClone(this.att);
  }
  take() {
    return this.sent.splice(0).map((t) => JSON.parse(t));
  }
}

// Runs one statement on a node:sqlite database: { changes, columns, rows }.
function runOn(db, sql, params) {
  const st = db.prepare(sql);
  const columns = st.columns().map((c) => c.name);
  if (columns.length === 0) return { changes: Number(st.run(...params).changes), columns: [], rows: [] };
  st.setReturnArrays(true);
  return { changes: 0, columns, rows: st.all(...params) };
}

// A platform: DO SQLite and D1 as real SQLite, sockets as given, a settable clock.
function fakePlatform({ sockets = [], d1Fails = false, sqlThrows = false } = {}) {
  const local = new DatabaseSync(':memory:');
  const d1 = new DatabaseSync(':memory:');
  d1.exec(readFileSync(`${ROOT}schema.sql`, 'utf8'));
  const p = {
    clock: 1760000000,
    alarms: [],
    aborted: null,
    sockets,
    sql: (sql, params) => {
      if (sqlThrows) throw new Error('SQLITE_FULL');
      return runOn(local, sql, params);
    },
    d1: async (stmts) => {
      await tick(); // D1 completes later, as in workerd
      if (d1Fails) throw new Error('D1 unavailable');
      d1.exec('BEGIN');
      try {
        const out = stmts.map((s) => runOn(d1, s.sql, s.params ?? []));
        d1.exec('COMMIT');
        return out;
      } catch (err) {
        d1.exec('ROLLBACK');
        throw err;
      }
    },
    setAlarm: (ms) => p.alarms.push(ms),
    getWebSockets: () => p.sockets.filter((s) => !s.closedWith),
    abort: (reason) => {
      p.aborted = reason;
    },
    challenge: () => `challenge-${p.sockets.length}`.padEnd(32, '0'),
    now: () => p.clock,
  };
  return p;
}

let keys = 0;
async function newHost(platform, config = '{}') {
  const host = new RelayHost({ getWasm, config, key: `test-${++keys}`, platform });
  await host.wake();
  return host;
}

async function connect(host, platform, meta = {}) {
  const ws = new FakeSocket();
  platform.sockets.push(ws);
  await host.accept(ws, meta);
  return ws;
}

// A signed event as plain JSON (nostr-tools marks its objects with a symbol).
const sign = (sk, content, created_at, tags = []) => JSON.parse(JSON.stringify(finalizeEvent({ kind: 1, created_at, tags, content }, sk)));

test('sockets in, frames out: challenge, REQ → EOSE, EVENT → OK true after D1, live fan-out to another socket', async () => {
  const platform = fakePlatform();
  const host = await newHost(platform);
  const a = await connect(host, platform, { ip: '198.51.100.1', origin: 'https://a.example', user_agent: 'ua' });
  const b = await connect(host, platform);
  assert.equal(a.take()[0][0], 'AUTH');
  b.take();
  assert.deepEqual(a.deserializeAttachment().conn, 1);
  assert.deepEqual(b.deserializeAttachment().conn, 2);
  assert.match(a.deserializeAttachment().state, /"ip":"198\.51\.100\.1"/, 'the metadata is part of the conn state');

  await host.message(b, '["REQ","live",{"kinds":[1]}]');
  assert.deepEqual(b.take(), [['EOSE', 'live']]);
  const ev = sign(generateSecretKey(), 'hello', platform.clock);
  await host.message(a, JSON.stringify(['EVENT', ev]));
  assert.deepEqual(a.take(), [['OK', ev.id, true, '']]);
  assert.deepEqual(b.take(), [['EVENT', 'live', ev]]);
  await host.message(a, '["REQ","stored",{"ids":["' + ev.id + '"]}]');
  assert.deepEqual(a.take(), [['EVENT', 'stored', ev], ['EOSE', 'stored']]);

  await host.closed(a, 1000, 'bye');
  assert.deepEqual(a.closedWith, { code: 1000, reason: 'bye' }, 'the close is reciprocated');
  assert.equal(host.stats().connections, 1);
});

test('the wake sequence: surviving sockets get their connections and subscriptions back, an orphan is closed, new ids follow', async () => {
  const platform = fakePlatform();
  const key = `wake-${++keys}`;
  const first = new RelayHost({ getWasm, config: '{}', key, platform });
  await first.wake();
  const sub = await connect(first, platform);
  const pub = await connect(first, platform);
  await first.message(sub, '["REQ","s",{"kinds":[1]}]');
  sub.take();
  pub.take();
  const orphan = new FakeSocket(null);
  platform.sockets.push(orphan);

  // Hibernation: the object's memory is gone, the sockets and storage stay.
  const woken = new RelayHost({ getWasm, config: '{}', key, platform });
  await woken.wake();
  assert.deepEqual(orphan.closedWith, { code: 1011, reason: 'error: lost connection state' });
  assert.equal(woken.stats().connections, 2);
  assert.equal(woken.stats().subscriptions, 1);
  const ev = sign(generateSecretKey(), 'after the wake', platform.clock);
  await woken.message(pub, JSON.stringify(['EVENT', ev]));
  assert.deepEqual(pub.take(), [['OK', ev.id, true, '']]);
  assert.deepEqual(sub.take(), [['EVENT', 's', ev]]);
  const fresh = await connect(woken, platform);
  assert.equal(fresh.deserializeAttachment().conn, 3);
});

test('the alarm: durable timers reach setAlarm, and alarm() runs them (NIP-42 required: an unauthenticated socket is closed)', async () => {
  const platform = fakePlatform();
  const host = await newHost(platform, JSON.stringify({ auth_required: true, auth_timeout: 5 }));
  const ws = await connect(host, platform);
  ws.take();
  assert.equal(platform.alarms.at(-1), (platform.clock + 5) * 1000);
  await host.message(ws, '["REQ","r",{}]');
  assert.deepEqual(ws.take(), [['CLOSED', 'r', 'auth-required: this relay requires NIP-42 authentication to read']]);
  platform.clock += 5;
  await host.alarm();
  assert.deepEqual(ws.take(), [['NOTICE', 'auth-required: no NIP-42 authentication within 5 seconds of connecting']]);
  assert.equal(ws.closedWith?.code, 1008);
  assert.equal(host.stats().connections, 0);
  assert.ok(platform.alarms.at(-1) > (platform.clock + 5) * 1000, 'then the alarm moves to the expiry sweep');
});

test('a failure resets the object: every socket closed with 1011, the object aborted', async () => {
  const platform = fakePlatform();
  const host = await newHost(platform);
  const ws = await connect(host, platform);
  const broken = fakePlatform({ sqlThrows: true });
  broken.sockets = platform.sockets;
  // The engine's next local SQL statement throws: a REQ whose filters outgrow
  // the socket attachment moves subscriptions to local SQL.
  host.platform.sql = broken.sql;
  const big = JSON.stringify(['REQ', 'big', { '#t': Array.from({ length: 600 }, (_, i) => `value-${String(i).padStart(14, '0')}`) }]);
  await host.message(ws, big).catch(() => {});
  assert.equal(platform.aborted, 'relay engine failed');
  assert.deepEqual(ws.closedWith, { code: 1011, reason: 'error: internal' });
});
