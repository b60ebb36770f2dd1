// Moving events in and out of a relay through its HTTP API
// (scripts/relay-api.mjs), on HOST: the Cloudflare host's export and import.
// Export pages by `until` (with ties inside one second), newest first, byte
// for byte; import verifies every line and reports what became of it.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { finalizeEvent, generateSecretKey } from 'nostr-tools/pure';
import { NO_RATE_LIMITS, RawClient, runScript, startHost } from './harness.mjs';

const nowSec = () => Math.floor(Date.now() / 1000);

let relay;
before(async () => {
  relay = await startHost({ config: { rate_limits: NO_RATE_LIMITS } });
});
after(async () => {
  await relay?.stop();
});

const run = (args, input) => runScript('scripts/relay-api.mjs', args, input);

test('export: every matching event, newest first, byte-exact, across pages and seconds with many events', async () => {
  const sk = generateSecretKey();
  const tag = `export-${Date.now()}`;
  const base = nowSec() - 100;
  // 23 events over 5 seconds: 7 of them in one second, more than a page of 5.
  const events = [];
  for (let i = 0; i < 23; i++) {
    const t = base + (i < 7 ? 0 : Math.floor((i - 7) / 4) + 1);
    events.push(finalizeEvent({ kind: 1, created_at: t, tags: [['t', tag]], content: `e${i} "quoted" \\ é 🦩` }, sk));
  }
  const c = await RawClient.connect(relay.wsUrl);
  for (const e of events) assert.equal((await c.publish(e))[2], true);
  c.close();

  const { code, stdout, stderr } = await run(['export', relay.url, '--filter', JSON.stringify({ '#t': [tag] }), '--page', '8']);
  assert.equal(code, 0, stderr);
  const lines = stdout.split('\n').filter(Boolean);
  assert.equal(lines.length, 23, stderr);
  // Byte-exact: each line is the event as published.
  const byId = new Map(events.map((e) => [e.id, JSON.stringify(e)]));
  for (const l of lines) assert.equal(l, byId.get(JSON.parse(l).id));
  assert.equal(new Set(lines).size, 23);
  const times = lines.map((l) => JSON.parse(l).created_at);
  assert.deepEqual(times, [...times].sort((a, b) => b - a), 'newest first');
  assert.match(stderr, /exported 23 events/);

  // A page smaller than one second's events: said, not silently dropped.
  const small = await run(['export', relay.url, '--filter', JSON.stringify({ '#t': [tag] }), '--page', '5']);
  assert.equal(small.code, 0, small.stderr);
  assert.match(small.stderr, new RegExp(`possibly incomplete: .*created_at ${base}`));
});

test('import: accepted, duplicate and invalid lines are counted; imported events are served', async () => {
  const sk = generateSecretKey();
  const tag = `import-${Date.now()}`;
  // One clock reading: a second ticking over mid-loop gave two events the same
  // created_at, whose order is then by id (NIP-01), not the order written.
  const t0 = nowSec();
  const fresh = Array.from({ length: 12 }, (_, i) => finalizeEvent({ kind: 1, created_at: t0 - i, tags: [['t', tag]], content: `imported ${i}` }, sk));
  const forged = { ...fresh[0], content: 'changed after signing' };
  const input = [
    ...fresh.map((e) => JSON.stringify(e)),
    JSON.stringify(fresh[3]), // a duplicate
    JSON.stringify(forged), // id no longer matches
    '{"not":"an event"}',
    '',
  ].join('\n');
  const { code, stdout, stderr } = await run(['import', relay.url, '--concurrency', '4'], input);
  assert.equal(code, 0, stderr);
  assert.equal(stdout, '');
  const summary = JSON.parse(stderr.trim().split('\n').pop());
  assert.deepEqual(summary, { accepted: 12, duplicate: 1, invalid: 2, refused: 0, failed: 0 });
  assert.match(stderr, /invalid: invalid:/);

  const res = await fetch(`${relay.url}/api/v1/query`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify([{ '#t': [tag] }]) });
  const served = (await res.text()).split('\n').filter(Boolean);
  assert.deepEqual(served, fresh.map((e) => JSON.stringify(e)));
});
