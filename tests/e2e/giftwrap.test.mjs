// NIP-17/59 privacy end to end: a direct message gift-wrapped by nostr-tools
// (nip59.wrapEvent) is served, stored and live, and counted, only to a client
// authenticated (NIP-42) as its recipient.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { Relay } from 'nostr-tools/relay';
import { unwrapEvent, wrapEvent } from 'nostr-tools/nip59';
import { finalizeEvent, generateSecretKey, getPublicKey, verifyEvent } from 'nostr-tools/pure';
import { RawClient, startHost } from './harness.mjs';

let relay;
before(async () => {
  relay = await startHost();
});
after(async () => {
  await relay?.stop();
});

const ALICE = generateSecretKey();
const BOB = generateSecretKey();
const CAROL = generateSecretKey();
const nowSec = () => Math.floor(Date.now() / 1000);

async function loggedIn(sk) {
  const c = await RawClient.connect(relay.wsUrl);
  const auth = finalizeEvent({ kind: 22242, created_at: nowSec(), tags: [['relay', relay.wsUrl], ['challenge', c.challenge]], content: '' }, sk);
  c.send(['AUTH', auth]);
  assert.equal((await c.next((m) => m?.[0] === 'OK' && m[1] === auth.id)).msg[2], true);
  return c;
}

test('a gift-wrapped DM reaches only its authenticated recipient (stored, live, COUNT)', async () => {
  const dm = { kind: 14, content: 'hello bob, privately', tags: [['p', getPublicKey(BOB)]], created_at: nowSec() };
  const wrap = wrapEvent(dm, ALICE, getPublicKey(BOB));
  assert.equal(wrap.kind, 1059);
  const sender = await RawClient.connect(relay.wsUrl);
  assert.equal((await sender.publish(wrap))[2], true);

  // Anonymous: asked to authenticate for wraps only; never sees one otherwise.
  sender.send(['REQ', 'wraps', { kinds: [1059] }]);
  const closed = await sender.next((m) => m?.[0] === 'CLOSED' && m[1] === 'wraps');
  assert.match(closed.msg[2], /^auth-required: gift wraps \(kind 1059\)/);
  assert.deepEqual((await sender.query('byp', { '#p': [getPublicKey(BOB)] })).events, []);
  assert.deepEqual((await sender.query('byid', { ids: [wrap.id] })).events, []);

  // Another user, logged in: nothing of bob's, not even counted.
  const carol = await loggedIn(CAROL);
  assert.deepEqual((await carol.query('c', { kinds: [1059], '#p': [getPublicKey(BOB)] })).events, []);
  carol.send(['COUNT', 'n', { kinds: [1059] }]);
  assert.deepEqual((await carol.next((m) => m?.[0] === 'COUNT')).msg, ['COUNT', 'n', { count: 0 }]);

  // Bob with nostr-tools: authenticates, gets the stored wrap and a live one, and reads them.
  const bob = await Relay.connect(relay.wsUrl, { verifyEvent, enablePing: false, enableReconnect: false });
  await new Promise((r) => setTimeout(r, 200)); // the AUTH challenge arrives first
  await bob.auth((e) => finalizeEvent(e, BOB));
  const got = [];
  let eose;
  const eosed = new Promise((r) => (eose = r));
  const live = new Promise((resolve) => {
    bob.subscribe([{ kinds: [1059], '#p': [getPublicKey(BOB)] }], {
      onevent: (e) => {
        got.push(e);
        if (got.length === 2) resolve();
      },
      oneose: () => eose(),
    });
  });
  await eosed;
  assert.equal(got.length, 1);
  assert.equal(unwrapEvent(got[0], BOB).content, 'hello bob, privately');
  const second = wrapEvent({ ...dm, content: 'and live' }, ALICE, getPublicKey(BOB));
  assert.equal((await sender.publish(second))[2], true);
  await live;
  assert.equal(unwrapEvent(got[1], BOB).content, 'and live');
  // Carol's open subscription for bob's wraps got nothing live either.
  assert.ok(!carol.pending().some((t) => t.includes(second.id)));
  bob.close();
  carol.close();
  sender.close();
});
