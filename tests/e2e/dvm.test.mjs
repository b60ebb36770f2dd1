// NIP-89/90 agent marketplaces end to end with nostr-tools: a service provider
// announces a handler (31990), a user recommends it (31989), a customer finds
// it by kind, the provider receives the job request (5000-5999) live, and the
// customer receives feedback (7000) and the result (6000-6999) live, with the
// e/p/i/request tags NIP-90 uses.
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

const nowSec = () => Math.floor(Date.now() / 1000);
const sign = (sk, kind, tags, content = '') => finalizeEvent({ kind, created_at: nowSec(), tags, content }, sk);
const connect = () => Relay.connect(relay.wsUrl, { verifyEvent, enablePing: false, enableReconnect: false });

function query(r, filter) {
  return new Promise((resolve) => {
    const got = [];
    const s = r.subscribe([filter], { onevent: (e) => got.push(e), oneose: () => { s.close(); resolve(got); } });
  });
}

// Resolves with the first `n` events a live subscription receives after EOSE.
function liveEvents(r, filter, n) {
  let eose;
  const ready = new Promise((res) => (eose = res));
  const events = new Promise((resolve) => {
    const got = [];
    r.subscribe([filter], {
      oneose: eose,
      onevent: (e) => {
        got.push(e);
        if (got.length === n) resolve(got);
      },
    });
  });
  return { ready, events };
}

test('NIP-89 handler discovery and a NIP-90 job: request, feedback and result flow live', async () => {
  const providerSk = generateSecretKey();
  const customerSk = generateSecretKey();
  const fanSk = generateSecretKey();
  const provider = getPublicKey(providerSk);
  const customer = getPublicKey(customerSk);
  const pr = await connect();
  const cr = await connect();
  try {
    // NIP-89: the provider announces what it handles; a user recommends it.
    const handler = sign(providerSk, 31990, [['d', 'summarizer'], ['k', '5001']],
      JSON.stringify({ name: 'Summarizer', about: 'summarizes text' }));
    await pr.publish(handler);
    const address = `31990:${provider}:summarizer`;
    await cr.publish(sign(fanSk, 31989, [['d', '5001'], ['a', address, relay.wsUrl, 'web']]));
    const found = await query(cr, { kinds: [31990], '#k': ['5001'] });
    assert.deepEqual(found.map((e) => e.id), [handler.id]);
    const recommended = await query(cr, { kinds: [31989], '#d': ['5001'] });
    assert.equal(recommended[0].tags.find((t) => t[0] === 'a')[1], address);

    // The provider listens for jobs of its kind addressed to it; the customer
    // for feedback and results about its request.
    const jobs = liveEvents(pr, { kinds: [5001], '#p': [provider], since: nowSec() - 5 }, 1);
    await jobs.ready;
    const request = sign(customerSk, 5001, [
      ['i', 'Nostr is a simple, open protocol for censorship-resistant global social networks.', 'text'],
      ['param', 'max_words', '5'],
      ['output', 'text/plain'],
      ['bid', '1000'],
      ['p', provider],
    ]);
    const updates = liveEvents(cr, { kinds: [6001, 7000], '#e': [request.id], '#p': [customer] }, 2);
    await updates.ready;
    await cr.publish(request);
    const [job] = await jobs.events;
    assert.equal(job.id, request.id);
    assert.deepEqual(job.tags.find((t) => t[0] === 'i'), request.tags[0]);

    // Feedback, then the result (kind = request kind + 1000).
    const feedback = sign(providerSk, 7000, [['status', 'processing', 'working on it'], ['e', job.id, relay.wsUrl], ['p', job.pubkey]]);
    const result = sign(providerSk, 6001, [
      ['request', JSON.stringify(job)],
      ['e', job.id, relay.wsUrl],
      ['i', ...job.tags.find((t) => t[0] === 'i').slice(1)],
      ['p', job.pubkey],
      ['amount', '1000'],
    ], 'Open censorship-resistant social protocol.');
    await pr.publish(feedback);
    await pr.publish(result);
    const got = await updates.events;
    assert.deepEqual(got.map((e) => e.kind), [7000, 6001]);
    assert.equal(got[0].tags.find((t) => t[0] === 'status')[1], 'processing');
    assert.equal(JSON.parse(got[1].tags.find((t) => t[0] === 'request')[1]).id, request.id);
    assert.equal(got[1].content, 'Open censorship-resistant social protocol.');
    // And stored: a customer coming back later finds the result.
    assert.deepEqual((await query(cr, { kinds: [6001], '#e': [request.id] })).map((e) => e.id), [result.id]);
  } finally {
    pr.close();
    cr.close();
  }
});
