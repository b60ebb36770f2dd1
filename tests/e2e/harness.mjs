// End-to-end harness: runs the relay with `wrangler dev` (offline, node 22 first
// on PATH) on a free loopback port, plus a raw WebSocket client that records
// every frame as text. Builds nothing: build/wasm-wasi/nostr_relay.wasm must
// exist (scripts/test and scripts/dev build it).
//
//   const relay = await startRelay();          // fresh mkdtemp state, removed by stop()
//   const relay = await startRelay({ persistTo: 'build/x', keepState: true, extraArgs: ['--inspector-port', '9229'] });
//   relay.url, relay.wsUrl, relay.port, relay.workerdPids(), relay.log(), await relay.stop()
//
//   const c = await RawClient.connect(relay.wsUrl);  // c.challenge = the AUTH challenge
//   c.send(['REQ', 's', {}]); const f = await c.next((m) => m[0] === 'EOSE');
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { isAbsolute, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const BIN = join(ROOT, 'node_modules/.bin');
export const WASM = join(ROOT, 'build/wasm-wasi/nostr_relay.wasm');

// platform.md: with these wrangler/workerd make no non-loopback connection.
export function offlineEnv() {
  return {
    ...process.env,
    PATH: `${BIN}:${process.env.PATH}`,
    WRANGLER_SEND_METRICS: 'false',
    WRANGLER_HIDE_BANNER: 'true',
    CLOUDFLARE_CF_FETCH_ENABLED: 'false',
    WRANGLER_SEND_ERROR_REPORTS: 'false',
    DO_NOT_TRACK: '1',
    X_LOCAL_OBSERVABILITY: 'false',
    X_LOCAL_EXPLORER: 'false',
    XDG_CONFIG_HOME: join(ROOT, '.wrangler/xdg-config'),
    WRANGLER_LOG_PATH: join(ROOT, '.wrangler/logs'),
  };
}

// Rate limits off (every bucket's per_minute 0), for RELAY_CONFIG in tests and
// benchmarks that measure something else (budgets, throughput) from one
// machine, where every client shares 127.0.0.1.
const OFF = { per_minute: 0, burst: 0 };
export const NO_RATE_LIMITS = {
  event_per_connection: OFF, event_per_ip: OFF, event_per_pubkey: OFF, req_per_connection: OFF, req_per_ip: OFF, req_per_pubkey: OFF,
};
// wrangler dev arguments that replace wrangler.toml's RELAY_CONFIG with
// `config` (omitted keys take the core's defaults, which wrangler.toml repeats).
export const relayConfigArgs = (config) => ['--var', `RELAY_CONFIG:${JSON.stringify(config)}`];

export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

export function applyMigrations(state, env = offlineEnv(), root = ROOT) {
  // stdin is not a TTY: wrangler applies without asking.
  const mig = spawnSync(join(BIN, 'wrangler'), ['d1', 'migrations', 'apply', 'DB', '--local', '--persist-to', state], {
    cwd: root, env, encoding: 'utf8', timeout: 120000, stdio: ['ignore', 'pipe', 'pipe'],
  });
  if (mig.status !== 0) throw new Error(`d1 migrations apply failed (${mig.status}):\n${mig.stdout}\n${mig.stderr}`);
}

// Opens a WebSocket (binary frames as ArrayBuffer); rejects on error or after timeoutMs.
export async function openSocket(url, timeoutMs) {
  const ws = new WebSocket(url);
  ws.binaryType = 'arraybuffer';
  await new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`connect ${url}: timeout`)), timeoutMs);
    ws.addEventListener('open', () => {
      clearTimeout(t);
      resolve();
    }, { once: true });
    ws.addEventListener('error', (e) => {
      clearTimeout(t);
      reject(new Error(`connect ${url}: ${e.message ?? 'error'}`));
    }, { once: true });
  });
  return ws;
}

// Pids of every process in a process group (wrangler's node, workerd, ...).
function groupPids(pgid) {
  const out = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      if (Number(rest[2]) === pgid) out.push({ pid: Number(d), comm });
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

// utime + stime of a process, in seconds.
export function cpuSeconds(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12])) / 100; // fields 14, 15; USER_HZ = 100 on Linux
}

// root: the project directory wrangler runs in (default: this repository;
// a copy lets a benchmark run a differently built wasm without touching build/).
export async function startRelay({ persistTo, keepState = false, timeoutMs = 90000, migrate = true, extraArgs = [], root = ROOT } = {}) {
  if (root === ROOT && !existsSync(WASM)) throw new Error(`${WASM} is missing: build the wasm-wasi preset first (scripts/test or scripts/dev)`);
  const env = offlineEnv();
  let state;
  if (persistTo) {
    state = isAbsolute(persistTo) ? persistTo : join(ROOT, persistTo);
    mkdirSync(state, { recursive: true });
  } else {
    state = mkdtempSync(join(tmpdir(), 'nostr-relay-e2e-'));
  }
  const removeState = () => {
    if (!keepState) rmSync(state, { recursive: true, force: true });
  };
  try {
    if (migrate) applyMigrations(state, env, root);
  } catch (err) {
    removeState();
    throw err;
  }

  const port = await freePort();
  const child = spawn(join(BIN, 'wrangler'),
    ['dev', '--local', '--ip', '127.0.0.1', '--port', String(port), '--persist-to', state,
      '--show-interactive-dev-session=false', '--log-level', 'warn', ...extraArgs],
    { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true }); // own process group
  let log = '';
  const keep = (d) => {
    log += d;
    if (log.length > 1 << 20) log = log.slice(-(1 << 19));
  };
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  const exited = new Promise((resolve) => child.once('exit', resolve));

  const kill = (sig) => {
    try {
      process.kill(-child.pid, sig);
    } catch {
      // already gone
    }
  };
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    if (child.exitCode === null && child.signalCode === null) {
      kill('SIGTERM');
      const t = setTimeout(() => kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(t);
    }
    // workerd may outlive wrangler for a moment; it is in the same group.
    for (let i = 0; i < 50 && groupPids(child.pid).length; i++) {
      if (i === 20) kill('SIGKILL');
      await new Promise((r) => setTimeout(r, 100));
    }
    removeState();
  };
  const onExit = () => kill('SIGKILL');
  process.once('exit', onExit);

  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null) {
      await stop();
      throw new Error(`wrangler dev exited (${child.exitCode}):\n${log}`);
    }
    try {
      const res = await fetch(url, { headers: { Accept: 'application/nostr+json' } });
      await res.arrayBuffer();
      if (res.status === 200) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`wrangler dev not ready after ${timeoutMs} ms:\n${log}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  return {
    url,
    wsUrl: `ws://127.0.0.1:${port}`,
    port,
    state,
    pid: child.pid,
    workerdPids: () => groupPids(child.pid).filter((p) => p.comm.startsWith('workerd')).map((p) => p.pid),
    log: () => log,
    stop: async () => {
      process.removeListener('exit', onExit);
      await stop();
    },
  };
}

// Runs one of the project's node scripts (path from the repository root) with
// `args`, `input` on its stdin; resolves { code, stdout, stderr }.
export function runScript(script, args, input = '') {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [join(ROOT, script), ...args], { cwd: ROOT, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(input);
  });
}

// The host the shared e2e suite runs against: E2E_HOST=native runs it on the
// native server (build/native-release), anything else on `wrangler dev`.
// ./scripts/test runs the suite once for each.
export const HOST = process.env.E2E_HOST === 'native' ? 'native' : 'wrangler';

// Starts the relay under test on HOST: `config` is RELAY_CONFIG (an object),
// `vars` the secrets both hosts read from their environment (METRICS_TOKEN,
// ADMIN_PUBKEYS). Other options go to startRelay (wrangler) or startNative.
export async function startHost({ config, vars = {}, ...options } = {}) {
  if (HOST === 'native') {
    const env = { ...vars };
    if (config) env.RELAY_CONFIG = JSON.stringify(config);
    return startNative({ ...options, env: { ...env, ...(options.env ?? {}) } });
  }
  const args = [...(config ? relayConfigArgs(config) : []), ...Object.entries(vars).flatMap(([k, v]) => ['--var', `${k}:${v}`])];
  return startRelay({ ...options, extraArgs: [...args, ...(options.extraArgs ?? [])] });
}

// node:test options for a test of behaviour only one host has on purpose
// (hibernation, wrangler's own tooling): skipped on the other, saying why.
export const onlyOn = (host, why) => (HOST === host ? {} : { skip: `${host} only: ${why}` });

// A WebSocket client that keeps every received frame (text) in order.
export class RawClient {
  constructor(ws) {
    this.ws = ws;
    this.frames = []; // unconsumed { seq, text, msg, t } in arrival order
    this.seq = 0;
    this.waiters = new Set();
    this.closed = new Promise((resolve) => ws.addEventListener('close', (ev) => resolve({ code: ev.code, reason: ev.reason })));
    this.isClosed = false;
    this.closed.then(() => {
      this.isClosed = true;
      for (const w of [...this.waiters]) w();
    });
    ws.addEventListener('message', (ev) => {
      const text = typeof ev.data === 'string' ? ev.data : Buffer.from(ev.data).toString('utf8');
      let msg;
      try {
        msg = JSON.parse(text);
      } catch {
        msg = undefined;
      }
      this.frames.push({ seq: this.seq++, text, msg, t: performance.now() });
      for (const w of [...this.waiters]) w();
    });
  }

  // Opens a socket and waits for the relay's first frame (NIP-42 AUTH).
  static async connect(url, { timeoutMs = 10000, expectAuth = true } = {}) {
    const ws = await openSocket(url, timeoutMs);
    const c = new RawClient(ws);
    if (expectAuth) {
      const auth = await c.take(timeoutMs);
      c.authFrame = auth;
      c.challenge = Array.isArray(auth.msg) && auth.msg[0] === 'AUTH' ? auth.msg[1] : undefined;
    }
    return c;
  }

  send(m) {
    this.ws.send(typeof m === 'string' || m instanceof Uint8Array ? m : JSON.stringify(m));
  }

  // Removes and returns the first frame satisfying pred(msg, text); other
  // frames stay for later calls.
  next(pred, timeoutMs = 10000) {
    return new Promise((resolve, reject) => {
      let timer;
      const done = () => {
        clearTimeout(timer);
        this.waiters.delete(check);
      };
      const check = () => {
        const i = this.frames.findIndex((f) => pred(f.msg, f.text));
        if (i >= 0) {
          const [f] = this.frames.splice(i, 1);
          done();
          resolve(f);
          return true;
        }
        if (this.isClosed) {
          done();
          reject(new Error(`socket closed while waiting; unconsumed frames: ${this.pending().join(' | ').slice(0, 2000)}`));
          return true;
        }
        return false;
      };
      if (check()) return;
      timer = setTimeout(() => {
        done();
        reject(new Error(`timed out after ${timeoutMs} ms; unconsumed frames: ${this.pending().join(' | ').slice(0, 2000)}`));
      }, timeoutMs);
      this.waiters.add(check);
    });
  }

  // The first unconsumed frame, whatever it is.
  take(timeoutMs = 10000) {
    return this.next(() => true, timeoutMs);
  }

  // Unconsumed frames, as text.
  pending() {
    return this.frames.map((f) => f.text);
  }

  // REQ, then everything for that sub up to EOSE: { events, texts } (in order).
  async query(sub, ...filters) {
    const startSeq = this.seq;
    this.send(['REQ', sub, ...filters]);
    const end = await this.next((m) => Array.isArray(m) && (m[0] === 'EOSE' || m[0] === 'CLOSED') && m[1] === sub, 15000);
    if (end.msg[0] === 'CLOSED') throw new Error(`REQ ${sub} closed: ${end.text}`);
    const mine = (f) => f.seq >= startSeq && f.seq < end.seq && Array.isArray(f.msg) && f.msg[0] === 'EVENT' && f.msg[1] === sub;
    const got = this.frames.filter(mine);
    this.frames = this.frames.filter((f) => !mine(f));
    return { events: got.map((f) => f.msg[2]), texts: got.map((f) => f.text) };
  }

  // EVENT, then its OK: ["OK", id, bool, msg].
  async publish(event, timeoutMs = 15000) {
    this.send(['EVENT', event]);
    return (await this.next((m) => Array.isArray(m) && m[0] === 'OK' && m[1] === event.id, timeoutMs)).msg;
  }

  close() {
    if (this.ws.readyState === WebSocket.OPEN || this.ws.readyState === WebSocket.CONNECTING) this.ws.close();
    return this.closed;
  }
}

// The native server (server/, built by the native-release preset) on a free
// port with a fresh database (or `db`), configured by `env` (RELAY_CONFIG,
// ADMIN_PUBKEYS, ...) and `args`. Same interface as startRelay, plus
// `exited`: a promise of the exit code, and `signal(name)`.
export const NATIVE = join(ROOT, 'build/native-release/server/nostr-relay-server');
export async function startNative({ env = {}, args = [], db, timeoutMs = 10000 } = {}) {
  if (!existsSync(NATIVE)) throw new Error(`${NATIVE} is missing: build the native-release preset first (scripts/test or scripts/serve)`);
  const port = await freePort();
  const dir = db ? null : mkdtempSync(join(tmpdir(), 'nostr-relay-native-'));
  const database = db ?? join(dir, 'relay.sqlite3');
  const child = spawn(NATIVE, ['--port', String(port), '--db', database, ...args], {
    env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'],
  });
  let log = '';
  child.stdout.on('data', (d) => (log += d));
  child.stderr.on('data', (d) => (log += d));
  const exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve(code ?? signal)));
  const deadline = Date.now() + timeoutMs;
  while (!log.includes('listening on')) {
    if (child.exitCode !== null) throw new Error(`nostr-relay-server exited (${child.exitCode}):\n${log}`);
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`nostr-relay-server not ready after ${timeoutMs} ms:\n${log}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  const onExit = () => child.kill('SIGKILL');
  process.on('exit', onExit);
  return {
    url: `http://127.0.0.1:${port}`,
    wsUrl: `ws://127.0.0.1:${port}`,
    port,
    database,
    pid: child.pid,
    workerdPids: () => [child.pid], // the processes whose CPU counts as the relay's (one here)
    log: () => log,
    exited,
    signal: (name) => child.kill(name),
    stop: async () => {
      process.removeListener('exit', onExit);
      if (child.exitCode === null) child.kill('SIGTERM');
      await exited;
      if (dir) rmSync(dir, { recursive: true, force: true });
    },
  };
}
