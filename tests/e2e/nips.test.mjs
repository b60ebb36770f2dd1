// NIP-13 (minimum proof of work) and NIP-22 (created_at limits) end to end,
// with nostr-tools mining (nip13.minePow) and publishing.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { Relay } from 'nostr-tools/relay';
import { getPow, minePow } from 'nostr-tools/nip13';
import { finalizeEvent, generateSecretKey, getEventHash, getPublicKey, verifyEvent } from 'nostr-tools/pure';
import { relayConfigArgs, startRelay } from './harness.mjs';

const DIFFICULTY = 10;
let relay;
before(async () => {
  relay = await startRelay({ extraArgs: relayConfigArgs({ limits: { min_pow_difficulty: DIFFICULTY, created_at_lower_limit: 3600 } }) });
});
after(async () => {
  await relay?.stop();
});

const SK = generateSecretKey();
const nowSec = () => Math.floor(Date.now() / 1000);
const template = (content, created_at = nowSec()) => ({ kind: 1, created_at, tags: [], content, pubkey: getPublicKey(SK) });
const mined = (content, difficulty) => finalizeEvent(minePow(template(content), difficulty), SK);

test('NIP-11 advertises min_pow_difficulty and created_at_lower_limit', async () => {
  const info = await (await fetch(relay.url, { headers: { Accept: 'application/nostr+json' } })).json();
  assert.equal(info.limitation.min_pow_difficulty, DIFFICULTY);
  assert.equal(info.limitation.created_at_lower_limit, 3600);
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
