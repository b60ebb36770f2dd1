// Shared pieces of the relay benchmarks: pre-signed corpora (cached in build/),
// a lean WebSocket client, percentiles, CPU accounting, machine facts.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { ROOT, cpuSeconds, offlineEnv } from '../../tests/e2e/harness.mjs';

export { ROOT };
export const BUILD = join(ROOT, 'build');
export const CORPUS_DIR = join(BUILD, 'bench-relay-corpus');
export const STATE_DIR = join(BUILD, 'bench-relay-state');
export const RESULTS_DIR = join(BUILD, 'bench-relay');

// ---------------------------------------------------------------- corpora

// Deterministic PRNG (mulberry32) so a corpus spec always yields the same templates.
export { mulberry32 as rng } from '../../tests/support/prng.mjs';

// Secret key i of a corpus (deterministic, valid for secp256k1 with overwhelming probability).
export function secretKey(tag, i) {
  return new Uint8Array(createHash('sha256').update(`nostr-relay-bench/${tag}/${i}`).digest());
}

// Signs templates [{ author, kind, created_at, tags, content }] in worker threads.
// `author` is an index into keys derived from keyTag. Returns events in order.
async function signAll(keyTag, templates, threads) {
  const n = Math.max(1, Math.min(threads, templates.length));
  const per = Math.ceil(templates.length / n);
  const parts = await Promise.all(Array.from({ length: n }, (_, w) => new Promise((resolve, reject) => {
    const worker = new Worker(new URL('./sign_worker.mjs', import.meta.url), {
      workerData: { keyTag, templates: templates.slice(w * per, (w + 1) * per) },
    });
    worker.once('message', resolve);
    worker.once('error', reject);
    worker.once('exit', (code) => code && reject(new Error(`sign worker exited ${code}`)));
  })));
  return parts.flat();
}

// Returns the pre-signed events of a corpus, signing (and caching as JSONL)
// only when the cache for this exact spec is missing.
export async function corpus(name, spec, makeTemplates, { threads = Number(process.env.BENCH_SIGN_THREADS) || Math.min(2, availableParallelism()), log = console.error } = {}) {
  mkdirSync(CORPUS_DIR, { recursive: true });
  const key = createHash('sha256').update(JSON.stringify({ name, spec, v: 1 })).digest('hex').slice(0, 12);
  const file = join(CORPUS_DIR, `${name}-${key}.jsonl`);
  if (existsSync(file)) {
    const lines = readFileSync(file, 'utf8').split('\n').filter(Boolean);
    log(`corpus ${name}: ${lines.length} cached events (${file})`);
    return lines.map((l) => JSON.parse(l));
  }
  const templates = makeTemplates(spec);
  log(`corpus ${name}: signing ${templates.length} events with nostr-tools in ${threads} thread(s) (cached afterwards)...`);
  const t0 = performance.now();
  const events = await signAll(spec.keyTag ?? name, templates, threads);
  log(`corpus ${name}: signed in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  writeFileSync(`${file}.tmp`, events.map((e) => JSON.stringify(e)).join('\n') + '\n');
  renameSync(`${file}.tmp`, file);
  return events;
}

// ---------------------------------------------------------------- client

// A lean client: onText(text, tReceive) for every frame; no JSON parse unless asked.
// BENCH_CLIENT=ws uses the `ws` package without permessage-deflate (node's
// built-in WebSocket, the default, negotiates it like browsers do).
let wsPackage = null;
export async function useClient(kind = process.env.BENCH_CLIENT ?? 'undici') {
  wsPackage = kind === 'ws' ? (await import('ws')).default : null;
  return kind;
}

export class Conn {
  static open(url, onText = () => {}) {
    return new Promise((resolve, reject) => {
      const ws = wsPackage ? new wsPackage(url, { perMessageDeflate: false }) : new WebSocket(url);
      const c = new Conn(ws, onText);
      const t = setTimeout(() => reject(new Error(`connect ${url}: timeout`)), 20000);
      const opened = () => {
        clearTimeout(t);
        resolve(c);
      };
      const failed = () => {
        clearTimeout(t);
        reject(new Error(`connect ${url}: error`));
      };
      if (wsPackage) {
        ws.once('open', opened);
        ws.once('error', failed);
      } else {
        ws.addEventListener('open', opened, { once: true });
        ws.addEventListener('error', failed, { once: true });
      }
    });
  }

  constructor(ws, onText) {
    this.ws = ws;
    this.onText = onText;
    if (wsPackage) {
      this.closed = new Promise((resolve) => ws.once('close', (code) => resolve(code)));
      ws.on('message', (data) => this.onText(data.toString(), performance.now()));
      ws.on('error', () => {});
    } else {
      this.closed = new Promise((resolve) => ws.addEventListener('close', (ev) => resolve(ev.code)));
      ws.addEventListener('message', (ev) => this.onText(ev.data, performance.now()));
    }
  }

  get extensions() {
    return this.ws.extensions;
  }

  send(text) {
    this.ws.send(text);
  }

  close() {
    try {
      this.ws.close();
    } catch {
      // already closing
    }
  }
}

// Opens n connections, at most `batch` handshakes at a time.
export async function openMany(url, n, onText, batch = 50) {
  const out = [];
  for (let i = 0; i < n; i += batch) {
    out.push(...(await Promise.all(Array.from({ length: Math.min(batch, n - i) }, (_, j) => Conn.open(url, (t, ts) => onText(i + j, t, ts))))));
  }
  return out;
}

// The id of an ["OK",id,...] or ["EVENT",sub,{...}] frame without a full parse.
export function okId(text) {
  return text.startsWith('["OK","') ? text.slice(7, 71) : null;
}
export function eventId(text) {
  const i = text.indexOf('"id":"');
  return i < 0 ? null : text.slice(i + 6, i + 70);
}

// ---------------------------------------------------------------- stats

export function percentile(sorted, p) {
  if (!sorted.length) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i];
}

export function summary(values) {
  const s = Float64Array.from(values).sort();
  const sum = s.reduce((a, b) => a + b, 0);
  return { n: s.length, p50: percentile(s, 50), p90: percentile(s, 90), p99: percentile(s, 99), max: s[s.length - 1], mean: sum / s.length };
}

// CPU seconds (utime+stime) of the relay's workerd processes and of this node
// process. wrangler dev runs two workerd: its proxy (listening on the public
// port, forwarding every request and WebSocket frame) and the one running the
// Worker + DO + local D1. `workerd` is both; `worker` and `proxy` split it.
const roles = new Map(); // pid -> 'proxy' | 'worker'
function role(relay, pid) {
  let r = roles.get(pid);
  if (!r) {
    const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    r = cmd.includes(`entry=127.0.0.1:${relay.port}`) ? 'proxy' : 'worker';
    roles.set(pid, r);
  }
  return r;
}

export function cpuSnapshot(relay) {
  const snap = { workerd: 0, worker: 0, proxy: 0 };
  for (const pid of relay.workerdPids()) {
    try {
      const s = cpuSeconds(pid);
      snap.workerd += s;
      snap[role(relay, pid)] += s;
    } catch {
      // gone
    }
  }
  const u = process.cpuUsage();
  return { ...snap, client: (u.user + u.system) / 1e6, wall: performance.now() / 1000 };
}

export function cpuDelta(a, b) {
  return { workerd: b.workerd - a.workerd, worker: b.worker - a.worker, proxy: b.proxy - a.proxy, client: b.client - a.client, wall: b.wall - a.wall };
}

// ---------------------------------------------------------------- machine

export function machine() {
  const sh = (cmd, args) => {
    try {
      return execFileSync(cmd, args, { encoding: 'utf8', env: offlineEnv(), cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], timeout: 60000 }).trim();
    } catch {
      return '?';
    }
  };
  const model = (sh('lscpu', []).match(/^Model name:\s*(.+)$/m) ?? [])[1] ?? cpus()[0]?.model ?? '?';
  const bin = join(ROOT, 'node_modules/.bin');
  return {
    date: new Date().toISOString(),
    cpu: model,
    nproc: Number(sh('nproc', [])) || availableParallelism(),
    node: process.version,
    wrangler: sh(join(bin, 'wrangler'), ['--version']).split('\n').pop(),
    workerd: sh(join(bin, "workerd"), ["--version"]).replace(/^workerd /, ""),
    loadavg: readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' '),
    git: sh('git', ['rev-parse', '--short', 'HEAD']) + (sh('git', ['status', '--porcelain', '--', 'core', 'durable', 'edge', 'js-glue']) ? '+dirty' : ''),
  };
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
export const fmt = (x, d = 1) => (Number.isFinite(x) ? x.toFixed(d) : String(x));

// A throwaway copy of the Worker project (js-glue, wrangler.toml, migrations)
// that runs another build of the wasm (e.g. one with a name section, for
// profiles with function names), without touching build/wasm-wasi.
export async function projectWithWasm(wasmFile) {
  const { cpSync, rmSync: rm, symlinkSync } = await import('node:fs');
  const dir = join(BUILD, 'bench-relay-root');
  rm(dir, { recursive: true, force: true });
  mkdirSync(join(dir, 'build/wasm-wasi'), { recursive: true });
  for (const p of ['js-glue', 'migrations', 'wrangler.toml', 'package.json']) cpSync(join(ROOT, p), join(dir, p), { recursive: true });
  cpSync(wasmFile, join(dir, 'build/wasm-wasi/nostr_relay.wasm'));
  symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'));
  return dir;
}
