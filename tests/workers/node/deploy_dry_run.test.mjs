// `wrangler deploy --dry-run` bundles the Worker offline, wasm included.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

test('wrangler deploy --dry-run --outdir bundles worker.js and the wasm module', () => {
  const out = mkdtempSync(join(tmpdir(), 'nostr-dist-'));
  try {
    const r = spawnSync(join(ROOT, 'node_modules/.bin/wrangler'), ['deploy', '--dry-run', '--outdir', out], {
      cwd: ROOT,
      encoding: 'utf8',
      timeout: 120000,
      env: {
        ...process.env,
        PATH: `${join(ROOT, 'node_modules/.bin')}:${process.env.PATH}`,
        WRANGLER_SEND_METRICS: 'false', WRANGLER_HIDE_BANNER: 'true', CLOUDFLARE_CF_FETCH_ENABLED: 'false',
        WRANGLER_SEND_ERROR_REPORTS: 'false', DO_NOT_TRACK: '1', X_LOCAL_OBSERVABILITY: 'false', X_LOCAL_EXPLORER: 'false',
        XDG_CONFIG_HOME: join(ROOT, '.wrangler/xdg-config'), WRANGLER_LOG_PATH: join(ROOT, '.wrangler/logs'),
      },
    });
    assert.equal(r.status, 0, `wrangler deploy --dry-run failed:\n${r.stdout}\n${r.stderr}`);
    assert.match(r.stdout, /env\.RELAY \(RelayDurableObject\)/);
    assert.match(r.stdout, /env\.DB \(nostr-relay\)/);
    const files = readdirSync(out);
    assert.ok(files.includes('worker.js'), `no worker.js in ${files}`);
    const wasm = files.filter((f) => f.endsWith('.wasm'));
    assert.equal(wasm.length, 1, `expected one .wasm in ${files}`);
    const built = readFileSync(join(ROOT, 'build/wasm-wasi/nostr_relay.wasm'));
    assert.equal(statSync(join(out, wasm[0])).size, built.length, 'bundled wasm differs from the build');
    assert.ok(readFileSync(join(out, 'worker.js'), 'utf8').includes(wasm[0]), 'worker.js does not import the wasm module');
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});
