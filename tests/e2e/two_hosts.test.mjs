// Two hosts, one behaviour: the same management (NIP-86), HTTP API and health
// requests sent to `wrangler dev` and to the native server, side by side,
// must get the same status, the same headers that matter (Content-Type, CORS,
// WWW-Authenticate) and the same body (health: the same fields). Both hosts
// start here, so the file runs once (in the wrangler pass of the suite).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { getToken } from 'nostr-tools/nip98';
import { finalizeEvent, generateSecretKey, getPublicKey } from 'nostr-tools/pure';
import { HOST, NO_RATE_LIMITS, relayConfigArgs, startNative, startRelay } from './harness.mjs';

const ADMIN_SK = generateSecretKey();
const VARS = { ADMIN_PUBKEYS: getPublicKey(ADMIN_SK) };
const CONFIG = { name: 'two hosts', rate_limits: NO_RATE_LIMITS };
const nowSec = () => Math.floor(Date.now() / 1000);

const hosts = {};
const skip = HOST === 'native' ? 'starts both hosts itself: runs in the wrangler pass' : false;

describe('two hosts answer the same', { skip }, () => {
  before(async () => {
    const [w, n] = await Promise.all([
      startRelay({ extraArgs: [...relayConfigArgs(CONFIG), ...Object.entries(VARS).flatMap(([k, v]) => ['--var', `${k}:${v}`])] }),
      startNative({ env: { ...VARS, RELAY_CONFIG: JSON.stringify(CONFIG) } }),
    ]);
    hosts.wrangler = w;
    hosts.native = n;
  });
  after(async () => {
    await Promise.all(Object.values(hosts).map((h) => h.stop()));
  });

  // The same request on both hosts: { status, type, cors, auth, body } each.
  async function both(path, init = {}) {
    const out = {};
    for (const [name, h] of Object.entries(hosts)) {
      const headers = typeof init.headers === 'function' ? await init.headers(h) : init.headers;
      const res = await fetch(`${h.url}${path}`, { ...init, headers });
      out[name] = {
        status: res.status,
        type: res.headers.get('content-type'),
        cors: res.headers.get('access-control-allow-origin'),
        auth: res.headers.get('www-authenticate'),
        body: await res.text(),
      };
    }
    return out;
  }
  const same = (r, what) => assert.deepEqual(r.native, r.wrangler, `${what}: native and wrangler differ`);

  const RPC = 'application/nostr+json+rpc';
  test('NIP-86 without authorization: 401, WWW-Authenticate: Nostr, the same refusal', async () => {
    const r = await both('/', { method: 'POST', headers: { 'content-type': RPC }, body: JSON.stringify({ method: 'supportedmethods', params: [] }) });
    assert.equal(r.wrangler.status, 401);
    assert.equal(r.wrangler.auth, 'Nostr');
    same(r, 'unauthorized NIP-86');
  });

  test('NIP-86 as the administrator: the same methods', async () => {
    const payload = { method: 'supportedmethods', params: [] };
    const r = await both('/', {
      method: 'POST',
      body: JSON.stringify(payload),
      headers: async (h) => ({
        'content-type': RPC,
        authorization: await getToken(`${h.url}/`, 'POST', (e) => finalizeEvent(e, ADMIN_SK), true, payload),
      }),
    });
    assert.equal(r.wrangler.status, 200, r.wrangler.body);
    assert.ok(JSON.parse(r.wrangler.body).result.includes('banpubkey'));
    same(r, 'supportedmethods');
  });

  test('NIP-86 refused by the relay object (a replayed token): the same 401 with WWW-Authenticate', async () => {
    // The stateless checks pass; the engine refuses the second use. Natively
    // this 401 used to lack WWW-Authenticate (only the Worker added it).
    const payload = { method: 'supportedmethods', params: [] };
    const tokens = {};
    for (const [name, h] of Object.entries(hosts)) {
      // A nonce tag: the token of the test before (same payload, same second) was another event.
      const signer = (e) => finalizeEvent({ ...e, tags: [...e.tags, ['nonce', `replay-${name}`]] }, ADMIN_SK);
      tokens[name] = await getToken(`${h.url}/`, 'POST', signer, true, payload);
    }
    const init = { method: 'POST', body: JSON.stringify(payload), headers: (h) => ({ 'content-type': RPC, authorization: tokens[h === hosts.native ? 'native' : 'wrangler'] }) };
    assert.equal((await both('/', init)).wrangler.status, 200);
    const replay = await both('/', init);
    assert.equal(replay.wrangler.status, 401, replay.wrangler.body);
    assert.equal(replay.wrangler.auth, 'Nostr');
    same(replay, 'replayed token');
  });

  test('HTTP API: refusals, an event, a query and a fetch by id', async () => {
    same(await both('/api/v1/events', { method: 'POST', headers: { 'content-type': 'application/json' }, body: 'not json' }), 'malformed event');
    const e = finalizeEvent({ kind: 1, created_at: nowSec(), tags: [], content: 'two hosts' }, generateSecretKey());
    const stored = await both('/api/v1/events', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(e) });
    assert.equal(stored.wrangler.status, 200, stored.wrangler.body);
    same(stored, 'stored event');
    const query = await both('/api/v1/query', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify([{ ids: [e.id] }]) });
    assert.equal(query.wrangler.type, 'application/x-ndjson');
    assert.equal(JSON.parse(query.wrangler.body).id, e.id);
    same(query, 'query');
    same(await both(`/api/v1/events/${e.id}`), 'fetch by id');
    same(await both(`/api/v1/events/${'0'.repeat(64)}`), 'unknown id');
    same(await both('/api/v1/query', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '[{"kinds":"x"}]' }), 'bad filter');
  });

  test('GET /health: the same status, type and fields', async () => {
    const r = await both('/health');
    for (const k of ['status', 'type', 'cors']) assert.equal(r.native[k], r.wrangler[k], `${k}: ${JSON.stringify(r)}`);
    const keys = (b) => Object.keys(JSON.parse(b)).sort();
    assert.deepEqual(keys(r.native.body), keys(r.wrangler.body), `${r.native.body} vs ${r.wrangler.body}`);
  });
});
