// Relay benchmarks against `wrangler dev` (local workerd + local D1).
//   scripts/bench-relay [--only ingest,fanout,query] [--ingest-events 20000] [--conns 8]
//                       [--window 16] [--subs 200] [--samples 250] [--no-docs]
// Phase 1 (fresh temp state): ingest + read-back, fan-out (burst and paced).
// Phase 2 (build/bench-relay-state, reused): seed >= 100k events via the ingest
// path if missing, then REQ → EOSE latencies.
// Results: build/bench-relay/results-<date>.json and docs/benchmarks.md (relay markers).
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { freePort, startRelay } from '../../tests/e2e/harness.mjs';
import { Profiler } from './profile.mjs';
import { costCorpus, fanoutCorpus, ingestCorpus, seedCorpus } from './corpora.mjs';
import { costs } from './costs.mjs';
import { fanout } from './fanout.mjs';
import { ingest, readBack } from './ingest.mjs';
import { RESULTS_DIR, STATE_DIR, machine, projectWithWasm } from './lib.mjs';
import { queries, querySets, storedCount } from './query.mjs';
import { writeDocs } from './report.mjs';

const { values: opt } = parseArgs({
  options: {
    only: { type: 'string', default: 'ingest,fanout,query,costs' },
    'ingest-events': { type: 'string', default: '20000' },
    conns: { type: 'string', default: '8' },
    window: { type: 'string', default: '16' },
    subs: { type: 'string', default: '200' },
    samples: { type: 'string', default: '250' },
    'seed-events': { type: 'string', default: '100000' },
    'no-docs': { type: 'boolean', default: false },
    profile: { type: 'boolean', default: false },
    wasm: { type: 'string' }, // run phase 1 with this wasm file instead of build/wasm-wasi (a copy of the project; no docs) // CPU-profile the isolate (CDP) during ingest and burst fan-out; no docs
  },
});
const only = new Set(opt.only.split(','));
const log = (...a) => console.error(`[${new Date().toISOString().slice(11, 19)}]`, ...a);

const results = { machine: machine(), ingest: null, readback: null, fanout: [], costs: null, seed: null, queries: null };
log('machine', JSON.stringify(results.machine));

// Corpora first (signing is not measured).
const ingestEvents = only.has('ingest') ? await ingestCorpus(Number(opt['ingest-events'])) : null;
const costEvents = only.has('costs') ? await costCorpus() : null;
const burst = only.has('fanout') ? await fanoutCorpus('fanout-burst') : null;
const paced = only.has('fanout') ? await fanoutCorpus('fanout-paced') : null;
const seed = only.has('query') ? await seedCorpus({ n: Number(opt['seed-events']) }) : null;

if (ingestEvents || burst || costEvents) {
  log('phase 1: fresh state');
  const inspectorPort = opt.profile ? await freePort() : 0;
  const relay = await startRelay({
    ...(opt.profile ? { extraArgs: ['--inspector-port', String(inspectorPort)] } : {}),
    ...(opt.wasm ? { root: await projectWithWasm(opt.wasm) } : {}),
  });
  let profiler = null;
  const startProfile = async () => profiler?.start();
  const stopProfile = async (name) => {
    if (!profiler) return;
    const p = ((results.profiles ??= {})[name] = await profiler.stop());
    const cats = Object.entries(p.categories).map(([k, v]) => `${k} ${v.ms.toFixed(0)} ms`).join(', ');
    log(`profile ${name} (isolate thread; "program" = native + idle): ${cats}\n  ` + p.top.map((t) => `${t.selfMs.toFixed(0)} ms ${t.name}`).join('\n  '));
  };
  const profiled = async (name, fn) => {
    await startProfile();
    const out = await fn();
    await stopProfile(name);
    return out;
  };
  try {
    if (opt.profile) profiler = await Profiler.attach(inspectorPort);
    if (ingestEvents) {
      const { result, okIds } = await profiled('ingest', () => ingest(relay, ingestEvents, { conns: Number(opt.conns), window: Number(opt.window), log }));
      results.ingest = result;
      results.readback = await readBack(relay, okIds, { log });
    }
    if (costEvents) results.costs = await costs(relay, costEvents, { log });
    if (burst) {
      results.fanout.push(await fanout(relay, burst, { subs: Number(opt.subs), tag: 'fanout-burst', mode: 'burst', log, hooks: { start: startProfile, stop: () => stopProfile('fanout') } }));
      results.fanout.push(await fanout(relay, paced, { subs: Number(opt.subs), tag: 'fanout-paced', mode: 'paced', paceMs: 20, log }));
    }
  } finally {
    profiler?.close();
    await relay.stop();
  }
}

if (seed) {
  log(`phase 2: stored set in ${STATE_DIR}`);
  const relay = await startRelay({ persistTo: STATE_DIR, keepState: true });
  try {
    let n = await storedCount(relay);
    log(`stored events: ${n}`);
    const target = Number(opt['seed-events']);
    if (n === null || n < target) {
      log(`seeding ${seed.length} events via the ingest path (reused next time)...`);
      const { result } = await ingest(relay, seed, { conns: 8, window: 32, label: 'seed', log });
      results.seed = result;
      n = await storedCount(relay);
      log(`stored events after seeding: ${n}`);
    }
    results.stored = n;
    results.queries = await queries(relay, querySets(seed, { samples: Number(opt.samples) }), { log });
  } finally {
    await relay.stop();
  }
}

mkdirSync(RESULTS_DIR, { recursive: true });
const file = join(RESULTS_DIR, `results-${results.machine.date.replace(/[:.]/g, '-')}.json`);
writeFileSync(file, JSON.stringify(results, null, 2));
log(`results: ${file}`);
if (opt['no-docs'] || opt.profile || opt.wasm) log('docs/benchmarks.md left alone (--no-docs / --profile / --wasm)');
else if (!results.ingest || !results.fanout.length || !results.queries) log('docs/benchmarks.md left alone (not every phase ran); node bench/relay/report.mjs <results.json> writes it');
else log(`docs: ${writeDocs(results)}`);
