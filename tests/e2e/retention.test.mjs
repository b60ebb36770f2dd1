// Retention end to end on HOST: old notes are archived (local R2 on wrangler
// dev, files natively) and pruned on the relay's timer; scripts/restore-archive
// gives them back byte-exact, and importing them into another relay serves
// them again.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { finalizeEvent, generateSecretKey } from 'nostr-tools/pure';
import { HOST, NO_RATE_LIMITS, RawClient, runScript, startHost } from './harness.mjs';

const nowSec = () => Math.floor(Date.now() / 1000);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const RETENTION = { rules: [{ kinds: [1, 1], max_age_seconds: 3600 }], interval_seconds: 2 };

let relay;
let dir;
before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'nostr-retention-'));
  const config = { rate_limits: NO_RATE_LIMITS, retention: RETENTION };
  relay = HOST === 'native'
    ? await startHost({ config, db: join(dir, 'relay.sqlite3') })
    : await startHost({ config, persistTo: join(dir, 'state'), keepState: true });
});
after(async () => {
  await relay?.stop();
  rmSync(dir, { recursive: true, force: true });
});

test('old notes are archived, pruned, restored byte-exact and served again after import', { timeout: 120000 }, async () => {
  const sk = generateSecretKey();
  const c = await RawClient.connect(relay.wsUrl);
  const t = nowSec();
  const old = [
    finalizeEvent({ kind: 1, created_at: t - 3 * 86400, tags: [['t', 'old']], content: 'three days "old" é 🦩' }, sk),
    finalizeEvent({ kind: 1, created_at: t - 7200, tags: [], content: 'two hours old' }, sk),
    finalizeEvent({ kind: 1, created_at: t - 7100, tags: [], content: 'also two hours old\n\\' }, sk),
  ];
  const kept = [
    finalizeEvent({ kind: 1, created_at: t - 10, tags: [], content: 'fresh' }, sk),
    finalizeEvent({ kind: 7, created_at: t - 7200, tags: [], content: '+' }, sk), // kind 7: no rule
  ];
  for (const e of [...old, ...kept]) assert.equal((await c.publish(e))[2], true);
  // The relay's timer prunes them (first run ~2 s after the object started).
  const ids = [...old, ...kept].map((e) => e.id);
  let left;
  for (let i = 0; i < 60; i++) {
    left = (await c.query(`q${i}`, { ids })).events.map((e) => e.id);
    if (left.length === kept.length) break;
    await sleep(500);
  }
  assert.deepEqual(new Set(left), new Set(kept.map((e) => e.id)), 'old notes pruned, the rest kept');
  c.close();

  const source = HOST === 'native' ? ['--dir', join(dir, 'archive')] : ['--wrangler-state', join(dir, 'state')];
  const restored = await runScript('scripts/restore-archive.mjs', source);
  assert.equal(restored.code, 0, restored.stderr);
  const lines = restored.stdout.split('\n').filter(Boolean);
  assert.deepEqual(new Set(lines), new Set(old.map((e) => JSON.stringify(e))), 'byte-exact');
  assert.equal(lines.length, old.length);
  assert.match(restored.stderr, /restored 3 events from 2 archives/); // two UTC days

  // Into a relay without retention: served again, as they were.
  const other = await startHost({ config: { rate_limits: NO_RATE_LIMITS } });
  try {
    const imported = await runScript('scripts/relay-api.mjs', ['import', other.url], restored.stdout);
    assert.equal(imported.code, 0, imported.stderr);
    assert.match(imported.stderr, /"accepted":3/);
    const r = await RawClient.connect(other.wsUrl);
    const back = await r.query('back', { ids: old.map((e) => e.id) });
    assert.deepEqual(new Set(back.texts), new Set(old.map((e) => `["EVENT","back",${JSON.stringify(e)}]`)));
    r.close();
  } finally {
    await other.stop();
  }
});
