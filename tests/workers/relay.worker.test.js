// (b) the relay over WebSockets through the Worker and the Durable Object,
// with events stored in D1; (c) subscriptions surviving hibernation.
import { evictDurableObject, runInDurableObject } from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import { finalizeEvent, generateSecretKey } from 'nostr-tools/pure';
import { afterEach, describe, expect, it } from 'vitest';
import { TestClient } from './relay_client.js';

const open = [];
async function client() {
  const c = await TestClient.connect();
  open.push(c);
  return c;
}
afterEach(() => {
  for (const c of open.splice(0)) c.close();
});

// The object the Worker routes these requests to (edge/route.h): no
// request.cf in tests, so RELAY_CONFIG's default_region, shard 0.
const relayStub = () => env.RELAY.get(env.RELAY.idFromName('relay:enam:0'));
const nowSec = () => Math.floor(Date.now() / 1000);

function signed(fields = {}, sk = generateSecretKey()) {
  return finalizeEvent({ kind: 1, created_at: nowSec(), tags: [], content: 'hello from workerd', ...fields }, sk);
}
// The exact JSON a client would send (finalizeEvent adds a symbol-keyed flag).
const wire = (ev) => JSON.parse(JSON.stringify(ev));

async function publish(c, ev) {
  c.send(['EVENT', wire(ev)]);
  return c.next((m) => m[0] === 'OK' && m[1] === ev.id);
}

describe('relay over WebSocket', () => {
  it('publishes an event, serves it back to a REQ and stores it in D1', async () => {
    const c = await client();
    const ev = signed();
    const ok = await publish(c, ev);
    expect(ok[2], JSON.stringify(ok)).toBe(true);

    c.send(['REQ', 'q1', { ids: [ev.id] }]);
    const got = await c.next((m) => m[1] === 'q1');
    expect(got[0]).toBe('EVENT');
    expect(got[2]).toEqual(wire(ev));
    const eose = await c.next((m) => m[1] === 'q1');
    expect(eose).toEqual(['EOSE', 'q1']);

    const row = await env.DB.prepare('SELECT id, pubkey, kind, created_at, raw FROM events WHERE id = ?').bind(ev.id).first();
    expect(row).not.toBeNull();
    expect(row.pubkey).toBe(ev.pubkey);
    expect(row.kind).toBe(1);
    expect(row.created_at).toBe(ev.created_at);
    expect(JSON.parse(row.raw)).toEqual(wire(ev));
  });

  it('publishing the same event twice is OK true (duplicate)', async () => {
    const c = await client();
    const ev = signed();
    expect((await publish(c, ev))[2]).toBe(true);
    const again = await publish(c, ev);
    expect(again[2]).toBe(true);
    expect(again[3]).toMatch(/^duplicate:/);
  });

  it('refuses a forged event with OK false', async () => {
    const c = await client();
    const ev = wire(signed());
    ev.content = 'tampered';
    c.send(['EVENT', ev]);
    const ok = await c.next((m) => m[0] === 'OK' && m[1] === ev.id);
    expect(ok[2]).toBe(false);
    expect(ok[3]).toMatch(/^invalid:/);
    const row = await env.DB.prepare('SELECT id FROM events WHERE id = ?').bind(ev.id).first();
    expect(row).toBeNull();
  });

  it('answers garbage text and binary frames with NOTICE, never silently', async () => {
    const c = await client();
    c.send('this is not json');
    await c.nextOf('NOTICE');
    c.send(new TextEncoder().encode('["REQ"').buffer);
    await c.nextOf('NOTICE');
    c.send(new Uint8Array([0xff, 0xfe, 0x00, 0x5b]));
    await c.nextOf('NOTICE');
    // The socket still works afterwards.
    c.send(['REQ', 'after', { kinds: [1], limit: 0 }]);
    expect(await c.next((m) => m[1] === 'after')).toEqual(['EOSE', 'after']);
  });

  it('streams a live event to another socket exactly once, and CLOSE ends the subscription', async () => {
    const sk = generateSecretKey();
    const author = signed({}, sk).pubkey;
    const sub = await client();
    sub.send(['REQ', 'live', { authors: [author] }]);
    expect(await sub.next((m) => m[1] === 'live')).toEqual(['EOSE', 'live']);

    const pub = await client();
    const ev = signed({ content: 'live' }, sk);
    expect((await publish(pub, ev))[2]).toBe(true);
    const live = await sub.next((m) => m[1] === 'live');
    expect(live).toEqual(['EVENT', 'live', wire(ev)]);
    await sub.expectNone((m) => m[1] === 'live');

    sub.send(['CLOSE', 'live']);
    const ev2 = signed({ content: 'after close' }, sk);
    expect((await publish(pub, ev2))[2]).toBe(true);
    await sub.expectNone((m) => m[0] === 'EVENT' && m[1] === 'live');
  });

  it('a closed socket is forgotten by the engine', async () => {
    const stub = relayStub();
    const c = await client();
    c.send(['REQ', 'x', { kinds: [1], limit: 0 }]);
    await c.next((m) => m[1] === 'x');
    const count = () => runInDurableObject(stub, (obj) => obj.engine.connectionCount());
    const before = await count();
    c.close();
    for (let i = 0; i < 50 && (await count()) >= before; i++) await new Promise((r) => setTimeout(r, 20));
    expect(await count()).toBe(before - 1);
  });
});

describe('D1', () => {
  it('the object reads and writes through one D1 session whose bookmark it keeps (read replication)', async () => {
    const c = await client();
    const ev = signed({ content: 'bookmarked' });
    expect((await publish(c, ev))[2]).toBe(true);
    const saved = await runInDurableObject(relayStub(), (obj, ctx) => [...ctx.storage.sql.exec('SELECT bookmark FROM glue_d1_bookmark').raw()]);
    expect(saved.length).toBe(1);
    expect(typeof saved[0][0]).toBe('string');
    expect(saved[0][0].length).toBeGreaterThan(0);
    // A REQ right after the OK reads that write.
    c.send(['REQ', 'ryw', { ids: [ev.id] }]);
    expect((await c.next((m) => m[1] === 'ryw'))[2]?.id).toBe(ev.id);
  });

  it('concurrent publishes from several sockets all complete', async () => {
    const clients = await Promise.all([0, 1, 2, 3].map(() => client()));
    const events = clients.map((_, i) => signed({ content: `concurrent ${i}` }));
    const oks = await Promise.all(clients.map((c, i) => publish(c, events[i])));
    expect(oks.map((m) => m[2])).toEqual([true, true, true, true]);
    const ids = events.map((e) => e.id);
    const { results } = await env.DB.prepare(`SELECT id FROM events WHERE id IN (${ids.map(() => '?').join(',')})`).bind(...ids).all();
    expect(results.map((r) => r.id).sort()).toEqual([...ids].sort());
  });

  it('a failing D1 batch becomes OK false, and the relay recovers', async () => {
    const c = await client();
    await env.DB.exec('ALTER TABLE events RENAME TO events_away');
    try {
      const ev = signed({ content: 'D1 is down' });
      const ok = await publish(c, ev);
      expect(ok[2]).toBe(false);
      expect(ok[3]).toMatch(/^error:/);
    } finally {
      await env.DB.exec('ALTER TABLE events_away RENAME TO events');
    }
    const ev = signed({ content: 'D1 is back' });
    expect((await publish(c, ev))[2]).toBe(true);
  });
});

describe('hibernation', () => {
  it('a subscription survives eviction of the Durable Object', async () => {
    const stub = relayStub();
    const sk = generateSecretKey();
    const author = signed({}, sk).pubkey;

    const sub = await client();
    sub.send(['REQ', 'sleepy', { authors: [author], kinds: [1] }]);
    expect(await sub.next((m) => m[1] === 'sleepy')).toEqual(['EOSE', 'sleepy']);

    const marker = await runInDurableObject(stub, (obj) => (obj.marker = Math.random()));
    await evictDurableObject(stub);

    // A second socket wakes the object (constructor: reopen + restore) and publishes.
    const pub = await client();
    const fresh = await runInDurableObject(stub, (obj) => ({
      marker: obj.marker,
      subs: obj.engine.subscriptionCount(),
      conns: obj.engine.connectionCount(),
    }));
    expect(fresh.marker).not.toBe(marker); // really a new instance
    expect(fresh.subs).toBeGreaterThanOrEqual(1);
    expect(fresh.conns).toBeGreaterThanOrEqual(2);

    const ev = signed({ content: 'while you were sleeping' }, sk);
    expect((await publish(pub, ev))[2]).toBe(true);
    expect(await sub.next((m) => m[1] === 'sleepy')).toEqual(['EVENT', 'sleepy', wire(ev)]);

    // The woken socket keeps working for new requests too.
    sub.send(['REQ', 'again', { ids: [ev.id] }]);
    expect(await sub.next((m) => m[1] === 'again')).toEqual(['EVENT', 'again', wire(ev)]);
    expect(await sub.next((m) => m[1] === 'again')).toEqual(['EOSE', 'again']);
  });

  it('NIP-42 authentication (the ATTACH state) survives eviction', async () => {
    const stub = relayStub();
    const sk = generateSecretKey();
    const c = await client();
    const [, challenge] = await c.nextOf('AUTH');
    expect(typeof challenge).toBe('string');
    expect(challenge.length).toBeGreaterThanOrEqual(16);

    // NIP-70: a protected event needs its author to be authenticated.
    const early = signed({ tags: [['-']], content: 'protected, before auth' }, sk);
    const refused = await publish(c, early);
    expect(refused[2]).toBe(false);
    expect(refused[3]).toMatch(/^auth-required:/);

    const auth = signed({ kind: 22242, tags: [['relay', 'ws://relay.test'] /* the host the client reached (relay_url unset) */, ['challenge', challenge]], content: '' }, sk);
    c.send(['AUTH', wire(auth)]);
    const authOk = await c.next((m) => m[0] === 'OK' && m[1] === auth.id);
    expect(authOk[2], JSON.stringify(authOk)).toBe(true);

    await evictDurableObject(stub);

    const late = signed({ tags: [['-']], content: 'protected, after auth and hibernation' }, sk);
    const accepted = await publish(c, late);
    expect(accepted[2], JSON.stringify(accepted)).toBe(true);
  });

  it('each wake frees the evicted instance\'s engine (no wasm heap growth per hibernation)', async () => {
    const stub = relayStub();
    const c = await client();
    const engines = [];
    for (let i = 0; i < 6; i++) {
      c.send(['REQ', `w${i}`, { kinds: [1], limit: 0 }]);
      expect(await c.next((m) => m[1] === `w${i}`)).toEqual(['EOSE', `w${i}`]);
      engines.push(await runInDurableObject(stub, (obj) => `${obj.engine.generation}:${obj.engine.relay}`));
      await evictDurableObject(stub);
    }
    // Same wasm instance, and freed engines' blocks are reused: without the free,
    // every wake would put the engine at a new address (6 distinct values).
    // Which freed block malloc hands back varies with the engine's size (a
    // few blocks take turns), so allow up to half of the wakes.
    expect(new Set(engines.map((e) => e.split(':')[0])).size).toBe(1);
    expect(new Set(engines).size, engines.join(' ')).toBeLessThanOrEqual(3);
  });
});
