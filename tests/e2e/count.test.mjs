// NIP-45 COUNT with HyperLogLog end to end: the registers the relay computes
// in D1 equal those nostr-tools (nip45, an independent implementation) computes
// from the same events, so counts from several relays merge.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { Relay } from 'nostr-tools/relay';
import { computeOffset, estimateCount, feedEvent, getCountManyFilter, getFilterFirstTagValue, hllEncode, newHll } from 'nostr-tools/nip45';
import { finalizeEvent, generateSecretKey, getPublicKey, verifyEvent } from 'nostr-tools/pure';
import { NO_RATE_LIMITS, RawClient, startHost } from './harness.mjs';

let relay;
before(async () => {
  relay = await startHost({ config: { rate_limits: NO_RATE_LIMITS } });
});
after(async () => {
  await relay?.stop();
});

const nowSec = () => Math.floor(Date.now() / 1000);
const sign = (sk, kind, tags, content = '') => finalizeEvent({ kind, created_at: nowSec(), tags, content }, sk);

async function count(c, sub, ...filters) {
  c.send(['COUNT', sub, ...filters]);
  return (await c.next((m) => Array.isArray(m) && m[1] === sub)).msg;
}

function expectedHll(filter, events) {
  const offset = computeOffset(getFilterFirstTagValue(filter));
  let hll = newHll();
  for (const e of events) hll = feedEvent(hll, e, offset);
  return hllEncode(hll);
}

test('reactions, reposts, replies, followers: registers equal nostr-tools nip45; counts stay exact', async () => {
  const author = generateSecretKey();
  const note = sign(author, 1, [], 'count me');
  const pub = await Relay.connect(relay.wsUrl, { verifyEvent, enablePing: false, enableReconnect: false });
  const c = await RawClient.connect(relay.wsUrl);
  try {
    await pub.publish(note);
    const reactions = [];
    const follows = [];
    const replies = [];
    for (let i = 0; i < 40; i++) {
      const sk = generateSecretKey();
      reactions.push(sign(sk, 7, [['e', note.id], ['p', note.pubkey]], '+'));
      if (i % 2 === 0) follows.push(sign(sk, 3, [['p', note.pubkey]]));
      if (i % 4 === 0) replies.push(sign(sk, 1, [['e', note.id]], `reply ${i}`));
    }
    // Some people react twice: the count counts events, the HLL people.
    const twice = reactions.slice(0, 5).map((r, i) => ({ ...r }));
    for (const e of [...reactions, ...follows, ...replies]) await pub.publish(e);
    const again = [];
    for (const r of twice) {
      const e = finalizeEvent({ kind: 7, created_at: nowSec(), tags: r.tags, content: '🤙' }, generateSecretKey());
      again.push(e);
      await pub.publish(e);
    }

    for (const [directive, events] of [['reactions', [...reactions, ...again]], ['followers', follows], ['replies', replies]]) {
      const target = directive === 'followers' ? note.pubkey : note.id;
      const filter = getCountManyFilter(target, directive);
      const got = await count(c, directive, filter);
      assert.equal(got[0], 'COUNT');
      assert.equal(got[2].count, events.length, directive);
      assert.equal(got[2].hll, expectedHll(filter, events), `${directive} registers`);
      const estimate = estimateCount(Uint8Array.from(Buffer.from(got[2].hll, 'hex')));
      assert.ok(Math.abs(estimate - events.length) <= Math.max(3, events.length * 0.2), `${directive}: estimate ${estimate}`);
    }
    // Nothing matches: count 0 and empty registers. Two filters: no hll.
    const none = await count(c, 'none', getCountManyFilter('f'.repeat(64), 'reposts'));
    assert.deepEqual(none[2], { count: 0, hll: '0'.repeat(512) });
    const two = await count(c, 'two', { kinds: [7], '#e': [note.id] }, { kinds: [3], '#p': [note.pubkey] });
    assert.deepEqual(two[2], { count: reactions.length + again.length + follows.length });
  } finally {
    pub.close();
    c.ws.close();
  }
});
