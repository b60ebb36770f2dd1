// End to end: nostr-tools' Relay (node 22's WebSocket) against `wrangler dev`
// on workerd, including an idle period long enough for local hibernation.
//   node_modules/.bin/node --test tests/e2e/    (or npm run test:e2e)
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { Relay } from 'nostr-tools/relay';
import { finalizeEvent, generateSecretKey, getPublicKey, verifyEvent } from 'nostr-tools/pure';
import { startRelay } from './harness.mjs';

let dev;
before(async () => {
  dev = await startRelay();
});
after(async () => {
  await dev?.stop();
});

const connect = () => Relay.connect(dev.wsUrl, { verifyEvent, enablePing: false, enableReconnect: false });
const nowSec = () => Math.floor(Date.now() / 1000);
const note = (sk, content, extra = {}) => finalizeEvent({ kind: 1, created_at: nowSec(), tags: [], content, ...extra }, sk);

function collect(relay, filters) {
  const events = [];
  let eose;
  const eosed = new Promise((r) => (eose = r));
  const sub = relay.subscribe(filters, { onevent: (e) => events.push(e), oneose: () => eose() });
  return { sub, events, eosed };
}

async function waitFor(pred, ms, what) {
  const deadline = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

test('NIP-11 document over HTTP', async () => {
  const res = await fetch(dev.url, { headers: { Accept: 'application/nostr+json' } });
  assert.equal(res.headers.get('access-control-allow-origin'), '*');
  const info = await res.json();
  assert.equal(info.name, 'nostr-edge-relay');
  assert.ok(info.supported_nips.includes(1));
});

test('publish, query, live delivery and COUNT with nostr-tools', async () => {
  const sk = generateSecretKey();
  const a = await connect();
  const b = await connect();
  try {
    const first = note(sk, 'first');
    assert.match(await a.publish(first), /^$|duplicate/);

    const stored = collect(b, [{ authors: [getPublicKey(sk)] }]);
    await stored.eosed;
    assert.deepEqual(stored.events.map((e) => e.id), [first.id]);

    const second = note(sk, 'second');
    await a.publish(second);
    await waitFor(() => stored.events.length === 2, 5000, 'the live event');
    assert.equal(stored.events[1].id, second.id);

    const n = await b.count([{ authors: [getPublicKey(sk)] }], {});
    assert.equal(n, 2);
    stored.sub.close();
  } finally {
    a.close();
    b.close();
  }
});

test('a subscription keeps working across an idle period (local hibernation ~10 s)', { timeout: 60000 }, async () => {
  const sk = generateSecretKey();
  const listener = await connect();
  const publisher = await connect();
  try {
    const live = collect(listener, [{ authors: [getPublicKey(sk)], kinds: [1] }]);
    await live.eosed;
    await new Promise((r) => setTimeout(r, 13000)); // no traffic: the object may hibernate
    const ev = note(sk, 'after the nap');
    await publisher.publish(ev);
    await waitFor(() => live.events.length === 1, 5000, 'the event after hibernation');
    assert.equal(live.events[0].id, ev.id);
  } finally {
    listener.close();
    publisher.close();
  }
});
