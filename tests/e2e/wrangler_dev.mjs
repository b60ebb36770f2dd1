// Starts the relay with `wrangler dev` (offline, node 22) on a free loopback
// port with its own state directory; for end-to-end tests with real clients.
//
//   const dev = await startWranglerDev();   // { url, wsUrl, stop() }
//
// Needs build/wasm-wasi/nostr_relay.wasm (scripts/dev or scripts/test build it).
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const BIN = join(ROOT, 'node_modules/.bin');

export function offlineEnv() {
  return {
    ...process.env,
    PATH: `${BIN}:${process.env.PATH}`,
    WRANGLER_SEND_METRICS: 'false', WRANGLER_HIDE_BANNER: 'true', CLOUDFLARE_CF_FETCH_ENABLED: 'false',
    WRANGLER_SEND_ERROR_REPORTS: 'false', DO_NOT_TRACK: '1', X_LOCAL_OBSERVABILITY: 'false', X_LOCAL_EXPLORER: 'false',
    XDG_CONFIG_HOME: join(ROOT, '.wrangler/xdg-config'), WRANGLER_LOG_PATH: join(ROOT, '.wrangler/logs'),
  };
}

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

export async function startWranglerDev({ timeoutMs = 60000 } = {}) {
  const env = offlineEnv();
  const state = mkdtempSync(join(tmpdir(), 'nostr-relay-state-'));
  const mig = spawnSync(join(BIN, 'wrangler'), ['d1', 'migrations', 'apply', 'DB', '--local', '--persist-to', state], {
    cwd: ROOT, env, encoding: 'utf8', timeout: 120000,
  });
  if (mig.status !== 0) throw new Error(`d1 migrations apply failed:\n${mig.stdout}\n${mig.stderr}`);

  const port = await freePort();
  const child = spawn(join(BIN, 'wrangler'),
    ['dev', '--local', '--ip', '127.0.0.1', '--port', String(port), '--persist-to', state, '--show-interactive-dev-session=false'],
    { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  let log = '';
  child.stdout.on('data', (d) => (log += d));
  child.stderr.on('data', (d) => (log += d));
  const exited = new Promise((resolve) => child.once('exit', resolve));

  const stop = async () => {
    if (child.exitCode === null) {
      try {
        process.kill(-child.pid, 'SIGTERM'); // wrangler and its workerd child (own process group)
      } catch {
        // already gone
      }
      const t = setTimeout(() => {
        try {
          process.kill(-child.pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }, 5000);
      await exited;
      clearTimeout(t);
    }
    rmSync(state, { recursive: true, force: true });
  };

  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`wrangler dev exited (${child.exitCode}):\n${log}`);
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
  return { url, wsUrl: `ws://127.0.0.1:${port}`, port, stop, log: () => log };
}
