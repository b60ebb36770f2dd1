// NIP-77 negentropy end to end: nostr-tools' NegentropySync (a real client)
// against the relay on HOST (harness.mjs), reconciling its local set with the relay's stored
// events; then the bounds, answered with NEG-ERR.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { Relay } from 'nostr-tools/relay';
import { nip77 } from 'nostr-tools';

const { NegentropyStorageVector, NegentropySync } = nip77;
import { finalizeEvent, generateSecretKey, getPublicKey, verifyEvent } from 'nostr-tools/pure';
import { NO_RATE_LIMITS, RawClient, startHost } from './harness.mjs';

const MAX_RECORDS = 300;
let relay;
before(async () => {
  relay = await startHost({ config: { rate_limits: NO_RATE_LIMITS, limits: { max_neg_records: MAX_RECORDS } } });
});
after(async () => {
  await relay?.stop();
});

const nowSec = () => Math.floor(Date.now() / 1000);
const connect = () => Relay.connect(relay.wsUrl, { verifyEvent, enablePing: false, enableReconnect: false });

function syncWith(r, local, filter) {
  const storage = new NegentropyStorageVector();
  for (const e of local) storage.insert(e.created_at, e.id);
  storage.seal();
  const have = new Set();
  const need = new Set();
  return new Promise((resolve, reject) => {
    const sync = new NegentropySync(r, storage, filter, {
      onhave: (id) => have.add(id),
      onneed: (id) => need.add(id),
      onclose: (err) => (err ? reject(new Error(String(err))) : resolve({ have, need })),
    });
    sync.start();
  });
}

test('NIP-11 advertises NIP-77', async () => {
  const info = await (await fetch(relay.url, { headers: { Accept: 'application/nostr+json' } })).json();
  assert.ok(info.supported_nips.includes(77));
});

test('nostr-tools NegentropySync learns exactly what each side lacks', async () => {
  const alice = generateSecretKey();
  const bob = generateSecretKey();
  const r = await connect();
  try {
    const base = nowSec() - 3600;
    const stored = [];
    for (let i = 0; i < 200; i++) {
      const e = finalizeEvent({ kind: 1, created_at: base + Math.floor(i / 4), tags: [], content: `note ${i}` }, alice);
      stored.push(e);
      await r.publish(e);
    }
    await r.publish(finalizeEvent({ kind: 1, created_at: base, tags: [], content: 'not in the filter' }, bob));
    const localOnly = Array.from({ length: 15 }, (_, i) =>
      finalizeEvent({ kind: 1, created_at: base + i * 7, tags: [], content: `offline ${i}` }, alice));
    const relayOnly = stored.filter((_, i) => i % 9 === 0);
    const local = [...stored.filter((_, i) => i % 9 !== 0), ...localOnly];

    const { have, need } = await syncWith(r, local, { authors: [getPublicKey(alice)] });
    assert.deepEqual([...need].sort(), relayOnly.map((e) => e.id).sort());
    assert.deepEqual([...have].sort(), localOnly.map((e) => e.id).sort());

    // Identical sets: nothing to do.
    const same = await syncWith(r, stored, { authors: [getPublicKey(alice)] });
    assert.equal(same.have.size + same.need.size, 0);
  } finally {
    r.close();
  }
});

test('bounds: too many records is NEG-ERR blocked:, a bad message NEG-ERR invalid:, an unknown id NEG-ERR closed:', async () => {
  const sk = generateSecretKey();
  const r = await connect();
  const c = await RawClient.connect(relay.wsUrl);
  try {
    for (let i = 0; i < MAX_RECORDS + 1; i++) {
      await r.publish(finalizeEvent({ kind: 30, created_at: nowSec() - i, tags: [], content: `${i}` }, sk));
    }
    const empty = new NegentropyStorageVector();
    empty.seal();
    c.send(['NEG-OPEN', 'big', { kinds: [30] }, '6100000200']);
    const big = await c.next((m) => m[1] === 'big');
    assert.deepEqual(big.msg.slice(0, 2), ['NEG-ERR', 'big']);
    assert.match(big.msg[2], new RegExp(`^blocked: this filter matches more than ${MAX_RECORDS} events`));

    c.send(['NEG-OPEN', 'bad', { kinds: [30], limit: 1 }, '61ff']);
    const bad = await c.next((m) => m[1] === 'bad');
    assert.equal(bad.msg[0], 'NEG-ERR');
    assert.match(bad.msg[2], /^invalid: negentropy:/);

    c.send(['NEG-MSG', 'nope', '61']);
    const nope = await c.next((m) => m[1] === 'nope');
    assert.equal(nope.msg[0], 'NEG-ERR');
    assert.match(nope.msg[2], /^closed: /);
    // The connection still works.
    c.send(['REQ', 'after', { kinds: [30], limit: 1 }]);
    await c.next((m) => m[0] === 'EOSE' && m[1] === 'after');
  } finally {
    r.close();
    c.ws.close();
  }
});
