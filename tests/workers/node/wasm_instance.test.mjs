// js-glue/wasm_instance.js against the real module in plain node: pointers at
// or above 2^31 (which a wasm i32 result hands to JS as a negative number)
// must work for every glue path, and failure paths free what they allocated.
//
// Linear memory is grown past 2 GiB with memory.grow: pages are committed
// lazily, so the process stays small; dlmalloc's next sbrk then returns
// addresses above the gap.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { RelayEngine } from '../../../js-glue/engine.js';
import { instanceSource, NR_PADDING, WasmInstance } from '../../../js-glue/wasm_instance.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const WASM = process.env.NOSTR_WASM_WASI || `${ROOT}build/wasm-wasi/nostr_relay.wasm`;
const module = new WebAssembly.Module(readFileSync(WASM));

const TWO_GIB = 2 ** 31;
const PAGE = 65536;

// Grows `wasm`'s memory to just past 2 GiB. The allocator is used first: on
// its first call dlmalloc takes all memory up to the current end as one free
// chunk, which would put the next allocations low again.
function growPast2GiB(wasm) {
  wasm.free(wasm.alloc(16));
  const mem = wasm.exports.memory;
  mem.grow(TWO_GIB / PAGE + 1 - mem.buffer.byteLength / PAGE);
  assert.ok(mem.buffer.byteLength > TWO_GIB);
}

// Allocates (and keeps) blocks until nr_alloc answers above 2^31, so later
// allocations of any size come from the high segment.
function exhaustLowHeap(wasm) {
  for (const size of [65536, 4096, 256, 16]) {
    for (let i = 0; i < 100000; i++) if (wasm.u32('nr_alloc', size) >= TWO_GIB) break;
  }
}

test('write/read/withInput work on buffers nr_alloc places above 2^31', () => {
  const wasm = new WasmInstance(module);
  growPast2GiB(wasm);

  // Bigger than what is left below the gap: dlmalloc must take it from sbrk.
  const bytes = new Uint8Array(1 << 20);
  for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 7) & 0xff;
  const { ptr, len } = wasm.write(bytes);
  assert.ok(ptr >= TWO_GIB, `nr_alloc returned ${ptr}, expected an address above 2^31`);
  assert.equal(len, bytes.length);
  assert.deepEqual(wasm.read(ptr, len), bytes);
  assert.deepEqual(wasm.read(ptr + len, NR_PADDING), new Uint8Array(NR_PADDING), 'padding is zeroed');
  wasm.free(ptr);

  exhaustLowHeap(wasm);
  const text = 'héllo above two gibibytes';
  const seen = wasm.withInput(text, (p, n) => ({ p, n, text: wasm.readText(p, n) }));
  assert.ok(seen.p >= TWO_GIB, `withInput buffer at ${seen.p}`);
  assert.equal(seen.text, text);
  assert.equal(seen.n, new TextEncoder().encode(text).length);

  // The core reads the high buffer too: a frame checked through nr_check_frame.
  const ctx = wasm.u32('nr_ctx_new');
  const rc = wasm.withInput('["REQ","s",{"kinds":[1]}]', (p, n) => wasm.call('nr_check_frame', ctx, p, n, 1e9));
  assert.equal(rc, 0);
  assert.ok(wasm.u32('nr_out_ptr', ctx) >= TWO_GIB);
  assert.equal(wasm.readText(wasm.u32('nr_out_ptr', ctx), wasm.u32('nr_out_len', ctx)), 'REQ');
  assert.equal(wasm.trapped, false);
});

test('the relay engine works when its action and stats buffers sit above 2^31', () => {
  const getWasm = instanceSource(module);
  const wasm = getWasm();
  growPast2GiB(wasm);
  exhaustLowHeap(wasm);
  const high = {};
  const u32 = wasm.u32.bind(wasm);
  wasm.u32 = (name, ...args) => {
    const v = u32(name, ...args);
    high[name] ||= v >= TWO_GIB;
    return v;
  };

  const sent = [];
  const engine = new RelayEngine({
    getWasm,
    config: '{}',
    performer: {
      send: (conn, text) => sent.push([conn, text]),
      attach() {},
      close() {},
      sql: () => ({ changes: 0, columns: [], rows: [] }),
      d1: async () => [],
      failed: (err) => assert.fail(`engine failed: ${err?.stack ?? err}`),
    },
  });
  assert.ok(engine.relay >= TWO_GIB, `engine at ${engine.relay}`);
  assert.equal(engine.open(1, 'c'.repeat(32), '', 1e9), 0);
  engine.frame(1, 'this is not json', 1e9);
  assert.ok(sent.some(([conn, text]) => conn === 1 && JSON.parse(text)[0] === 'NOTICE'), JSON.stringify(sent));
  assert.ok(high.nr_relay_actions_ptr, 'the action buffer was above 2^31');
  const stats = engine.stats();
  assert.ok(high.nr_relay_stats_ptr, 'the stats buffer was above 2^31');
  assert.equal(stats.connections, 1);
  assert.ok(stats.memory_bytes > TWO_GIB);
  assert.equal(engine.failure, null);
});

test('a throw inside withInput frees its buffer', () => {
  const wasm = new WasmInstance(module);
  let inside = 0;
  assert.throws(() => wasm.withInput('x'.repeat(1000), (p) => {
    inside = p;
    throw new RangeError('glue bug');
  }), RangeError);
  // dlmalloc hands the freed chunk straight back for the same size.
  const again = wasm.write('y'.repeat(1000));
  assert.equal(again.ptr, inside);
  assert.equal(wasm.trapped, false);
});
