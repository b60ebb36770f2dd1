// NIP-50 search end to end on HOST (harness.mjs: wrangler dev with local D1's
// FTS5 index, or the native server's SQLite) driven by nostr-tools. Stored answers come from the D1 index, live ones from the
// engine's matcher; on the same mixed-script corpus they must agree.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { Relay } from 'nostr-tools/relay';
import { finalizeEvent, generateSecretKey, getPublicKey, verifyEvent } from 'nostr-tools/pure';
import { NO_RATE_LIMITS, startHost } from './harness.mjs';

let relay;
before(async () => {
  relay = await startHost({ config: { rate_limits: NO_RATE_LIMITS } });
});
after(async () => {
  await relay?.stop();
});

const ALICE = generateSecretKey();
const BOB = generateSecretKey();
const nowSec = () => Math.floor(Date.now() / 1000);
const sign = (sk, content, { kind = 1, tags = [], created_at = nowSec() } = {}) =>
  finalizeEvent({ kind, created_at, tags, content }, sk);
const connect = () => Relay.connect(relay.wsUrl, { verifyEvent, enablePing: false, enableReconnect: false });
const ids = (events) => events.map((e) => e.id);

test('NIP-11 advertises NIP-50', async () => {
  const info = await (await fetch(relay.url, { headers: { Accept: 'application/nostr+json' } })).json();
  assert.ok(info.supported_nips.includes(50));
});

test('stored search: ranked by relevance, ties newest first; folding; extensions ignored; other fields combine', async () => {
  const r = await connect();
  try {
    const t = nowSec();
    const once = sign(ALICE, 'a long note mentioning Lighthouse once among many other words', { created_at: t - 40 });
    const thrice = sign(BOB, 'lighthouse LIGHTHOUSE lighthouse!', { created_at: t - 30 });
    const older = sign(ALICE, 'Lighthouse keepers', { created_at: t - 20 });
    const newer = sign(BOB, 'lighthouse keepers', { created_at: t - 10 });
    const reaction = sign(BOB, 'lighthouse', { kind: 7 }); // kind 7: not indexed
    const cafe = sign(ALICE, 'Ein Café in Zürich, ПРИВЕТ мир');
    for (const e of [once, thrice, older, newer, reaction, cafe]) await r.publish(e);

    const ordered = [];
    await new Promise((resolve) => {
      r.subscribe([{ search: 'lighthouse' }], { onevent: (e) => ordered.push(e), oneose: resolve });
    });
    assert.deepEqual(ids(ordered), ids([thrice, newer, older, once]), 'relevance first, then newest first');

    assert.deepEqual(ids(await querySync(r, { search: 'KEEPERS lighthouse include:spam' })), ids([newer, older]));
    assert.deepEqual(ids(await querySync(r, { search: 'cafe ZURICH привет' })), ids([cafe]));
    assert.deepEqual(ids(await querySync(r, { search: 'lighthouse', authors: [getPublicKey(ALICE)], limit: 1 })), ids([older]));
    assert.deepEqual(await querySync(r, { search: 'lighthouse', kinds: [7] }), []);
    assert.equal(await r.count([{ search: 'lighthouse' }, { search: 'keepers' }]), 4);
  } finally {
    r.close();
  }
});

test('deleting (NIP-09) and replacing an event takes it out of search results', async () => {
  const r = await connect();
  try {
    const note = sign(ALICE, 'thoughts on zeppelins');
    await r.publish(note);
    assert.deepEqual(ids(await querySync(r, { search: 'zeppelins' })), [note.id]);
    await r.publish(sign(ALICE, '', { kind: 5, tags: [['e', note.id]] }));
    assert.deepEqual(await querySync(r, { search: 'zeppelins' }), []);

    const v1 = sign(ALICE, 'draft about gondolas', { kind: 30023, tags: [['d', 'post']], created_at: nowSec() - 5 });
    const v2 = sign(ALICE, 'final text about canals', { kind: 30023, tags: [['d', 'post']] });
    await r.publish(v1);
    assert.deepEqual(ids(await querySync(r, { search: 'gondolas' })), [v1.id]);
    await r.publish(v2);
    assert.deepEqual(await querySync(r, { search: 'gondolas' }), []);
    assert.deepEqual(ids(await querySync(r, { search: 'canals' })), [v2.id]);
  } finally {
    r.close();
  }
});

// Words across scripts and forms; a corpus of random sentences from them.
const WORDS = ['Straße', 'strasse', 'ÉCOLE', 'école', 'ecole', 'naïve', 'Привет', 'привет', 'Ελλάδα', 'ελλαδα', '東京', 'タワー',
  'zap⚡', 'Ｆｕｌｌ', 'full', 'e\u0301clair', 'eclair', 'İstanbul', 'istanbul', 'Łódź', 'lodz', 'nostr', 'NOSTR', '#nostr', '🤙'];
const SEPS = [' ', ', ', '. ', '!\n', '—', '/'];

test('live matches agree with the D1 index on the same mixed-script corpus', async () => {
  let seed = 7;
  const rand = (n) => { seed = (seed * 1103515245 + 12345) % 2147483648; return seed % n; };
  const queries = ['strasse', 'ecole', 'NAIVE', 'привет', 'ελλάδα', '東京', 'zap', 'full', 'eclair', 'istanbul', 'lodz', 'nostr',
    'привет ecole', 'Łódź NOSTR', 'tokyo'];
  const sub = await connect();
  const pub = await connect();
  try {
    const live = new Map(queries.map((q) => [q, new Set()]));
    const tag = `corpus${nowSec()}`;
    await Promise.all(queries.map((q) => new Promise((resolve) => {
      sub.subscribe([{ search: q, '#t': [tag] }], { onevent: (e) => live.get(q).add(e.id), oneose: resolve });
    })));
    for (let i = 0; i < 60; i++) {
      let text = '';
      for (let w = 0, n = 1 + rand(6); w < n; w++) text += WORDS[rand(WORDS.length)] + SEPS[rand(SEPS.length)];
      await pub.publish(sign(BOB, text, { tags: [['t', tag]] }));
    }
    // A marker after the corpus: once it arrives, every live delivery has.
    const marker = sign(BOB, 'end of corpus', { tags: [['t', `${tag}end`]] });
    await new Promise((resolve) => {
      sub.subscribe([{ '#t': [`${tag}end`] }], { onevent: resolve });
      pub.publish(marker);
    });
    let matched = 0;
    for (const q of queries) {
      const stored = new Set(ids(await querySync(pub, { search: q, '#t': [tag], limit: 500 })));
      assert.deepEqual([...live.get(q)].sort(), [...stored].sort(), `query ${q}`);
      matched += stored.size > 0 ? 1 : 0;
    }
    assert.ok(matched >= queries.length - 2, 'most queries match something');
  } finally {
    sub.close();
    pub.close();
  }
});

function querySync(r, filter) {
  return new Promise((resolve) => {
    const got = [];
    const s = r.subscribe([filter], {
      onevent: (e) => got.push(e),
      oneose: () => {
        s.close();
        resolve(got);
      },
    });
  });
}
