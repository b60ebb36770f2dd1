// NIP-13 (minimum proof of work) and NIP-22 (created_at limits) end to end,
// with nostr-tools mining (nip13.minePow) and publishing.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { Relay } from 'nostr-tools/relay';
import { getPow, minePow } from 'nostr-tools/nip13';
import { finalizeEvent, generateSecretKey, getEventHash, getPublicKey, verifyEvent } from 'nostr-tools/pure';
import { RawClient, startHost } from './harness.mjs';

const DIFFICULTY = 10;
// Every NIP-11 field an operator configures.
const NIP11 = {
  name: 'e2e relay', description: 'for tests', pubkey: 'a'.repeat(64), contact: 'mailto:ops@example.com',
  icon: 'https://example.com/icon.png', banner: 'https://example.com/banner.png', self: 'b'.repeat(64),
  terms_of_service: 'https://example.com/tos', posting_policy: 'https://example.com/posting', privacy_policy: 'https://example.com/privacy',
  relay_countries: ['DE', 'EU'], language_tags: ['de', 'en'], tags: ['sfw-only'], banned_kinds: [4],
};
let relay;
before(async () => {
  relay = await startHost({ config: { ...NIP11, limits: { min_pow_difficulty: DIFFICULTY, created_at_lower_limit: 3600 } } });
});
after(async () => {
  await relay?.stop();
});

const SK = generateSecretKey();
const nowSec = () => Math.floor(Date.now() / 1000);
const template = (content, created_at = nowSec(), kind = 1) => ({ kind, created_at, tags: [], content, pubkey: getPublicKey(SK) });
const mined = (content, difficulty, kind = 1) => finalizeEvent(minePow(template(content, nowSec(), kind), difficulty), SK);

test('NIP-11 advertises min_pow_difficulty and created_at_lower_limit', async () => {
  const info = await (await fetch(relay.url, { headers: { Accept: 'application/nostr+json' } })).json();
  assert.equal(info.limitation.min_pow_difficulty, DIFFICULTY);
  assert.equal(info.limitation.created_at_lower_limit, 3600);
});

test('NIP-11: the whole document from configuration, limitation as enforced, the working NIPs', async () => {
  const res = await fetch(relay.url, { headers: { Accept: 'application/nostr+json' } });
  assert.equal(res.headers.get('access-control-allow-origin'), '*');
  const info = await res.json();
  for (const [k, v] of Object.entries(NIP11)) {
    if (k !== 'banned_kinds') assert.deepEqual(info[k], v, k);
  }
  assert.deepEqual(info.retention, [{ kinds: [4], time: 0 }]);
  assert.deepEqual(info.supported_nips, [1, 9, 11, 13, 17, 40, 42, 45, 50, 59, 62, 70, 77]);
  assert.equal(typeof info.software, 'string');
  assert.equal(typeof info.version, 'string');
  const l = info.limitation;
  for (const k of ['max_message_length', 'max_subscriptions', 'max_filters', 'max_limit', 'default_limit', 'max_subid_length',
    'max_event_tags', 'max_content_length']) {
    assert.ok(Number.isInteger(l[k]) && l[k] > 0, k);
  }
  assert.equal(l.auth_required, false);
  assert.equal(l.payment_required, false);
  assert.equal(l.restricted_writes, false);
  // The limits are the ones enforced: a subscription id one longer is refused.
  const r = await Relay.connect(relay.wsUrl, { verifyEvent, enablePing: false, enableReconnect: false });
  try {
    const c = await RawClient.connect(relay.wsUrl);
    for (const [id, answer] of [['x'.repeat(l.max_subid_length), 'EOSE'], ['y'.repeat(l.max_subid_length + 1), 'NOTICE']]) {
      c.send(['REQ', id, { limit: 1 }]);
      const got = await c.next((m) => m[1] === id || m[0] === 'NOTICE');
      // An id the relay will not echo back is answered with a NOTICE.
      assert.equal(got.msg[0], answer, `sub id of ${id.length}: ${got.text}`);
    }
    c.ws.close();
    // A banned kind (retention time 0) is refused.
    await assert.rejects(r.publish(mined('dm', DIFFICULTY, 4)), /blocked: kind 4 is not accepted/);
  } finally {
    r.close();
  }
});

test('NIP-13: unmined and under-committed events get pow:, mined ones are accepted', async () => {
  const r = await Relay.connect(relay.wsUrl, { verifyEvent, enablePing: false, enableReconnect: false });
  try {
    await assert.rejects(r.publish(finalizeEvent(template('no work'), SK)), /pow: this relay requires proof of work \(NIP-13\) of difficulty 10/);
    // Committed to 4: even an id that happens to be strong enough is refused.
    await assert.rejects(r.publish(mined('cheap', 4)), /pow: committed target 4 is less than 10/);
    await r.publish(mined('honest work', DIFFICULTY));
  } finally {
    r.close();
  }
});

test('NIP-22: an event older than created_at_lower_limit is refused, even with proof of work', async () => {
  const r = await Relay.connect(relay.wsUrl, { verifyEvent, enablePing: false, enableReconnect: false });
  try {
    const old = template('from two hours ago', nowSec() - 7200);
    // minePow moves created_at to now while mining: mine, then restore the old time and mine again by hand.
    const tags = [['nonce', '0', String(DIFFICULTY)]];
    for (let n = 0; ; n++) {
      tags[0][1] = String(n);
      if (/^00[0-3]/.test(getEventHash({ ...old, tags }))) break; // >= 10 leading zero bits
    }
    const ev = finalizeEvent({ ...old, tags }, SK);
    assert.ok(getPow(ev.id) >= DIFFICULTY);
    await assert.rejects(r.publish(ev), /created_at/);
  } finally {
    r.close();
  }
});
