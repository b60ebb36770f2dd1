// The operator's controls end to end (on HOST, harness.mjs): the NIP-86
// management API (NIP-98 tokens from nostr-tools, every method, every
// authorization failure), the write policy, maintenance mode, closing
// connections, rate limits and connection caps, /metrics and /health.
// Two relays: one with ADMIN_PUBKEYS and no rate limits (management), one with
// tight rate limits (on 127.0.0.1 every client shares one address).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { Relay } from 'nostr-tools/relay';
import { getToken } from 'nostr-tools/nip98';
import { finalizeEvent, generateSecretKey, getPublicKey, verifyEvent } from 'nostr-tools/pure';
import { NO_RATE_LIMITS, RawClient, onlyOn, startHost } from './harness.mjs';

const ADMIN_SK = generateSecretKey();
const ADMIN = getPublicKey(ADMIN_SK);
const TOKEN = 'operator-metrics-token';

const nowSec = () => Math.floor(Date.now() / 1000);
const sign = (sk, tpl) => finalizeEvent({ kind: 1, created_at: nowSec(), tags: [], content: '', ...tpl }, sk);
const sha256hex = (s) => createHash('sha256').update(s).digest('hex');
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// Both hosts read these from their environment (wrangler: --var).
const VARS = { METRICS_TOKEN: TOKEN, ADMIN_PUBKEYS: ADMIN };

let relay; // management relay
before(async () => {
  relay = await startHost({
    vars: VARS, config: { name: 'operator test relay', banned_kinds: [4], blocked_phrases: ['buy followers'], rate_limits: NO_RATE_LIMITS },
  });
});
after(async () => {
  await relay?.stop();
});

const url = () => `${relay.url}/`;

// POSTs a NIP-86 request with `authorization` ('' for none); returns { status, json }.
async function rpc(body, authorization, { contentType = 'application/nostr+json+rpc' } = {}) {
  const headers = { 'content-type': contentType };
  if (authorization) headers.authorization = authorization;
  const res = await fetch(url(), { method: 'POST', headers, body });
  return { status: res.status, json: await res.json() };
}

// A valid call as the administrator (nostr-tools NIP-98 token with payload).
// A nonce tag keeps two equal calls in one second from being one event, which
// the relay would refuse as a replay.
let nonce = 0;
async function call(method, params = []) {
  const payload = { method, params };
  const signer = (e) => finalizeEvent({ ...e, tags: [...e.tags, ['nonce', String(++nonce)]] }, ADMIN_SK);
  const token = await getToken(url(), 'POST', signer, true, payload);
  return rpc(JSON.stringify(payload), token);
}
async function result(method, params = []) {
  const r = await call(method, params);
  assert.equal(r.status, 200, JSON.stringify(r.json));
  assert.equal(r.json.error, undefined, JSON.stringify(r.json));
  return r.json.result;
}

// A hand-made NIP-98 header: tags and time under the test's control.
function header(sk, { u = url(), method = 'POST', payload, created_at = nowSec(), kind = 27235 } = {}) {
  const tags = [['u', u], ['method', method]];
  if (payload !== undefined) tags.push(['payload', payload]);
  const ev = finalizeEvent({ kind, created_at, tags, content: '' }, sk);
  return `Nostr ${Buffer.from(JSON.stringify(ev)).toString('base64')}`;
}

const connect = () => RawClient.connect(relay.wsUrl);

// One unlabelled metric's value from `r`'s /metrics.
async function metric(r, name) {
  const text = await (await fetch(`${r.url}/metrics`, { headers: { Authorization: `Bearer ${TOKEN}` } })).text();
  const m = text.match(new RegExp(`^${name} ([0-9.e+]+)$`, 'm'));
  assert.ok(m, `${name} not in /metrics`);
  return Number(m[1]);
}
const count = async (c, filter) => (await c.query(`q${Math.random()}`, filter)).events.length;

describe('NIP-86 authorization (401 with a reason for each failure)', () => {
  const body = JSON.stringify({ method: 'supportedmethods', params: [] });
  const good = { payload: sha256hex(body) };
  test('no header', async () => {
    const r = await rpc(body, '');
    assert.equal(r.status, 401);
    assert.match(r.json.error, /missing Authorization/);
  });
  test('a key that is not in ADMIN_PUBKEYS', async () => {
    const r = await rpc(body, header(generateSecretKey(), good));
    assert.equal(r.status, 401);
    assert.match(r.json.error, /is not an administrator/);
  });
  test('stale created_at', async () => {
    const r = await rpc(body, header(ADMIN_SK, { ...good, created_at: nowSec() - 120 }));
    assert.equal(r.status, 401);
    assert.match(r.json.error, /created_at/);
  });
  test('wrong u', async () => {
    const r = await rpc(body, header(ADMIN_SK, { ...good, u: 'https://other.example.com/' }));
    assert.equal(r.status, 401);
    assert.match(r.json.error, /u tag/);
  });
  test('wrong method', async () => {
    const r = await rpc(body, header(ADMIN_SK, { ...good, method: 'GET' }));
    assert.equal(r.status, 401);
    assert.match(r.json.error, /method tag/);
  });
  test('payload mismatch (and a missing payload)', async () => {
    const r = await rpc(body, header(ADMIN_SK, { payload: sha256hex('something else') }));
    assert.equal(r.status, 401);
    assert.match(r.json.error, /payload/);
    const none = await rpc(body, header(ADMIN_SK, {}));
    assert.equal(none.status, 401);
  });
  test('a replayed authorization event', async () => {
    const h = header(ADMIN_SK, good);
    assert.equal((await rpc(body, h)).status, 200);
    const again = await rpc(body, h);
    assert.equal(again.status, 401);
    assert.match(again.json.error, /already used/);
  });
  test('not Nostr, not base64, wrong kind', async () => {
    assert.equal((await rpc(body, 'Bearer x')).status, 401);
    assert.equal((await rpc(body, 'Nostr %%%')).status, 401);
    assert.match((await rpc(body, header(ADMIN_SK, { ...good, kind: 1 }))).json.error, /27235/);
  });
  test('a bad request body is 400 with the reason; an unknown method says so', async () => {
    const bad = await call('banpubkey', ['not-a-key']);
    assert.equal(bad.status, 400);
    assert.match(bad.json.error, /64 lowercase hex/);
    assert.match((await call('nosuchmethod')).json.error, /unsupported method: nosuchmethod/);
  });
});

describe('NIP-86 methods', () => {
  test('supportedmethods lists the NIP-86 methods and ours', async () => {
    const methods = await result('supportedmethods');
    for (const m of ['banpubkey', 'unbanpubkey', 'listbannedpubkeys', 'allowpubkey', 'unallowpubkey', 'listallowedpubkeys', 'banevent',
      'unbanevent', 'allowevent', 'unallowevent', 'listbannedevents', 'listallowedevents', 'listeventsneedingmoderation', 'allowkind',
      'disallowkind', 'listallowedkinds', 'listdisallowedkinds', 'blockip', 'unblockip', 'listblockedips', 'changerelayname',
      'changerelaydescription', 'changerelayicon', 'setmaintenance', 'listconnections', 'disconnect']) {
      assert.ok(methods.includes(m), m);
    }
  });

  test('banpubkey removes the pubkey\'s events from D1 at once and refuses its writes; unbanpubkey lifts it', async () => {
    const sk = generateSecretKey();
    const pk = getPublicKey(sk);
    const tools = await Relay.connect(relay.wsUrl, { verifyEvent, enablePing: false, enableReconnect: false });
    try {
      await tools.publish(sign(sk, { content: 'one' }));
      await tools.publish(sign(sk, { content: 'two' }));
      const c = await connect();
      assert.equal(await count(c, { authors: [pk] }), 2);
      assert.equal(await result('banpubkey', [pk, 'spam']), true);
      assert.equal(await count(c, { authors: [pk] }), 0);
      await assert.rejects(tools.publish(sign(sk, { content: 'three' })), /blocked: this pubkey is banned/);
      assert.deepEqual(await result('listbannedpubkeys'), [{ pubkey: pk, reason: 'spam' }]);
      assert.equal(await result('unbanpubkey', [pk]), true);
      assert.deepEqual(await result('listbannedpubkeys'), []);
      await tools.publish(sign(sk, { content: 'four' }));
      c.close();
    } finally {
      tools.close();
    }
  });

  test('allowpubkey / listallowedpubkeys / unallowpubkey', async () => {
    const pk = getPublicKey(generateSecretKey());
    assert.equal(await result('allowpubkey', [pk, 'paid']), true);
    assert.deepEqual(await result('listallowedpubkeys'), [{ pubkey: pk, reason: 'paid' }]);
    assert.equal(await result('unallowpubkey', [pk]), true);
    assert.deepEqual(await result('listallowedpubkeys'), []);
  });

  test('reports queue events for moderation; banevent deletes and refuses, allowevent/unallowevent/unbanevent manage the lists', async () => {
    const c = await connect();
    const sk = generateSecretKey();
    const bad = sign(sk, { content: 'reported note' });
    assert.equal((await c.publish(bad))[2], true);
    const report = sign(generateSecretKey(), { kind: 1984, tags: [['e', bad.id, 'spam'], ['p', bad.pubkey]] });
    assert.equal((await c.publish(report))[2], true);
    assert.deepEqual(await result('listeventsneedingmoderation'), [{ id: bad.id, reason: 'spam' }]);
    assert.equal(await result('banevent', [bad.id, 'spam']), true);
    assert.equal(await count(c, { ids: [bad.id] }), 0);
    const again = await c.publish(bad);
    assert.deepEqual(again, ['OK', bad.id, false, 'blocked: this event is banned from this relay']);
    assert.deepEqual(await result('listbannedevents'), [{ id: bad.id, reason: 'spam' }]);
    assert.deepEqual(await result('listeventsneedingmoderation'), []);
    assert.equal(await result('unbanevent', [bad.id]), true);
    assert.deepEqual(await result('listbannedevents'), []);
    assert.equal(await result('allowevent', [bad.id, 'reviewed']), true);
    assert.deepEqual(await result('listallowedevents'), [{ id: bad.id, reason: 'reviewed' }]);
    assert.equal(await result('unallowevent', [bad.id]), true);
    assert.deepEqual(await result('listallowedevents'), []);
    assert.equal((await c.publish(bad))[2], true);
    c.close();
  });

  test('allowkind makes an allow list, disallowkind refuses a kind; the lists answer', async () => {
    const c = await connect();
    const sk = generateSecretKey();
    assert.equal(await result('allowkind', [1]), true);
    assert.deepEqual(await result('listallowedkinds'), [1]);
    assert.equal((await c.publish(sign(sk, { kind: 1 })))[2], true);
    const reaction = sign(sk, { kind: 7, content: '+' });
    assert.deepEqual(await c.publish(reaction), ['OK', reaction.id, false, 'blocked: kind 7 is not accepted by this relay']);
    assert.equal(await result('disallowkind', [1]), true);
    assert.deepEqual(await result('listdisallowedkinds'), [1, 4]); // 4 from RELAY_CONFIG banned_kinds
    const note = sign(sk, { kind: 1, content: 'not any more' });
    assert.deepEqual(await c.publish(note), ['OK', note.id, false, 'blocked: kind 1 is not accepted by this relay']);
    assert.equal(await result('allowkind', [1]), true); // back to normal for the other tests
    assert.equal(await result('allowkind', [7]), true);
    assert.equal(await result('allowkind', [1984]), true);
    assert.equal(await result('allowkind', [22242]), true);
    c.close();
  });

  test('changerelayname / description / icon reach NIP-11 within seconds', async () => {
    assert.equal(await result('changerelayname', ['Renamed by NIP-86']), true);
    assert.equal(await result('changerelaydescription', ['managed description']), true);
    assert.equal(await result('changerelayicon', ['https://example.com/relay.png']), true);
    let info;
    for (let i = 0; i < 20; i++) {
      info = await (await fetch(relay.url, { headers: { Accept: 'application/nostr+json' } })).json();
      if (info.name === 'Renamed by NIP-86') break;
      await sleep(500);
    }
    assert.equal(info.name, 'Renamed by NIP-86');
    assert.equal(info.description, 'managed description');
    assert.equal(info.icon, 'https://example.com/relay.png');
    assert.ok(info.supported_nips.includes(86), 'NIP-86 advertised with ADMIN_PUBKEYS set');
  });

  test('listconnections and disconnect (by connection, by authenticated pubkey)', async () => {
    const a = await connect();
    const b = await connect();
    const sk = generateSecretKey();
    const auth = finalizeEvent({ kind: 22242, created_at: nowSec(), tags: [['relay', relay.wsUrl], ['challenge', b.challenge]], content: '' }, sk);
    b.send(['AUTH', auth]);
    assert.equal((await b.next((m) => m?.[0] === 'OK')).msg[2], true);
    const conns = await result('listconnections');
    const mine = conns.find((x) => x.pubkeys.includes(getPublicKey(sk)));
    assert.ok(mine, JSON.stringify(conns));
    assert.equal(mine.ip, '127.0.0.1');
    assert.equal(await result('disconnect', ['pubkey', getPublicKey(sk), 'goodbye']), 1);
    const closedB = await b.closed;
    assert.equal(closedB.code, 1008);
    assert.match(closedB.reason, /disconnected by the relay operator: goodbye/);
    const others = (await result('listconnections')).map((x) => x.id);
    const idA = others.at(-1);
    assert.equal(await result('disconnect', ['connection', String(idA)]), 1);
    assert.equal((await a.closed).code, 1008);
  });

  test('setmaintenance refuses new connections with the reason; existing ones continue', async () => {
    const existing = await connect();
    assert.equal(await result('setmaintenance', [true, 'moving house']), true);
    const refused = await RawClient.connect(relay.wsUrl, { expectAuth: false });
    const notice = await refused.take();
    assert.deepEqual(notice.msg, ['NOTICE', 'restricted: not accepting new connections: moving house']);
    assert.equal((await refused.closed).code, 1008);
    assert.deepEqual((await existing.query('m', { kinds: [1], limit: 1 })).events.length, 1);
    assert.equal(await result('setmaintenance', [false]), true);
    const back = await connect();
    assert.ok(back.challenge);
    back.close();
    existing.close();
  });

  test('blockip closes that address\'s sockets at once and refuses new ones; unblockip lifts it', async () => {
    const c = await connect();
    assert.equal(await result('blockip', ['127.0.0.1', 'test']), true);
    const closed = await c.closed;
    assert.equal(closed.code, 1008);
    assert.match(closed.reason, /blocked/);
    assert.deepEqual(await result('listblockedips'), [{ ip: '127.0.0.1', reason: 'test' }]);
    const refused = await RawClient.connect(relay.wsUrl, { expectAuth: false });
    assert.deepEqual((await refused.take()).msg, ['NOTICE', 'blocked: connections from this address are not accepted']);
    assert.equal(await result('unblockip', ['127.0.0.1']), true);
    assert.deepEqual(await result('listblockedips'), []);
    (await connect()).close();
  });
});

describe('write policy from RELAY_CONFIG', () => {
  test('banned kinds and blocked phrases are refused with blocked:', async () => {
    const tools = await Relay.connect(relay.wsUrl, { verifyEvent, enablePing: false, enableReconnect: false });
    const sk = generateSecretKey();
    try {
      await assert.rejects(tools.publish(sign(sk, { kind: 4, content: 'x' })), /blocked: kind 4 is not accepted/);
      await assert.rejects(tools.publish(sign(sk, { content: 'Buy Followers here' })), /blocked: content contains a blocked phrase/);
      await tools.publish(sign(sk, { content: 'a normal note' }));
    } finally {
      tools.close();
    }
  });
});

describe('hostile management callers', () => {
  test('a flood of unauthorised NIP-86 calls is refused by the Worker: none reaches the relay object', async () => {
    const before = await metric(relay, 'nostr_relay_admin_requests_total');
    const body = JSON.stringify({ method: 'banpubkey', params: [ADMIN] });
    const forged = header(generateSecretKey(), { payload: sha256hex(body) });
    let refused = 0;
    for (let round = 0; round < 10; round++) {
      const answers = await Promise.all(Array.from({ length: 20 }, (_, i) => rpc(body, i % 2 ? forged : 'Nostr garbage')));
      refused += answers.filter((a) => a.status === 401).length;
    }
    assert.equal(refused, 200);
    // A body over 16 KiB is refused by its size.
    assert.equal((await rpc(' '.repeat(20000), forged)).status, 413);
    assert.equal(await metric(relay, 'nostr_relay_admin_requests_total'), before);
  });
});

describe('metrics and health', () => {
  test('/metrics needs the token and shows the counters in Prometheus format', async () => {
    assert.equal((await fetch(`${relay.url}/metrics`)).status, 401);
    const res = await fetch(`${relay.url}/metrics`, { headers: { Authorization: `Bearer ${TOKEN}` } });
    assert.equal(res.status, 200);
    const text = await res.text();
    for (const name of ['nostr_relay_connections', 'nostr_relay_subscriptions', 'nostr_relay_events_accepted_total',
      'nostr_relay_messages_out_total', 'nostr_relay_store_seconds_bucket', 'nostr_relay_hibernation_wakes_total',
      'nostr_relay_wasm_heap_bytes', 'nostr_relay_admin_requests_total']) {
      assert.match(text, new RegExp(`^${name}(\\{[^}]*\\})? [0-9.e+]+$`, 'm'), name);
    }
    assert.match(text, /^nostr_relay_events_refused_total\{reason="blocked"\} [1-9]/m);
    assert.match(text, /^nostr_relay_admin_unauthorized_total [1-9]/m);
    assert.match(text, /^nostr_relay_store_seconds_count [1-9]/m);
  });
  test('/health answers 200 with the relay object and D1 reachable', async () => {
    const res = await fetch(`${relay.url}/health`);
    assert.equal(res.status, 200);
    const body = await res.json();
    assert.equal(body.ok, true);
    assert.equal(body.d1, true);
    assert.equal(body.management_loaded, true);
    assert.ok(body.events_accepted >= 1);
  });
});

describe('rate limits and connection caps (a second relay)', () => {
  let limited;
  before(async () => {
    limited = await startHost({
      vars: VARS, config: {
        rate_limits: {
          ...NO_RATE_LIMITS,
          event_per_connection: { per_minute: 6, burst: 3 },
          req_per_ip: { per_minute: 6, burst: 6 },
          max_refusals: 4,
        },
        limits: { max_connections_per_ip: 3 },
      },
    });
  });
  after(async () => {
    await limited?.stop();
  });

  test('events per connection: a burst, then rate-limited: with a reason', async () => {
    const c = await RawClient.connect(limited.wsUrl);
    const sk = generateSecretKey();
    const answers = [];
    for (let i = 0; i < 4; i++) answers.push(await c.publish(sign(sk, { content: `n${i}` })));
    assert.deepEqual(answers.map((a) => a[2]), [true, true, true, false]);
    assert.equal(answers[3][3], 'rate-limited: too many events from this connection, slow down');
    c.close();
  });

  test('REQs per address hold across connections; hammering closes the socket with a reason; the per-address connection cap', async () => {
    const a = await RawClient.connect(limited.wsUrl);
    const b = await RawClient.connect(limited.wsUrl);
    for (let i = 0; i < 3; i++) await a.query(`a${i}`, { kinds: [1], limit: 1 });
    for (let i = 0; i < 3; i++) await b.query(`b${i}`, { kinds: [1], limit: 1 });
    b.send(['REQ', 'over', { kinds: [1] }]);
    const closed = await b.next((m) => m?.[0] === 'CLOSED' && m[1] === 'over');
    assert.equal(closed.msg[2], 'rate-limited: too many subscription requests from this address, slow down');
    a.send(['REQ', 'over-a', { kinds: [1] }]);
    assert.equal((await a.next((m) => m?.[0] === 'CLOSED')).msg[2], 'rate-limited: too many subscription requests from this address, slow down');
    // Two conns open (a, b); the cap is 3 per address: one more fits, the next is refused.
    const third = await RawClient.connect(limited.wsUrl);
    const fourth = await RawClient.connect(limited.wsUrl, { expectAuth: false });
    const refusal = await fourth.take();
    assert.match(refusal.msg[1], /^rate-limited: too many connections from this address/);
    assert.equal((await fourth.closed).code, 1013);
    third.close();
    // a keeps going after refusals: past max_refusals (4) it is closed.
    for (let i = 0; i < 5; i++) a.send(['REQ', `h${i}`, { kinds: [1] }]);
    const gone = await a.closed;
    assert.equal(gone.code, 1008);
    assert.equal(gone.reason, 'rate-limited: too many messages over the rate limit; closing the connection');
    b.close();
  });

  test('a socket\'s bucket survives the object hibernating', onlyOn('wrangler', 'the native server does not hibernate'), async () => {
    const c = await RawClient.connect(limited.wsUrl);
    const sk = generateSecretKey();
    const spent = [];
    for (let i = 0; i < 4; i++) spent.push((await c.publish(sign(sk, { content: `h${i}` })))[2]);
    assert.deepEqual(spent, [true, true, true, false]);
    const wakes = await metric(limited, 'nostr_relay_hibernation_wakes_total');
    // Idle: workerd hibernates the object (its socket stays open) after ~10 s.
    // This /metrics call wakes it again.
    await sleep(16000);
    assert.ok(await metric(limited, 'nostr_relay_hibernation_wakes_total') > wakes, 'the object did not hibernate while idle');
    // 16 s at 6 a minute refilled one token and a half: one event, then refusals.
    // A bucket lost with the object's memory would be full again (3).
    const after = [];
    for (let i = 0; i < 3; i++) after.push((await c.publish(sign(sk, { content: `w${i}` })))[2]);
    assert.deepEqual(after, [true, false, false]);
    c.close();
  });
});

describe('restricted writes, trusted pubkeys, per-author buckets, the relay-wide cap, unlimited addresses (two more relays)', () => {
  const A_SK = generateSecretKey();
  const T_SK = generateSecretKey();
  let policy;
  let unlimited;
  before(async () => {
    // One after the other: two wrangler dev starting at once collide on an internal socket.
    policy = await startHost({
      vars: VARS, config: {
        restricted_writes: true,
        allowed_pubkeys: [getPublicKey(A_SK), getPublicKey(T_SK)],
        trusted_pubkeys: [getPublicKey(T_SK)],
        rate_limits: { ...NO_RATE_LIMITS, event_per_pubkey: { per_minute: 6, burst: 2 } },
        limits: { max_connections: 3 },
      },
    });
    unlimited = await startHost({
      vars: VARS, config: { rate_limits: { ...NO_RATE_LIMITS, event_per_connection: { per_minute: 6, burst: 1 } }, unlimited_ips: ['127.0.0.1'] },
    });
  });
  after(async () => {
    await Promise.all([policy?.stop(), unlimited?.stop()]);
  });

  test('restricted writes: strangers get restricted:, admitted and administrator keys publish, allowpubkey admits more', async () => {
    const c = await RawClient.connect(policy.wsUrl);
    const stranger = generateSecretKey();
    const refused = sign(stranger, { content: 'let me in' });
    assert.deepEqual(await c.publish(refused), ['OK', refused.id, false, 'restricted: only admitted pubkeys may publish to this relay']);
    assert.equal((await c.publish(sign(A_SK, { content: 'admitted' })))[2], true);
    assert.equal((await c.publish(sign(ADMIN_SK, { content: 'the operator' })))[2], true);
    // Admission through NIP-86 on this relay (the paid-relay hook).
    const u = `${policy.url}/`;
    const payload = { method: 'allowpubkey', params: [getPublicKey(stranger), 'paid'] };
    const token = await getToken(u, 'POST', (e) => finalizeEvent(e, ADMIN_SK), true, payload);
    const res = await fetch(u, { method: 'POST', headers: { 'content-type': 'application/nostr+json+rpc', authorization: token }, body: JSON.stringify(payload) });
    assert.equal(res.status, 200);
    assert.equal((await c.publish(sign(stranger, { content: 'paid now' })))[2], true);
    await c.close();
  });

  test('per-author buckets count verified authors across sockets; trusted authors are exempt', async () => {
    const a = await RawClient.connect(policy.wsUrl);
    const b = await RawClient.connect(policy.wsUrl);
    // A published once above: one token of two left.
    assert.equal((await a.publish(sign(A_SK, { content: 'a2' })))[2], true);
    const third = sign(A_SK, { content: 'a3' });
    assert.deepEqual(await b.publish(third), ['OK', third.id, false, 'rate-limited: too many events from this pubkey, slow down']);
    for (let i = 0; i < 5; i++) assert.equal((await a.publish(sign(T_SK, { content: `t${i}` })))[2], true);
    await Promise.all([a.close(), b.close()]);
  });

  test('limits.max_connections: the relay-wide cap refuses with rate-limited: and 1013', async () => {
    const open = await Promise.all([0, 1, 2].map(() => RawClient.connect(policy.wsUrl)));
    const over = await RawClient.connect(policy.wsUrl, { expectAuth: false });
    const notice = await over.take();
    assert.match(notice.msg[1], /^rate-limited: the relay is at its connection limit \(3\)/);
    assert.equal((await over.closed).code, 1013);
    for (const c of open) c.close();
  });

  test('unlimited_ips: no bucket applies to that address', async () => {
    const c = await RawClient.connect(unlimited.wsUrl);
    const sk = generateSecretKey();
    for (let i = 0; i < 5; i++) assert.equal((await c.publish(sign(sk, { content: `u${i}` })))[2], true);
    c.close();
  });
});
