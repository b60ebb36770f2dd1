// NIP-62 request to vanish end to end with nostr-tools: the author's events up
// to the request and gift wraps addressed to it leave D1 (and the search
// index); re-publishing them is refused; other people's events stay.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { Relay } from 'nostr-tools/relay';
import { wrapEvent } from 'nostr-tools/nip59';
import { finalizeEvent, generateSecretKey, getPublicKey, verifyEvent } from 'nostr-tools/pure';
import { NO_RATE_LIMITS, RawClient, startHost } from './harness.mjs';

let relay;
before(async () => {
  relay = await startHost({ config: { rate_limits: NO_RATE_LIMITS, relay_url: 'wss://relay.example.com' } });
});
after(async () => {
  await relay?.stop();
});

const nowSec = () => Math.floor(Date.now() / 1000);
const sign = (sk, kind, content, tags = [], created_at = nowSec()) => finalizeEvent({ kind, created_at, tags, content }, sk);
const connect = () => Relay.connect(relay.wsUrl, { verifyEvent, enablePing: false, enableReconnect: false });

function query(r, filter) {
  return new Promise((resolve) => {
    const got = [];
    const s = r.subscribe([filter], { onevent: (e) => got.push(e), oneose: () => { s.close(); resolve(got); } });
  });
}

// Gift wraps are served to their recipient only: ask as the recipient.
async function wrapsFor(sk) {
  const c = await RawClient.connect(relay.wsUrl);
  try {
    c.send(['AUTH', sign(sk, 22242, '', [['relay', 'wss://relay.example.com'], ['challenge', c.challenge]])]);
    await c.next((m) => m[0] === 'OK');
    c.send(['REQ', 'w', { kinds: [1059], '#p': [getPublicKey(sk)] }]);
    const got = [];
    for (;;) {
      const f = await c.next((m) => m[1] === 'w');
      if (f.msg[0] === 'EOSE') return got;
      got.push(f.msg[2]);
    }
  } finally {
    c.ws.close();
  }
}

test('NIP-11 advertises NIP-62', async () => {
  const info = await (await fetch(relay.url, { headers: { Accept: 'application/nostr+json' } })).json();
  assert.ok(info.supported_nips.includes(62));
});

test('request to vanish: her events and gift wraps to her go, search forgets them, nothing comes back', async () => {
  const alice = generateSecretKey();
  const bob = generateSecretKey();
  const r = await connect();
  try {
    const t = nowSec() - 60;
    const notes = [sign(alice, 1, 'notes about capybaras', [], t), sign(alice, 30023, 'an article', [['d', 'x']], t),
      sign(alice, 0, '{"name":"alice"}', [], t)];
    const wrap = wrapEvent(sign(bob, 14, 'hi alice'), bob, getPublicKey(alice));
    const bobs = sign(bob, 1, 'bob on capybaras', [['p', getPublicKey(alice)]], t);
    for (const e of [...notes, wrap, bobs]) await r.publish(e);
    assert.equal((await query(r, { authors: [getPublicKey(alice)] })).length, 3);
    assert.equal((await wrapsFor(alice)).length, 1);

    await assert.rejects(r.publish(sign(alice, 62, '', [['relay', 'wss://elsewhere.example.com']])), /invalid: this request to vanish/);
    // The gift wrap's created_at is randomised up to two days back: the request covers it.
    await r.publish(sign(alice, 62, 'please forget me', [['relay', 'ALL_RELAYS']]));

    // The first step runs right after the request is stored.
    let left;
    for (let i = 0; i < 50; i++) {
      left = await query(r, { authors: [getPublicKey(alice)] });
      if (left.length === 1) break;
      await new Promise((res) => setTimeout(res, 100));
    }
    assert.deepEqual(left.map((e) => e.kind), [62], 'only the request itself stays');
    assert.equal((await wrapsFor(alice)).length, 0, 'gift wraps addressed to her are gone');
    assert.deepEqual((await query(r, { search: 'capybaras' })).map((e) => e.id), [bobs.id], 'search forgets hers');
    for (const e of notes) {
      await assert.rejects(r.publish(e), /blocked: its author asked this relay to delete everything up to this time \(NIP-62\)/);
    }
    // Later than the request: accepted.
    await r.publish(sign(alice, 1, 'a fresh start', [], nowSec() + 2));
  } finally {
    r.close();
  }
});
