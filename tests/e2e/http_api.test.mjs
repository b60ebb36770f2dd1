// The HTTP API on HOST (harness.mjs; ./scripts/test runs it on wrangler dev
// and on the native server): the same engine answers, so the same assertions
// hold. The Workers host forwards /api/v1/* from the Worker to the relay
// object; the native one serves it.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { finalizeEvent, generateSecretKey } from 'nostr-tools/pure';
import { HOST, NO_RATE_LIMITS, startHost } from './harness.mjs';

const CONFIG = { rate_limits: NO_RATE_LIMITS, banned_kinds: [4] };
const nowSec = () => Math.floor(Date.now() / 1000);
const sign = (sk, kind, content, tags = [], created_at = nowSec()) => finalizeEvent({ kind, created_at, tags, content }, sk);

{
  const name = HOST;
  describe(`HTTP API on ${name}`, () => {
    let relay;
    before(async () => {
      relay = await startHost({ config: CONFIG });
    });
    after(async () => {
      await relay?.stop();
    });
    const post = (path, body) =>
      fetch(`${relay.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });

    test('POST /api/v1/events, POST /api/v1/query (NDJSON), GET /api/v1/events/{id}', async () => {
      const sk = generateSecretKey();
      const a = sign(sk, 1, 'via http', [['t', `api-${name}`]], nowSec() - 1);
      const b = sign(sk, 1, 'second', [['t', `api-${name}`]]);
      for (const e of [a, b]) {
        const res = await post('/api/v1/events', JSON.stringify(e));
        assert.equal(res.status, 200);
        assert.equal(res.headers.get('access-control-allow-origin'), '*');
        assert.deepEqual(await res.json(), { id: e.id, accepted: true, message: '' });
      }
      const dup = await post('/api/v1/events', JSON.stringify(a));
      assert.equal(dup.status, 200);
      assert.match((await dup.json()).message, /^duplicate:/);

      const q = await post('/api/v1/query', JSON.stringify([{ '#t': [`api-${name}`] }]));
      assert.equal(q.status, 200);
      assert.match(q.headers.get('content-type'), /application\/x-ndjson/);
      const lines = (await q.text()).trim().split('\n');
      assert.deepEqual(lines.map((l) => JSON.parse(l).id), [b.id, a.id], 'newest first');

      const g = await fetch(`${relay.url}/api/v1/events/${a.id}`);
      assert.equal(g.status, 200);
      assert.deepEqual(await g.json(), JSON.parse(JSON.stringify(a)));
      assert.equal((await fetch(`${relay.url}/api/v1/events/${'0'.repeat(64)}`)).status, 404);
    });

    test('refusals carry NIP-01 reasons with fitting statuses', async () => {
      const sk = generateSecretKey();
      const e = sign(sk, 1, 'x');
      const bad = await post('/api/v1/events', JSON.stringify({ ...e, content: 'tampered' }));
      assert.equal(bad.status, 400);
      assert.match((await bad.json()).message, /^invalid: /);
      const blocked = await post('/api/v1/events', JSON.stringify(sign(sk, 4, 'dm')));
      assert.equal(blocked.status, 403);
      assert.match((await blocked.json()).message, /^blocked: kind 4/);
      assert.equal((await post('/api/v1/events', 'not json')).status, 400);
      const notArray = await post('/api/v1/query', JSON.stringify({ kinds: [1] }));
      assert.equal(notArray.status, 400);
      assert.match((await notArray.json()).error, /JSON array of one or more filters/);
      const badFilter = await post('/api/v1/query', JSON.stringify([{ kinds: ['x'] }]));
      assert.equal(badFilter.status, 400);
      assert.match((await badFilter.json()).error, /^invalid: kinds/);
      assert.equal((await fetch(`${relay.url}/api/v1/events/nothex`)).status, 400);
      assert.equal((await fetch(`${relay.url}/api/v1/elsewhere`)).status, 404);
      assert.equal((await fetch(`${relay.url}/api/v1/query`)).status, 405);
      const pre = await fetch(`${relay.url}/api/v1/query`, { method: 'OPTIONS' });
      assert.equal(pre.status, 204);
      assert.match(pre.headers.get('access-control-allow-methods'), /POST/);
    });
  });
}
