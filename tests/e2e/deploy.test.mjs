// Deploying takes no hand edit: the shipped wrangler.toml carries no
// placeholder (no all-zero database id, no loopback relay_url, no "REPLACE"
// or "your-..." values), and `scripts/deploy --dry-run` builds the bundle
// wrangler would upload, offline (docs/deploy.md).
//
// Host-independent (wrangler.toml and wrangler's own tooling): runs in the
// wrangler pass of the suite only. Builds nothing: `--no-build` uses the
// build/wasm-wasi/nostr_relay.wasm that scripts/test built.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { ROOT, WASM, offlineEnv, onlyOn } from './harness.mjs';

const ONLY = onlyOn('wrangler', 'wrangler.toml and scripts/deploy do not depend on the host under test');
const CONFIG = join(ROOT, 'wrangler.toml');

const ZERO_UUID = /0{8}-0{4}-0{4}-0{4}-0{12}/;
// Values a deployer would have to replace by hand.
const PLACEHOLDERS = [/REPLACE/, /CHANGE[_ -]?ME/i, /\byour[-_]/i, /<[^<>]*>/, /\bTODO\b/, /\bFIXME\b/, /\bx{4,}\b/i];
const LOOPBACK = new Set(['localhost', '127.0.0.1', '[::1]', '::1', '0.0.0.0']);

// Every string value in a parsed config, with its path (a.b[2].c).
function* strings(value, path = '') {
  if (typeof value === 'string') yield [path, value];
  else if (Array.isArray(value)) for (const [i, v] of value.entries()) yield* strings(v, `${path}[${i}]`);
  else if (value && typeof value === 'object') for (const [k, v] of Object.entries(value)) yield* strings(v, path ? `${path}.${k}` : k);
}

describe('the shipped wrangler.toml deploys as is', ONLY, () => {
  // wrangler's own reader: the TOML as wrangler parses it (raw), and the
  // validated configuration it deploys (unstable_readConfig throws on errors;
  // hideWarnings, as warnings about unknown fields start an update check).
  let wrangler;
  const load = () => (wrangler ??= createRequire(import.meta.url)(join(ROOT, 'node_modules/wrangler')));
  const raw = () => load().experimental_readRawConfig({ config: CONFIG }).rawConfig;
  let validated;
  const config = () => (validated ??= load().unstable_readConfig({ config: CONFIG }, { hideWarnings: true }));

  test('no placeholder value anywhere in it', () => {
    const found = [];
    for (const [path, s] of strings(raw())) {
      if (ZERO_UUID.test(s)) found.push(`${path} = ${JSON.stringify(s)} (all-zero uuid)`);
      for (const p of PLACEHOLDERS) if (p.test(s)) found.push(`${path} = ${JSON.stringify(s)} (${p})`);
    }
    assert.deepEqual(found, []);
  });

  test('D1: binding DB found by database_name (no database_id to paste), with its migrations', () => {
    const dbs = config().d1_databases;
    const db = dbs.find((d) => d.binding === 'DB');
    assert.ok(db, `no DB binding in ${JSON.stringify(dbs)}`);
    assert.ok(db.database_name, 'database_name: what wrangler deploy provisions and d1 --remote looks up');
    assert.equal(db.migrations_dir, 'migrations');
    // Provisioned on deploy; an id here must at least not be a placeholder.
    assert.ok(db.database_id === undefined || !ZERO_UUID.test(db.database_id), `database_id ${db.database_id}`);
    assert.equal(db.preview_database_id, undefined);
  });

  test('R2: the archive bucket is named (wrangler deploy creates it when absent)', () => {
    const bucket = config().r2_buckets.find((b) => b.binding === 'ARCHIVE');
    assert.ok(bucket?.bucket_name, JSON.stringify(config().r2_buckets));
  });

  test('RELAY_CONFIG: relay_url unset or a public address', () => {
    let rc = config().vars.RELAY_CONFIG;
    assert.ok(rc, 'RELAY_CONFIG in [vars]');
    if (typeof rc === 'string') rc = JSON.parse(rc);
    if (rc.relay_url === undefined) return; // AUTH accepts the host the client connected to
    assert.match(rc.relay_url, /^wss?:\/\//);
    const host = new URL(rc.relay_url).hostname;
    assert.ok(!LOOPBACK.has(host) && !host.startsWith('127.') && !host.endsWith('.localhost'), `relay_url ${rc.relay_url} is a loopback address`);
  });
});

test('scripts/deploy --dry-run --no-build: offline, bundles the worker and the wasm module', ONLY, () => {
  const outdir = mkdtempSync(join(tmpdir(), 'deploy-test-'));
  try {
    // stdin closed: nothing may wait for an answer. offlineEnv: no account,
    // no config outside the repository (the script sets the same again).
    const run = spawnSync(join(ROOT, 'scripts/deploy'), ['--dry-run', '--no-build', '--outdir', outdir], {
      cwd: ROOT, env: offlineEnv(), encoding: 'utf8', timeout: 180000, stdio: ['ignore', 'pipe', 'pipe'],
    });
    const out = `${run.stdout}\n${run.stderr}`;
    assert.equal(run.status, 0, out);
    assert.match(out, /--dry-run: exiting now/, 'wrangler deploy ran as a dry run');
    assert.match(out, /not run \(--dry-run/);
    assert.match(out, /wrangler d1 migrations apply DB --remote/);
    assert.match(out, /0001_init\.sql/, 'lists the migrations it would apply');

    const files = readdirSync(outdir);
    assert.ok(files.includes('worker.js'), `worker entry in ${files}`);
    const wasmFiles = files.filter((f) => f.endsWith('.wasm'));
    assert.equal(wasmFiles.length, 1, `one wasm module in ${files}`);
    // The module the build produced, byte for byte, and the entry imports it.
    assert.ok(readFileSync(join(outdir, wasmFiles[0])).equals(readFileSync(WASM)), 'bundled wasm = build/wasm-wasi/nostr_relay.wasm');
    const worker = readFileSync(join(outdir, 'worker.js'), 'utf8');
    assert.ok(worker.includes(wasmFiles[0]), `worker.js imports ${wasmFiles[0]}`);
    assert.match(worker, /\bRelayDurableObject\b/, 'the Durable Object class is in the bundle');
  } finally {
    rmSync(outdir, { recursive: true, force: true });
  }
});
