// scripts/dev hands wrangler exactly one --port/--ip/--persist-to, taken from
// its options or PORT. Runs the real script from a scratch copy of the repo
// layout where scripts/setup, cmake and wrangler are stubs that record their
// arguments.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

function stub(path, body) {
  writeFileSync(path, `#!/usr/bin/env bash\n${body}\n`);
  chmodSync(path, 0o755);
}

// Runs scripts/dev with `args` (and extra env); returns { status, stderr,
// calls: [[command, arg..] per setup/cmake/wrangler invocation] }.
function runDev(args, env = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'nostr-dev-'));
  try {
    for (const d of ['scripts', 'bin', 'node_modules/.bin']) mkdirSync(join(dir, d), { recursive: true });
    copyFileSync(join(ROOT, 'scripts/dev'), join(dir, 'scripts/dev'));
    chmodSync(join(dir, 'scripts/dev'), 0o755);
    const log = join(dir, 'calls.log');
    // One line per invocation: the command and its arguments, NUL-separated.
    const record = (name) => `printf '%s\\0' ${name} "$@" >> '${log}'; printf '\\n' >> '${log}'`;
    stub(join(dir, 'scripts/setup'), record('setup'));
    stub(join(dir, 'bin/cmake'), record('cmake'));
    stub(join(dir, 'node_modules/.bin/wrangler'), record('wrangler'));
    const { PORT: _, ...base } = process.env;
    const r = spawnSync(join(dir, 'scripts/dev'), args, {
      encoding: 'utf8',
      timeout: 30000,
      env: { ...base, PATH: `${join(dir, 'bin')}:${process.env.PATH}`, ...env },
    });
    let calls = [];
    try {
      calls = readFileSync(log, 'utf8').split('\n').filter(Boolean).map((l) => l.split('\0').slice(0, -1));
    } catch {
      // nothing ran
    }
    return { status: r.status, stderr: r.stderr, calls };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

// The values of every `name` option in a wrangler dev argument list.
const values = (argv, name) => argv.flatMap((a, i) => (a === name ? [argv[i + 1]] : a.startsWith(`${name}=`) ? [a.slice(name.length + 1)] : []));

function devCall(r) {
  assert.equal(r.status, 0, r.stderr);
  const dev = r.calls.find((c) => c[0] === 'wrangler' && c[1] === 'dev');
  assert.ok(dev, `no wrangler dev call in ${JSON.stringify(r.calls)}`);
  return dev.slice(1);
}

test('defaults: port 8787 on 127.0.0.1, state in .wrangler/state', () => {
  const dev = devCall(runDev([]));
  assert.deepEqual(values(dev, '--port'), ['8787']);
  assert.deepEqual(values(dev, '--ip'), ['127.0.0.1']);
  assert.deepEqual(values(dev, '--persist-to'), ['.wrangler/state']);
});

test('--port N and --port=N are passed once', () => {
  assert.deepEqual(values(devCall(runDev(['--port', '9000'])), '--port'), ['9000']);
  assert.deepEqual(values(devCall(runDev(['--port=9001'])), '--port'), ['9001']);
});

test('PORT sets the port; --port wins over it', () => {
  assert.deepEqual(values(devCall(runDev([], { PORT: '9100' })), '--port'), ['9100']);
  assert.deepEqual(values(devCall(runDev(['--port', '9200'], { PORT: '9100' })), '--port'), ['9200']);
});

test('--ip and --persist-to are passed once; migrations use the same state directory', () => {
  const r = runDev(['--ip', '0.0.0.0', '--persist-to=/tmp/relay-state', '--log-level', 'debug']);
  const dev = devCall(r);
  assert.deepEqual(values(dev, '--ip'), ['0.0.0.0']);
  assert.deepEqual(values(dev, '--persist-to'), ['/tmp/relay-state']);
  assert.deepEqual(values(dev, '--log-level'), ['debug'], 'other arguments go to wrangler dev as is');
  const migrate = r.calls.find((c) => c[0] === 'wrangler' && c[1] === 'd1');
  assert.deepEqual(values(migrate, '--persist-to'), ['/tmp/relay-state']);
});

test('a bad port or a missing value fails before building anything', () => {
  for (const args of [['--port', 'abc'], ['--port', '70000'], ['--port'], ['--port=']]) {
    const r = runDev(args);
    assert.equal(r.status, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, /scripts\/dev: /);
    assert.deepEqual(r.calls, [], 'neither setup, cmake nor wrangler may run');
  }
});
