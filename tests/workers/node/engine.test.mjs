// js-glue/engine.js (the relay engine host) with the real module in plain
// node: a failure of any kind fails the engine and retires its wasm instance,
// so the next engine starts on a fresh instance (new generation, fresh-size
// memory) instead of inheriting the grown heap and what the failure leaked;
// a refused RELAY_CONFIG says which key is wrong.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { configError, configJson } from '../../../js-glue/config.js';
import { ConfigError, RelayEngine } from '../../../js-glue/engine.js';
import { instanceSource, WasmInstance } from '../../../js-glue/wasm_instance.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const WASM = process.env.NOSTR_WASM_WASI || `${ROOT}build/wasm-wasi/nostr_relay.wasm`;
const module = new WebAssembly.Module(readFileSync(WASM));
const NOW = 1760000000;

// A performer that records everything; `overrides` replace its methods.
function performer(overrides = {}) {
  const log = { sent: [], failed: [], sql: [] };
  const p = {
    send: (conn, text) => log.sent.push([conn, text]),
    attach() {},
    close() {},
    sql: (sql) => {
      log.sql.push(sql);
      return { changes: 0, columns: ['conn', 'sub', 'filters'], rows: [] };
    },
    d1: async (stmts) => stmts.map(() => ({ changes: 0, columns: [], rows: [] })),
    failed: (err) => log.failed.push(err),
    ...overrides,
  };
  return { p, log };
}

// Linear memory of a fresh instance once it holds one engine.
const FRESH_BYTES = (() => {
  const getWasm = instanceSource(module);
  new RelayEngine({ getWasm, config: '{}', performer: performer().p });
  return getWasm().memoryBytes();
})();

// An engine on `getWasm`'s instance whose heap has grown by 4 MiB, with one
// connection open.
function grownEngine(getWasm, perf) {
  const engine = new RelayEngine({ getWasm, config: '{}', performer: perf });
  engine.wasm.exports.memory.grow(64);
  assert.ok(engine.wasm.memoryBytes() > FRESH_BYTES);
  assert.equal(engine.open(1, 'c'.repeat(32), '', NOW), 0);
  return engine;
}

// After `engine` failed with `err`: it stays failed, told its owner once, and
// the next engine gets a fresh instance.
function assertRetired(getWasm, engine, log, err) {
  assert.equal(engine.failure, err);
  assert.deepEqual(log.failed, [err]);
  assert.throws(() => engine.frame(1, '["REQ","x",{}]', NOW), (e) => e === err, 'a failed engine refuses further calls');
  assert.equal(engine.wasm.retired, true);
  const next = new RelayEngine({ getWasm, config: '{}', performer: performer().p });
  assert.notEqual(next.generation, engine.generation, 'the next engine must not reuse the failed instance');
  assert.notEqual(next.wasm.instance, engine.wasm.instance);
  assert.ok(engine.wasm.memoryBytes() > FRESH_BYTES);
  assert.equal(next.wasm.memoryBytes(), FRESH_BYTES, 'the next engine starts on fresh-size memory');
  assert.equal(next.stats().connections, 0);
}

test('a throwing DO SQL statement fails the engine and retires its wasm instance', () => {
  const getWasm = instanceSource(module);
  const { p, log } = performer({
    sql: () => {
      throw new Error('SQLITE_FULL');
    },
  });
  const engine = grownEngine(getWasm, p);
  let err;
  assert.throws(() => engine.restore(NOW), (e) => (err = e) && /DO SQL failed: SQLITE_FULL/.test(e.message));
  assertRetired(getWasm, engine, log, err);
});

test('a throwing performer (glue error) fails the engine and retires its wasm instance', () => {
  const getWasm = instanceSource(module);
  const { p, log } = performer({
    send: (conn, text) => {
      if (text.startsWith('["NOTICE"')) throw new RangeError('glue bug');
    },
  });
  const engine = grownEngine(getWasm, p);
  let err;
  assert.throws(() => engine.frame(1, 'not json', NOW), (e) => (err = e) instanceof RangeError);
  assertRetired(getWasm, engine, log, err);
});

test('a malformed action buffer fails the engine and retires its wasm instance', () => {
  const getWasm = instanceSource(module);
  const { p, log } = performer();
  const engine = grownEngine(getWasm, p);
  // The engine claims 5 bytes of actions: a truncated record header.
  engine.wasm.exports = { ...engine.wasm.exports, nr_relay_actions_len: () => 5 };
  let err;
  assert.throws(() => engine.frame(1, 'not json', NOW), (e) => (err = e) && /truncated record header/.test(e.message));
  assertRetired(getWasm, engine, log, err);
});

test('a trap fails the engine and retires its wasm instance', () => {
  const getWasm = instanceSource(module);
  const { p, log } = performer();
  const engine = grownEngine(getWasm, p);
  engine.wasm.exports = {
    ...engine.wasm.exports,
    nr_relay_frame: () => {
      throw new WebAssembly.RuntimeError('unreachable');
    },
  };
  let err;
  assert.throws(() => engine.frame(1, '["REQ","x",{}]', NOW), (e) => (err = e) instanceof WebAssembly.RuntimeError);
  assert.equal(engine.wasm.trapped, true);
  assertRetired(getWasm, engine, log, err);
});

test('a failing D1 completion fails the engine; drain() reports it', async () => {
  const getWasm = instanceSource(module);
  const { p, log } = performer({
    d1: async () => [{ changes: 0, columns: [], rows: [] }],
  });
  const engine = grownEngine(getWasm, p);
  engine.frame(1, '["REQ","q",{"kinds":[1]}]', NOW); // an idle connection's query: one D1 action at once
  assert.equal(engine.pending.size, 2); // with the management state load the first connection started
  // Sending the query's answer (EOSE) throws: a failure inside the D1 completion.
  p.send = () => {
    throw new Error('send after D1');
  };
  await assert.rejects(engine.drain(), /send after D1/);
  assertRetired(getWasm, engine, log, engine.failure);
});

test('an engine that did not fail keeps its instance, and a new engine for the same key frees the old one', () => {
  const getWasm = instanceSource(module);
  const a = new RelayEngine({ getWasm, config: '{}', performer: performer().p, key: 'relay' });
  const aRelay = a.relay;
  const b = new RelayEngine({ getWasm, config: '{}', performer: performer().p, key: 'relay' });
  assert.equal(a.disposed, true);
  assert.equal(b.generation, a.generation);
  assert.equal(b.relay, aRelay, 'the freed engine block is reused');
  assert.equal(a.frame(1, 'x', NOW), undefined, 'calls on a disposed engine do nothing');
});

test('a refused RELAY_CONFIG throws ConfigError naming the key', () => {
  const getWasm = instanceSource(module);
  assert.throws(
    () => new RelayEngine({ getWasm, config: '{"limits":{"max_filters":"x"}}', performer: performer().p }),
    (e) => e instanceof ConfigError && /limits\.max_filters must be a non-negative integer/.test(e.message),
  );
  assert.throws(
    () => new RelayEngine({ getWasm, config: '{"nmae":"typo"}', performer: performer().p }),
    (e) => e instanceof ConfigError && /unknown key nmae/.test(e.message),
  );
  // A bad config is not an engine failure: the instance stays in use.
  assert.equal(getWasm().retired, false);
});

test('ADMIN_PUBKEYS from the environment joins RELAY_CONFIG; a bad one is refused at start, named', () => {
  const getWasm = instanceSource(module);
  const good = 'a'.repeat(64);
  const merged = JSON.parse(configJson({ RELAY_CONFIG: { name: 'x' }, ADMIN_PUBKEYS: ` ${good}, ` }));
  assert.deepEqual(merged, { name: 'x', admin_pubkeys: ` ${good}, ` });
  assert.equal(configJson({ RELAY_CONFIG: '{"name":"y"}' }), '{"name":"y"}');
  new RelayEngine({ getWasm, config: configJson({ ADMIN_PUBKEYS: good }), performer: performer().p }).dispose();
  assert.throws(
    () => new RelayEngine({ getWasm, config: configJson({ ADMIN_PUBKEYS: `${good},npub1xyz` }), performer: performer().p }),
    (e) => e instanceof ConfigError && /ADMIN_PUBKEYS: "npub1xyz" is not a 64-character lowercase hex pubkey/.test(e.message),
  );
  assert.throws(
    () => new RelayEngine({ getWasm, config: configJson({ RELAY_CONFIG: { rate_limits: { req_per_ip: { per_minute: 5 } } } }), performer: performer().p }),
    (e) => e instanceof ConfigError && /rate_limits\.req_per_ip\.burst/.test(e.message),
  );
});

test('configError: empty for a valid config, the whole reason however long', () => {
  const wasm = new WasmInstance(module);
  assert.equal(configError(wasm, '{"name":"x","limits":{"max_filters":3}}'), '');
  assert.equal(configError(wasm, '{}'), '');
  const key = 'k'.repeat(1000);
  assert.equal(configError(wasm, `{"${key}":1}`), `config: unknown key ${key}`);
  assert.match(configError(wasm, '{"limits":{"max_filters":0}}'), /max_filters must be at least 1/);
  assert.match(configError(wasm, 'not json'), /not valid JSON/);
});
