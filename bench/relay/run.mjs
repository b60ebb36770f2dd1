// Relay benchmarks against `wrangler dev` (local workerd + local D1), or with
// --host native against the native server (server/, SQLite; build the
// native-release preset first; results stay out of docs: recorded by hand).
//   scripts/bench-relay [--host wrangler|native] [--only ingest,costs,fanout,query] [--clients undici,ws]
//                       [--ingest-events 20000] [--conns 8] [--window 16] [--subs 200]
//                       [--samples 250] [--no-docs] [--profile] [--wasm file] [--compat-flag f]
//                       [--host command --command 'CMD {port} {dir}']
// --host command benchmarks any relay a shell command starts (another relay
// implementation, for a side-by-side run on the same machine): {port} is a
// free port it must listen on, {dir} a data directory (fresh for phase 1,
// build/bench-command-state for phase 2); it is stopped with SIGTERM.
// For each client kind (undici: node 22's WebSocket, which negotiates
// permessage-deflate like browsers; ws: the `ws` package without compression):
//   phase 1 (fresh temp state): ingest + read-back, per-frame costs, fan-out (burst, paced)
//   phase 2 (build/bench-relay-state, reused): seed >= 100k events via the ingest
//   path if missing, then REQ → EOSE latencies.
// Results: build/bench-relay/results-<date>.json, and docs/benchmarks.md (relay
// markers) after a full default run.
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { NO_RATE_LIMITS, freePort, relayConfigArgs, startNative, startRelay as startWrangler } from '../../tests/e2e/harness.mjs';

// Throughput from one machine: rate limits off (they would cut a pipelined client off).
const UNLIMITED = relayConfigArgs({ rate_limits: NO_RATE_LIMITS });
import { costCorpus, fanoutCorpus, ingestCorpus, objectsCorpus, seedCorpus } from './corpora.mjs';
import { objectsFanout } from './objects.mjs';
import { costs } from './costs.mjs';
import { fanout } from './fanout.mjs';
import { ingest, readBack } from './ingest.mjs';
import { RESULTS_DIR, STATE_DIR, machine, projectWithWasm, useClient } from './lib.mjs';
import { Profiler } from './profile.mjs';
import { queries, querySets, storedCount } from './query.mjs';
import { writeDocs } from './report.mjs';

const { values: opt } = parseArgs({
  options: {
    only: { type: 'string', default: 'ingest,costs,fanout,query' },
    clients: { type: 'string', default: 'undici,ws' },
    'ingest-events': { type: 'string', default: '20000' },
    conns: { type: 'string', default: '8' },
    window: { type: 'string', default: '16' },
    subs: { type: 'string', default: '200' },
    samples: { type: 'string', default: '250' },
    'seed-events': { type: 'string', default: '100000' },
    'no-docs': { type: 'boolean', default: false },
    profile: { type: 'boolean', default: false }, // CPU-profile the isolate (CDP) during ingest and burst fan-out
    'compat-flag': { type: 'string' }, // extra `wrangler dev --compatibility-flags`
    wasm: { type: 'string' }, // phase 1 with this wasm instead of build/wasm-wasi (runs a copy of the project)
    host: { type: 'string', default: 'wrangler' }, // or native: build/native-release/server/nostr-relay-server; or command
    command: { type: 'string' }, // --host command: the shell command that starts the relay
  },
});
const NATIVE_STATE = join(STATE_DIR, '..', 'bench-native-state');
// The relay under test: wrangler dev, or the native server with the same
// settings (its one process counts as the "worker" in CPU figures).
async function startRelay(options = {}) {
  if (opt.host === 'command') return startCommand(options);
  if (opt.host !== 'native') return startWrangler(options);
  if (options.persistTo) mkdirSync(NATIVE_STATE, { recursive: true });
  const t0 = performance.now();
  const s = await startNative({
    env: { RELAY_CONFIG: JSON.stringify({ rate_limits: NO_RATE_LIMITS }) },
    db: options.persistTo ? join(NATIVE_STATE, 'relay.sqlite3') : undefined,
  });
  // Start-up: spawn until the first NIP-11 answer (the harness saw "listening").
  const info = await fetch(s.url, { headers: { Accept: 'application/nostr+json' } });
  await info.arrayBuffer();
  s.startMs = performance.now() - t0;
  s.idle = procMemory(s.pid);
  log(`native server up in ${s.startMs.toFixed(0)} ms, RSS ${s.idle.rssMiB.toFixed(1)} MiB`);
  return s;
}
// --host command: `sh -c` runs the command with {port} and {dir} filled in;
// the relay is up when its NIP-11 document answers.
async function startCommand(options) {
  if (!opt.command) throw new Error('--host command needs --command');
  const port = await freePort();
  const dir = options.persistTo ? join(STATE_DIR, '..', 'bench-command-state') : mkdtempSync(join(tmpdir(), 'bench-command-'));
  mkdirSync(dir, { recursive: true });
  const cmd = opt.command.replaceAll('{port}', String(port)).replaceAll('{dir}', dir);
  const t0 = performance.now();
  const child = spawn('sh', ['-c', `exec ${cmd}`], { stdio: ['ignore', 'ignore', 'pipe'] });
  let errText = '';
  child.stderr.on('data', (d) => (errText = (errText + d).slice(-4000)));
  const exited = new Promise((r) => child.on('exit', r));
  const url = `http://127.0.0.1:${port}`;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`relay command exited (${child.exitCode}): ${errText}`);
    if (performance.now() - t0 > 30000) throw new Error(`relay command not answering after 30 s: ${errText}`);
    try {
      const r = await fetch(url, { headers: { Accept: 'application/nostr+json' } });
      await r.arrayBuffer();
      if (r.ok) break;
    } catch {}
    await new Promise((r) => setTimeout(r, 100));
  }
  const startMs = performance.now() - t0;
  const idle = procMemory(child.pid);
  log(`relay command up in ${startMs.toFixed(0)} ms (pid ${child.pid}), RSS ${idle.rssMiB.toFixed(1)} MiB`);
  return {
    url, wsUrl: `ws://127.0.0.1:${port}`, port, pid: child.pid, startMs, idle,
    workerdPids: () => [child.pid],
    stop: async () => {
      if (child.exitCode === null) child.kill('SIGTERM');
      await exited;
      if (!options.persistTo) rmSync(dir, { recursive: true, force: true });
    },
  };
}
// RSS now and its peak (VmHWM) of a process, in MiB.
function procMemory(pid) {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kib = (k) => Number(status.match(new RegExp(`^${k}:\\s+(\\d+) kB`, 'm'))?.[1] ?? NaN);
  return { rssMiB: kib('VmRSS') / 1024, peakMiB: kib('VmHWM') / 1024 };
}
// The native server's start-up time and memory, idle and after the phase's load.
function nativeMemory(relay, run, phase) {
  if (opt.host === 'wrangler') return;
  const loaded = procMemory(relay.pid);
  (run.native ??= {})[phase] = { start_ms: relay.startMs, idle_rss_mib: relay.idle.rssMiB, loaded_rss_mib: loaded.rssMiB, peak_rss_mib: loaded.peakMiB };
  log(`native ${phase}: start ${relay.startMs.toFixed(0)} ms, RSS idle ${relay.idle.rssMiB.toFixed(1)} MiB, after load ${loaded.rssMiB.toFixed(1)} MiB (peak ${loaded.peakMiB.toFixed(1)} MiB)`);
}
if (opt.host !== 'wrangler') opt['no-docs'] = true;
const only = new Set(opt.only.split(','));
const clients = opt.clients.split(',');
const log = (...a) => console.error(`[${new Date().toISOString().slice(11, 19)}]`, ...a);
const CLIENT_NAMES = {
  undici: 'node 22 WebSocket (permessage-deflate negotiated, like browsers)',
  ws: 'ws package, no compression',
};

const results = { machine: machine(), options: opt, runs: [], seed: null, stored: null };
log('machine', JSON.stringify(results.machine));

// Corpora first (signing is not measured).
const ingestEvents = only.has('ingest') ? await ingestCorpus(Number(opt['ingest-events'])) : null;
const costEvents = only.has('costs') ? await costCorpus() : null;
const burst = only.has('fanout') ? await fanoutCorpus('fanout-burst') : null;
const paced = only.has('fanout') ? await fanoutCorpus('fanout-paced') : null;
const seed = only.has('query') ? await seedCorpus({ n: Number(opt['seed-events']) }) : null;
const objectEvents = only.has('objects') ? await Promise.all([0, 1, 2, 3].map((run) => objectsCorpus(200, 4 * 10, run))) : null;
const compat = opt['compat-flag'] ? ['--compatibility-flags', opt['compat-flag']] : [];

async function phase1(run) {
  log(`phase 1 (${run.client}): fresh state`);
  const inspectorPort = opt.profile ? await freePort() : 0;
  const relay = await startRelay({
    extraArgs: [...(opt.profile ? ['--inspector-port', String(inspectorPort)] : []), ...compat, ...UNLIMITED],
    ...(opt.wasm ? { root: await projectWithWasm(opt.wasm) } : {}),
  });
  let profiler = null;
  const startProfile = async () => profiler?.start();
  const stopProfile = async (name) => {
    if (!profiler) return;
    const p = ((run.profiles ??= {})[name] = await profiler.stop());
    const cats = Object.entries(p.categories).map(([k, v]) => `${k} ${v.ms.toFixed(0)} ms`).join(', ');
    log(`profile ${name} (isolate thread; "program" = native + idle): ${cats}\n  ` + p.top.map((t) => `${t.selfMs.toFixed(0)} ms ${t.name}`).join('\n  '));
  };
  try {
    if (opt.profile) profiler = await Profiler.attach(inspectorPort);
    if (ingestEvents) {
      await startProfile();
      const { result, okIds } = await ingest(relay, ingestEvents, { conns: Number(opt.conns), window: Number(opt.window), log });
      await stopProfile('ingest');
      run.ingest = result;
      run.readback = await readBack(relay, okIds, { log });
    }
    if (costEvents) run.costs = await costs(relay, costEvents, { log });
    if (burst) {
      const subs = Number(opt.subs);
      run.fanout.push(await fanout(relay, burst, { subs, tag: 'fanout-burst', mode: 'burst', log, hooks: { start: startProfile, stop: () => stopProfile('fanout') } }));
      run.fanout.push(await fanout(relay, paced, { subs, tag: 'fanout-paced', mode: 'paced', paceMs: 20, log }));
    }
    nativeMemory(relay, run, 'fresh');
  } finally {
    profiler?.close();
    await relay.stop();
  }
}

async function phase2(run) {
  log(`phase 2 (${run.client}): stored set in ${STATE_DIR}`);
  const relay = await startRelay({ persistTo: STATE_DIR, keepState: true, extraArgs: [...compat, ...UNLIMITED] });
  try {
    let n = await storedCount(relay);
    log(`stored events: ${n}`);
    if (n === null || n < Number(opt['seed-events'])) {
      log(`seeding ${seed.length} events via the ingest path (kept for the next runs)...`);
      const { result } = await ingest(relay, seed, { conns: 8, window: 32, label: 'seed', log });
      results.seed = { ...result, client: run.client };
      n = await storedCount(relay);
      log(`stored events after seeding: ${n}`);
    }
    results.stored = n;
    run.queries = await queries(relay, querySets(seed, { samples: Number(opt.samples) }), { log, skipRefused: opt.host === 'command' });
    nativeMemory(relay, run, 'stored');
  } finally {
    await relay.stop();
  }
}

// Several relay objects (wrangler dev only): 4 objects, 200 subscribers.
async function phaseObjects(run) {
  const token = 'bench-objects-token';
  log(`objects (${run.client}): 4 relay objects, 200 subscribers`);
  const relay = await startWrangler({
    extraArgs: [...compat, ...relayConfigArgs({ rate_limits: NO_RATE_LIMITS, shards: 1, route_pinning: true }), '--var', `METRICS_TOKEN:${token}`],
  });
  try {
    run.objects = [];
    let i = 0;
    for (const interest of ['local', 'global']) {
      for (const mode of ['burst', 'paced']) {
        run.objects.push(await objectsFanout(relay, objectEvents[i++], { token, objects: 4, subs: 200, interest, mode, log }));
      }
    }
  } finally {
    await relay.stop();
  }
}

for (const client of clients) {
  await useClient(client);
  const run = { client, clientName: CLIENT_NAMES[client] ?? client, ingest: null, readback: null, costs: null, fanout: [], queries: null };
  results.runs.push(run);
  if (ingestEvents || costEvents || burst) await phase1(run);
  if (seed) await phase2(run);
  if (objectEvents && opt.host === 'wrangler') await phaseObjects(run);
}

mkdirSync(RESULTS_DIR, { recursive: true });
const file = join(RESULTS_DIR, `results-${results.machine.date.replace(/[:.]/g, '-')}.json`);
writeFileSync(file, JSON.stringify(results, null, 2));
log(`results: ${file}`);
const experimental = opt.profile || opt.wasm || opt['compat-flag'];
const full = ['ingest', 'costs', 'fanout', 'query'].every((p) => only.has(p)) && clients[0] === 'undici';
if (opt['no-docs'] || experimental || !full) {
  log('docs/benchmarks.md left alone (--no-docs, an experiment, or not a full run); `node bench/relay/report.mjs <results.json>` writes it');
} else {
  log(`docs: ${writeDocs(results)}`);
}
