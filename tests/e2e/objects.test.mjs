// Several relay objects on `wrangler dev` (Cloudflare host only: the native
// server is one process). RELAY_CONFIG route_pinning lets each connection
// choose its object (?region=&shard=), so the whole design runs locally:
// summaries published in D1, events forwarded only to objects that may want
// them, each subscription getting each event once, interest dropping after
// CLOSE and disconnect, and an object that hibernated still receiving.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { finalizeEvent, generateSecretKey, getPublicKey } from 'nostr-tools/pure';
import { NO_RATE_LIMITS, RawClient, onlyOn, startHost } from './harness.mjs';

const TOKEN = 'objects-test-token';
const SHRINK = 2; // interest_shrink_seconds
const nowSec = () => Math.floor(Date.now() / 1000);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

describe('several relay objects', onlyOn('wrangler', 'relay objects are the Cloudflare host\'s; the native server is one process'), () => {
  let relay;
  before(async () => {
    relay = await startHost({
      config: { rate_limits: NO_RATE_LIMITS, shards: 2, route_pinning: true, interest_shrink_seconds: SHRINK },
      vars: { METRICS_TOKEN: TOKEN },
    });
  });
  after(async () => {
    await relay?.stop();
  });

  const at = (region, shard) => `${relay.wsUrl}/?region=${region}&shard=${shard}`;
  // A counter from one object's /metrics (the same pin chooses the object).
  async function metric(region, shard, name) {
    const res = await fetch(`${relay.url}/metrics?region=${region}&shard=${shard}`, { headers: { Authorization: `Bearer ${TOKEN}` } });
    assert.equal(res.status, 200);
    const line = (await res.text()).split('\n').find((l) => l.startsWith(`${name} `));
    return Number(line?.split(' ')[1] ?? NaN);
  }
  // Publishes on `client`, returning the OK.
  const publish = async (client, ev) => client.publish(ev);

  test('an event published on one object reaches subscribers on others live and stored, each once; only where wanted', async () => {
    const pub = await RawClient.connect(at('enam', 0));
    const asia = await RawClient.connect(at('apac', 0));
    const europe = await RawClient.connect(at('weur', 1));
    const bystander = await RawClient.connect(at('oc', 0));
    try {
      const sk = generateSecretKey();
      const tag = `objects-${Date.now()}`;
      await asia.query('live', { '#t': [tag] }); // EOSE: its interest is published
      europe.send(['REQ', 'authors', { authors: [getPublicKey(sk)], limit: 0 }]);
      await europe.next((m) => m?.[0] === 'EOSE' && m[1] === 'authors');
      await bystander.query('other', { '#t': ['nobody-publishes-this'] });
      const before = await metric('enam', 0, 'nostr_relay_forward_requests_total');
      const ev = finalizeEvent({ kind: 1, created_at: nowSec(), tags: [['t', tag]], content: 'across objects' }, sk);
      assert.deepEqual(await publish(pub, ev), ['OK', ev.id, true, '']);
      const a = await asia.next((m) => m?.[0] === 'EVENT' && m[1] === 'live');
      const e = await europe.next((m) => m?.[0] === 'EVENT' && m[1] === 'authors');
      assert.equal(a.text, `["EVENT","live",${JSON.stringify(ev)}]`);
      assert.equal(e.msg[2].id, ev.id);
      // Exactly two objects wanted it: two requests, not one per object.
      await sleep(300);
      const sent = (await metric('enam', 0, 'nostr_relay_forward_requests_total')) - before;
      assert.equal(sent, 2, 'forwarded to the two interested objects only');
      assert.equal(await metric('oc', 0, 'nostr_relay_delivered_events_total'), 0);
      // No second copy arrives (next() consumed the first).
      await sleep(500);
      for (const c of [asia, europe]) assert.equal(c.frames.filter((f) => f.msg?.[0] === 'EVENT' && f.msg[2]?.id === ev.id).length, 0);
      // Stored: D1 is shared, any object answers a REQ.
      const stored = await bystander.query('stored', { ids: [ev.id] });
      assert.deepEqual(stored.events.map((x) => x.id), [ev.id]);
    } finally {
      for (const c of [pub, asia, europe, bystander]) c.close();
    }
  });

  test('after CLOSE and after disconnect, an object stops receiving forwards', async () => {
    const pub = await RawClient.connect(at('enam', 1));
    const sub = await RawClient.connect(at('eeur', 0));
    const sk = generateSecretKey();
    const tag = `close-${Date.now()}`;
    await sub.query('s', { '#t': [tag] });
    const first = finalizeEvent({ kind: 1, created_at: nowSec(), tags: [['t', tag]], content: 'wanted' }, sk);
    assert.equal((await publish(pub, first))[2], true);
    await sub.next((m) => m?.[0] === 'EVENT' && m[2]?.id === first.id);
    sub.send(['CLOSE', 's']);
    await sleep((SHRINK + 1) * 1000);
    // Activity on that object publishes its smaller summary.
    await sub.query('ping', { ids: ['0'.repeat(64)] });
    const before = await metric('enam', 1, 'nostr_relay_forward_requests_total');
    const second = finalizeEvent({ kind: 1, created_at: nowSec(), tags: [['t', tag]], content: 'no longer wanted' }, sk);
    assert.equal((await publish(pub, second))[2], true);
    await sleep(300);
    assert.equal((await metric('enam', 1, 'nostr_relay_forward_requests_total')) - before, 0);

    // Disconnect: the same, for a subscription whose socket went away.
    const sub2 = await RawClient.connect(at('afr', 1));
    const tag2 = `${tag}-2`;
    await sub2.query('s', { '#t': [tag2] });
    sub2.close();
    await sleep((SHRINK + 1) * 1000);
    const poke = await RawClient.connect(at('afr', 1)); // activity on that object
    await poke.query('p', { ids: ['0'.repeat(64)] });
    const before2 = await metric('enam', 1, 'nostr_relay_forward_requests_total');
    const third = finalizeEvent({ kind: 1, created_at: nowSec(), tags: [['t', tag2]], content: 'nobody left' }, sk);
    assert.equal((await publish(pub, third))[2], true);
    await sleep(300);
    assert.equal((await metric('enam', 1, 'nostr_relay_forward_requests_total')) - before2, 0);
    for (const c of [pub, sub, poke]) c.close();
  });

  test('an object that hibernated still gets what its subscriptions want', { timeout: 60000 }, async () => {
    const sub = await RawClient.connect(at('sam', 0));
    const sk = generateSecretKey();
    const tag = `nap-${Date.now()}`;
    await sub.query('s', { '#t': [tag] });
    const wakes = await metric('sam', 0, 'nostr_relay_hibernation_wakes_total');
    await sleep(13000); // idle: local workerd hibernates the object after ~10 s
    const pub = await RawClient.connect(at('wnam', 0));
    const ev = finalizeEvent({ kind: 1, created_at: nowSec(), tags: [['t', tag]], content: 'wake up' }, sk);
    assert.equal((await publish(pub, ev))[2], true);
    const got = await sub.next((m) => m?.[0] === 'EVENT' && m[1] === 's');
    assert.equal(got.msg[2].id, ev.id);
    assert.ok(await metric('sam', 0, 'nostr_relay_hibernation_wakes_total') > wakes, 'the object hibernated and woke');
    sub.close();
    pub.close();
  });

  test('read your writes: a REQ right after the OK finds the event, on the same object and on another', async () => {
    const here = await RawClient.connect(at('me', 0));
    const there = await RawClient.connect(at('oc', 1));
    const sk = generateSecretKey();
    for (let i = 0; i < 5; i++) {
      const ev = finalizeEvent({ kind: 1, created_at: nowSec(), tags: [], content: `ryw ${i}` }, sk);
      assert.equal((await publish(here, ev))[2], true);
      for (const c of [here, there]) {
        const r = await c.query(`ryw${i}`, { ids: [ev.id] });
        assert.deepEqual(r.events.map((x) => x.id), [ev.id]);
      }
    }
    here.close();
    there.close();
  });

  test('the workerd log shows no failed forward or engine failure', () => {
    const log = relay.log();
    for (const bad of ['forward to another relay object failed', 'relay engine failed', 'Uncaught']) {
      assert.ok(!log.includes(bad), `log contains "${bad}":\n${log.slice(Math.max(0, log.indexOf(bad) - 500), log.indexOf(bad) + 1500)}`);
    }
  });
});
