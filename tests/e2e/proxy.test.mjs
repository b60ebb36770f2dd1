// The native server behind its reverse proxy: server.trusted_proxies decides
// whether X-Forwarded-For / Forwarded (and X-Forwarded-Host / -Proto) name the
// client; relay_url decides the URL NIP-98 tokens must sign; and the server
// listens on IPv6. Native only: on Cloudflare the platform says who the client
// is (CF-Connecting-IP). Clients here send forwarding headers themselves from
// 127.0.0.1, playing the proxy (the `ws` package, which miniflare brings, sets
// arbitrary upgrade headers; the global WebSocket cannot).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import WsClient from 'ws';
import { getToken } from 'nostr-tools/nip98';
import { finalizeEvent, generateSecretKey, getPublicKey } from 'nostr-tools/pure';
import { NO_RATE_LIMITS, RawClient, onlyOn, startNative } from './harness.mjs';

const ADMIN_SK = generateSecretKey();
const ADMIN = getPublicKey(ADMIN_SK);
const nowSec = () => Math.floor(Date.now() / 1000);
const note = (sk, content) => finalizeEvent({ kind: 1, created_at: nowSec(), tags: [], content }, sk);

// Per-address EVENT bucket of 2 (then one a second); a blocked range.
const CONFIG = {
  rate_limits: { ...NO_RATE_LIMITS, event_per_ip: { per_minute: 60, burst: 2 } },
  blocked_ips: ['198.51.100.0/24', '2001:db8:bad::/48'],
};

// A WebSocket with `headers` on its upgrade request (a value may be an array:
// one header line each), wrapped in the harness's RawClient; resolves after
// the relay's first frame (AUTH, or the NOTICE of a refused connection).
async function connect(url, headers = {}) {
  const ws = new WsClient(url, { headers });
  // Listening from the start: the first frame may come with the upgrade's answer.
  const c = new RawClient(ws);
  await new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`connect ${url}: timeout`)), 10000);
    ws.once('open', () => {
      clearTimeout(t);
      resolve();
    });
    ws.once('error', (e) => {
      clearTimeout(t);
      reject(e);
    });
  });
  c.first = await c.take();
  return c;
}

// A NIP-86 call to `server`, its NIP-98 token signed for `signedUrl`; extra
// request headers in `headers`. Returns { status, json }.
let nonce = 0;
async function manage(server, method, params, signedUrl, headers = {}) {
  const payload = { method, params };
  const signer = (e) => finalizeEvent({ ...e, tags: [...e.tags, ['nonce', String(++nonce)]] }, ADMIN_SK);
  const token = await getToken(signedUrl, 'POST', signer, true, payload);
  const res = await fetch(`${server.url}/`, {
    method: 'POST',
    headers: { 'content-type': 'application/nostr+json+rpc', authorization: token, ...headers },
    body: JSON.stringify(payload),
  });
  return { status: res.status, json: await res.json() };
}

// The addresses of `server`'s open connections (NIP-86 listconnections),
// sorted, once they are `want` (closes are processed asynchronously).
async function connectionIps(server, want) {
  want = [...want].sort();
  let ips;
  for (let i = 0; i < 40; i++) {
    const r = await manage(server, 'listconnections', [], `${server.url}/`);
    assert.equal(r.status, 200, JSON.stringify(r.json));
    ips = r.json.result.map((c) => c.ip).sort();
    if (JSON.stringify(ips) === JSON.stringify(want)) break;
    await new Promise((res) => setTimeout(res, 50));
  }
  return ips;
}

// Publishes `event` on `c`; returns [accepted, message].
async function publish(c, event) {
  const ok = await c.publish(event);
  return [ok[2], ok[3]];
}

function tomlWith(dir, text) {
  const path = join(dir, 'relay.toml');
  writeFileSync(path, text);
  return path;
}

describe('the native server behind a trusted reverse proxy', onlyOn('native', 'server.trusted_proxies is the native host\'s'), () => {
  let server;
  let dir;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'nostr-relay-proxy-'));
    server = await startNative({
      args: ['--config', tomlWith(dir, '[server]\ntrusted_proxies = ["127.0.0.1"]\n')],
      env: { RELAY_CONFIG: JSON.stringify(CONFIG), ADMIN_PUBKEYS: ADMIN },
    });
  });
  after(async () => {
    await server?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  test('clients with different X-Forwarded-For addresses have separate per-address buckets', async () => {
    const sk = generateSecretKey();
    const a1 = await connect(server.wsUrl, { 'X-Forwarded-For': '203.0.113.1' });
    const a2 = await connect(server.wsUrl, { 'X-Forwarded-For': '198.18.0.9, 203.0.113.1' }); // the same client
    const b = await connect(server.wsUrl, { 'X-Forwarded-For': '203.0.113.2' });
    try {
      assert.deepEqual(await publish(a1, note(sk, 'a1')), [true, '']);
      assert.deepEqual(await publish(a1, note(sk, 'a2')), [true, '']);
      const [ok, msg] = await publish(a2, note(sk, 'a3'));
      assert.equal(ok, false, 'the address\'s bucket is empty, across its sockets');
      assert.match(msg, /^rate-limited: /);
      // Another forwarded address: its own bucket.
      assert.deepEqual(await publish(b, note(sk, 'b1')), [true, '']);
      assert.deepEqual(await publish(b, note(sk, 'b2')), [true, '']);
      // The engine knows each connection by its forwarded address.
      const want = ['203.0.113.1', '203.0.113.1', '203.0.113.2'];
      assert.deepEqual(await connectionIps(server, want), want);
    } finally {
      await Promise.all([a1.close(), a2.close(), b.close()]);
    }
  });

  test('several X-Forwarded-For lines are one list; Forwarded for= when there is no X-Forwarded-For', async () => {
    const c1 = await connect(server.wsUrl, { 'X-Forwarded-For': ['203.0.113.60', '203.0.113.61'] });
    const c2 = await connect(server.wsUrl, { Forwarded: 'for=192.0.2.43, for="[2001:db8:cafe::17]:4711";proto=https' });
    const c3 = await connect(server.wsUrl, { Forwarded: 'for=_hidden' }); // obfuscated: the proxy is the client
    try {
      const want = ['127.0.0.1', '2001:db8:cafe::17', '203.0.113.61'];
      assert.deepEqual(await connectionIps(server, want), want);
    } finally {
      await Promise.all([c1.close(), c2.close(), c3.close()]);
    }
  });

  test('blocked_ips ranges apply to the forwarded address, on WebSockets and the HTTP API', async () => {
    for (const headers of [{ 'X-Forwarded-For': '198.51.100.7' }, { 'X-Forwarded-For': '203.0.113.50, 198.51.100.7' },
      { Forwarded: 'for="198.51.100.8:1234"' }, { 'X-Forwarded-For': '[2001:db8:bad::5]:443' }]) {
      const c = await connect(server.wsUrl, headers);
      assert.match(c.first.text, /blocked/, JSON.stringify(headers));
      assert.equal((await c.closed).code, 1008);
    }
    // A client cannot hide behind a blocked address it puts on the left.
    const ok = await connect(server.wsUrl, { 'X-Forwarded-For': '198.51.100.7, 203.0.113.77' });
    assert.equal(ok.first.msg[0], 'AUTH');
    await ok.close();

    const event = note(generateSecretKey(), 'over the API');
    const post = (xff) => fetch(`${server.url}/api/v1/events`, {
      method: 'POST', headers: { 'content-type': 'application/json', 'x-forwarded-for': xff }, body: JSON.stringify(event),
    });
    const blocked = await post('198.51.100.9');
    assert.equal(blocked.status, 403, await blocked.text());
    const allowed = await post('203.0.113.90');
    assert.equal(allowed.status, 200, await allowed.text());
  });

  test('NIP-98 behind a TLS proxy without relay_url: X-Forwarded-Proto and -Host make the URL', async () => {
    const proxied = { 'X-Forwarded-Proto': 'https', 'X-Forwarded-Host': 'relay.example.org' };
    const r = await manage(server, 'supportedmethods', [], 'https://relay.example.org/', proxied);
    assert.equal(r.status, 200, JSON.stringify(r.json));
    const wrong = await manage(server, 'supportedmethods', [], `${server.url}/`, proxied);
    assert.equal(wrong.status, 401);
  });
});

describe('the native server without trusted_proxies', onlyOn('native', 'server.trusted_proxies is the native host\'s'), () => {
  let server;
  before(async () => {
    server = await startNative({ env: { RELAY_CONFIG: JSON.stringify(CONFIG), ADMIN_PUBKEYS: ADMIN } });
  });
  after(async () => {
    await server?.stop();
  });

  test('forwarding headers are ignored: the peer is the client', async () => {
    // A "blocked" forwarded address is not blocked: the client is 127.0.0.1.
    const c = await connect(server.wsUrl, { 'X-Forwarded-For': '198.51.100.7', Forwarded: 'for=198.51.100.8' });
    assert.equal(c.first.msg[0], 'AUTH');
    // Different forwarded addresses share the peer's bucket.
    const d = await connect(server.wsUrl, { 'X-Forwarded-For': '203.0.113.2' });
    const sk = generateSecretKey();
    try {
      assert.deepEqual(await publish(c, note(sk, '1')), [true, '']);
      assert.deepEqual(await publish(c, note(sk, '2')), [true, '']);
      const [ok, msg] = await publish(d, note(sk, '3'));
      assert.equal(ok, false);
      assert.match(msg, /^rate-limited: /);
      assert.deepEqual(await connectionIps(server, ['127.0.0.1', '127.0.0.1']), ['127.0.0.1', '127.0.0.1']);
      // X-Forwarded-Proto/-Host do not change the URL NIP-98 must sign.
      const proxied = { 'X-Forwarded-Proto': 'https', 'X-Forwarded-Host': 'relay.example.org' };
      assert.equal((await manage(server, 'supportedmethods', [], 'https://relay.example.org/', proxied)).status, 401);
      assert.equal((await manage(server, 'supportedmethods', [], `${server.url}/`, proxied)).status, 200);
    } finally {
      await Promise.all([c.close(), d.close()]);
    }
  });
});

describe('the native server with relay_url', onlyOn('native', 'the native host builds the NIP-98 URL itself'), () => {
  let server;
  before(async () => {
    server = await startNative({
      env: { RELAY_CONFIG: JSON.stringify({ relay_url: 'wss://relay.example.test' }), ADMIN_PUBKEYS: ADMIN },
    });
  });
  after(async () => {
    await server?.stop();
  });

  test('a management call signed for relay_url\'s https:// URL is accepted; one signed for the Host header\'s is not', async () => {
    // The request reaches http://127.0.0.1:<port>/; the public URL is https://relay.example.test/.
    const r = await manage(server, 'supportedmethods', [], 'https://relay.example.test/');
    assert.equal(r.status, 200, JSON.stringify(r.json));
    assert.ok(r.json.result.includes('listconnections'), JSON.stringify(r.json));
    const host = await manage(server, 'supportedmethods', [], `${server.url}/`);
    assert.equal(host.status, 401, JSON.stringify(host.json));
    assert.match(host.json.error, /u tag/);
    // Forwarding headers from an untrusted peer change nothing.
    const spoofed = await manage(server, 'supportedmethods', [], 'https://evil.example/', {
      'X-Forwarded-Host': 'evil.example', 'X-Forwarded-Proto': 'https',
    });
    assert.equal(spoofed.status, 401);
  });
});

describe('the native server on IPv6', onlyOn('native', 'the native host\'s listener'), () => {
  let server;
  before(async () => {
    server = await startNative({
      env: { BIND: '::1', TRUSTED_PROXIES: '::1', RELAY_CONFIG: JSON.stringify(CONFIG), ADMIN_PUBKEYS: ADMIN },
    });
  });
  after(async () => {
    await server?.stop();
  });

  test('bind = "::1": served on [::1], a trusted IPv6 proxy forwards addresses', async () => {
    assert.match(server.log(), /listening on ws:\/\/\[::1\]:\d+/);
    const base = `http://[::1]:${server.port}`;
    const info = await fetch(base, { headers: { Accept: 'application/nostr+json' } });
    assert.equal(info.status, 200);
    const c = await connect(`ws://[::1]:${server.port}`);
    const blocked = await connect(`ws://[::1]:${server.port}`, { 'X-Forwarded-For': '2001:db8:bad::1' });
    try {
      assert.equal(c.first.msg[0], 'AUTH');
      const e = note(generateSecretKey(), 'over IPv6');
      assert.deepEqual(await publish(c, e), [true, '']);
      assert.deepEqual((await c.query('q', { ids: [e.id] })).events.map((x) => x.id), [e.id]);
      assert.equal((await blocked.closed).code, 1008);
      assert.deepEqual(await connectionIps({ url: base }, ['::1']), ['::1']);
    } finally {
      await c.close();
    }
  });
});
