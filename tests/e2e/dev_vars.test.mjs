// README's local command with a .dev.vars: `./scripts/dev` picks up
// ADMIN_PUBKEYS (and METRICS_TOKEN) from it and serves the NIP-86 management
// API and /metrics. Runs the real script; a developer's own .dev.vars is set
// aside for the test and put back afterwards.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { getToken } from 'nostr-tools/nip98';
import { finalizeEvent, generateSecretKey, getPublicKey } from 'nostr-tools/pure';
import { ROOT, freePort, offlineEnv, onlyOn } from './harness.mjs';

const SK = generateSecretKey();
const VARS = join(ROOT, '.dev.vars');
const SAVED = join(ROOT, '.dev.vars.saved-by-test');
let child;
let port;
let state;
let log = '';

describe('scripts/dev', onlyOn('wrangler', 'scripts/dev runs wrangler dev'), () => {
  before(async () => {
    if (existsSync(VARS)) renameSync(VARS, SAVED);
    writeFileSync(VARS, `ADMIN_PUBKEYS=${getPublicKey(SK)}\nMETRICS_TOKEN=dev-vars-token\n`);
    state = mkdtempSync(join(tmpdir(), 'nostr-dev-vars-'));
    port = await freePort();
    child = spawn(join(ROOT, 'scripts/dev'), ['--port', String(port), '--persist-to', state, '--log-level', 'warn'], {
      cwd: ROOT, env: offlineEnv(), stdio: ['ignore', 'pipe', 'pipe'], detached: true,
    });
    child.stdout.on('data', (d) => (log += d));
    child.stderr.on('data', (d) => (log += d));
    const deadline = Date.now() + 240000;
    for (;;) {
      if (child.exitCode !== null) throw new Error(`scripts/dev exited ${child.exitCode}:\n${log.slice(-4000)}`);
      try {
        if ((await fetch(`http://127.0.0.1:${port}/health`)).status === 200) break;
      } catch {
        // not listening yet
      }
      if (Date.now() > deadline) throw new Error(`scripts/dev not ready in 240 s:\n${log.slice(-4000)}`);
      await new Promise((r) => setTimeout(r, 500));
    }
  });

  after(async () => {
    if (child && child.exitCode === null) {
      try {
        process.kill(-child.pid, 'SIGTERM');
      } catch {
        // gone
      }
      await new Promise((r) => child.once('exit', r));
    }
    rmSync(VARS, { force: true });
    if (existsSync(SAVED)) renameSync(SAVED, VARS);
    if (state) rmSync(state, { recursive: true, force: true });
  });

  test('./scripts/dev with ADMIN_PUBKEYS in .dev.vars serves the management API', async () => {
    const url = `http://127.0.0.1:${port}/`;
    const payload = { method: 'supportedmethods', params: [] };
    const token = await getToken(url, 'POST', (e) => finalizeEvent(e, SK), true, payload);
    const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/nostr+json+rpc', authorization: token }, body: JSON.stringify(payload) });
    const body = await res.json();
    assert.equal(res.status, 200, JSON.stringify(body));
    assert.ok(body.result.includes('banpubkey'));
    // Another key is not an administrator.
    const other = await getToken(url, 'POST', (e) => finalizeEvent(e, generateSecretKey()), true, payload);
    const refused = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/nostr+json+rpc', authorization: other }, body: JSON.stringify(payload) });
    assert.equal(refused.status, 401);
    // METRICS_TOKEN from the same file.
    const metrics = await fetch(`${url}metrics`, { headers: { authorization: 'Bearer dev-vars-token' } });
    assert.equal(metrics.status, 200);
  });
});
