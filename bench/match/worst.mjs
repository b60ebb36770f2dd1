// Worst-case live matching: engine time of ONE event against the worst
// subscription sets the default limits allow (docs/limits.md), measured in the
// wasm module (build/wasm-wasi) under node's V8 -- the engine workerd runs.
//   scripts/bench-match [--runs 7] [--wasm build/wasm-wasi/nostr_relay.wasm]
// Each scenario fills the relay through its real ABI (nr_relay_open/frame) with
// connections of REQs until the filter budgets refuse more, then times
// nr_relay_frame for an ephemeral event (kind 20001: verified and fanned out in
// that call, no D1) carrying 2000 tags. Reported: median and max over runs, the
// number of filters held, subscriptions matched, and the heap (linear memory).
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { finalizeEvent, generateSecretKey } from 'nostr-tools/pure';
import { instanceSource } from '../../js-glue/wasm_instance.js';

const { values: opt } = parseArgs({
  options: {
    runs: { type: 'string', default: '7' },
    wasm: { type: 'string', default: new URL('../../build/wasm-wasi/nostr_relay.wasm', import.meta.url).pathname },
  },
});
const RUNS = Number(opt.runs);
const module = new WebAssembly.Module(readFileSync(opt.wasm));
const NOW = Math.floor(Date.now() / 1000);
const TAGS = 2000;
const values = Array.from({ length: TAGS }, (_, i) => `v${i}`);

function engine() {
  const w = instanceSource(module)();
  const r = w.withInput('{}', (p, n) => w.u32('nr_relay_new', p, n));
  if (!r) throw new Error('nr_relay_new failed');
  const frame = (conn, text) => w.withInput(text, (p, n) => w.call('nr_relay_frame', r, conn, p, n, NOW));
  const last = () => w.readText(w.u32('nr_relay_actions_ptr', r), w.u32('nr_relay_actions_len', r));
  const open = (conn) => w.withInput(`challenge-${conn}`, (cp, cn) => w.withInput('', (sp, sn) => w.call('nr_relay_open', r, conn, cp, cn, sp, sn, 0, 0, NOW)));
  const stats = () => {
    const len = w.u32('nr_relay_stats', r); // fills the buffer nr_relay_stats_ptr points at
    return JSON.parse(w.readText(w.u32('nr_relay_stats_ptr', r), len));
  };
  return { frame, last, open, stats };
}

// Opens connections and sends REQs of `perSub` filters made by `filter(i)`
// until the relay refuses (CLOSED rate-limited) on a fresh connection.
function fill(e, perSub, filter) {
  let conn = 0;
  let i = 0;
  let accepted = 0;
  for (;;) {
    conn += 1;
    e.open(conn);
    let refusedFirst = false;
    for (let s = 0; s < 100; s++) {
      const filters = Array.from({ length: perSub }, () => filter(i++));
      e.frame(conn, JSON.stringify(['REQ', `s${s}`, ...filters]));
      const out = e.last();
      if (out.includes('"CLOSED"')) {
        if (s === 0) refusedFirst = true;
        break;
      }
      accepted += 1;
    }
    if (refusedFirst || conn > 5000) break;
  }
  return { conns: conn, subs: accepted };
}

const sk = generateSecretKey();
let seq = 0;
function event(tags) {
  seq += 1;
  return JSON.stringify(['EVENT', finalizeEvent({ kind: 20001, created_at: NOW, tags, content: `worst ${seq}` }, sk)]);
}

function time(e, tagsFor) {
  const samples = [];
  let matched = 0;
  for (let k = 0; k < RUNS; k++) {
    const text = event(tagsFor());
    const t0 = process.hrtime.bigint();
    e.frame(999999, text);
    const ms = Number(process.hrtime.bigint() - t0) / 1e6;
    samples.push(ms);
    const out = e.last();
    matched = countFanout(out);
  }
  samples.sort((a, b) => a - b);
  return { median: samples[samples.length >> 1], max: samples[samples.length - 1], matched };
}

// FANOUT records carry one prefix per target: count them.
function countFanout(text) {
  return (text.match(/\["EVENT","s\d+",/g) ?? []).length;
}

const scenarios = [
  {
    name: 'all match: one-value #t filters, every one a candidate and a match',
    perSub: 10,
    filter: (i) => ({ '#t': [values[i % TAGS]], limit: 0 }),
    tags: () => values.map((v) => ['t', v]),
  },
  {
    name: 'none match: one-value #t filters that fail on a second condition',
    perSub: 10,
    filter: (i) => ({ '#t': [values[i % TAGS]], '#u': ['never'], limit: 0 }),
    tags: () => values.map((v) => ['t', v]),
  },
  {
    name: '52 letters: every filter needs a value of each of 52 tag letters',
    perSub: 1,
    filter: (i) => Object.fromEntries([...'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ'].map((l) => [`#${l}`, [l === 'e' || l === 'p' ? 'f'.repeat(64) : `x${i % 7}`]]).concat([['limit', 0]])),
    tags: () => [...'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ'].flatMap((l) => Array.from({ length: 38 }, (_, k) => [l, l === 'e' || l === 'p' ? 'f'.repeat(64) : `x${k}`])).slice(0, TAGS),
  },
  {
    name: 'wide: filters of 1000 #t values, half of them in the event',
    perSub: 1,
    filter: (i) => ({ '#t': Array.from({ length: 1000 }, (_, k) => `w${(i * 1000 + k) % 4000}`), limit: 0 }),
    tags: () => Array.from({ length: TAGS }, (_, k) => ['t', `w${k * 2}`]),
  },
];

const results = [];
for (const sc of scenarios) {
  const e = engine();
  e.open(999999);
  const { conns, subs } = fill(e, sc.perSub, sc.filter);
  const st = e.stats();
  const r = time(e, sc.tags);
  const row = { scenario: sc.name, connections: conns, subscriptions: subs, filter_bytes: st.filter_bytes, ...r, memory_mib: e.stats().memory_bytes / 2 ** 20 };
  results.push(row);
  console.log(`${sc.name}\n  ${conns} connections, ${subs} subscriptions, ${(st.filter_bytes / 2 ** 20).toFixed(2)} MiB of filters; ` +
    `one ${TAGS}-tag event: median ${r.median.toFixed(2)} ms, max ${r.max.toFixed(2)} ms over ${RUNS} runs; ` +
    `${r.matched} subscriptions matched; wasm memory ${row.memory_mib.toFixed(1)} MiB`);
}
console.log(JSON.stringify({ node: process.version, runs: RUNS, results }));
