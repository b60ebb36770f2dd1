// The native server (server/) end to end: the same engine behind Boost.Beast
// and SQLite, driven by nostr-tools and raw frames. What differs from the
// Workers host on purpose: no hibernation (a restart closes sockets), the
// database is a local SQLite file, configuration comes from relay.toml.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Relay } from 'nostr-tools/relay';
import { nip77 } from 'nostr-tools';
import { finalizeEvent, generateSecretKey, getPublicKey, verifyEvent } from 'nostr-tools/pure';
import { NATIVE, NO_RATE_LIMITS, RawClient, ROOT, onlyOn, startNative } from './harness.mjs';
import { spawnSync } from 'node:child_process';

const nowSec = () => Math.floor(Date.now() / 1000);
const sign = (sk, kind, content, tags = [], created_at = nowSec()) => finalizeEvent({ kind, created_at, tags, content }, sk);
const CONFIG = JSON.stringify({ rate_limits: NO_RATE_LIMITS, relay_url: 'wss://native.example.com' });

// The native host's own features; the shared suite covers the rest on both hosts.
describe('the native server', onlyOn('native', 'tests of the native host itself (E2E_HOST=native runs them)'), () => {
  let server;
  before(async () => {
    server = await startNative({ env: { RELAY_CONFIG: CONFIG } });
  });
  after(async () => {
    await server?.stop();
  });

  const connect = (s = server) => Relay.connect(s.wsUrl, { verifyEvent, enablePing: false, enableReconnect: false });
  function query(r, filter) {
    return new Promise((resolve) => {
      const got = [];
      const s = r.subscribe([filter], { onevent: (e) => got.push(e), oneose: () => { s.close(); resolve(got); } });
    });
  }

  test('NIP-11 with CORS, and the relay page, from the same edge code', async () => {
    const res = await fetch(server.url, { headers: { Accept: 'application/nostr+json' } });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('access-control-allow-origin'), '*');
    const info = await res.json();
    assert.deepEqual(info.supported_nips, [1, 9, 11, 13, 17, 40, 42, 45, 50, 59, 62, 70, 77]);
    const page = await fetch(server.url, { headers: { Accept: 'text/html' } });
    assert.match(await page.text(), /<html/i);
  });

  test('publish, stored and live REQ, COUNT with HyperLogLog, search', async () => {
    const sk = generateSecretKey();
    const pub = await connect();
    const sub = await connect();
    try {
      const note = sign(sk, 1, 'Grüße from the native relay');
      await pub.publish(note);
      assert.deepEqual((await query(sub, { authors: [getPublicKey(sk)] })).map((e) => e.id), [note.id]);
      const live = new Promise((resolve) => {
        sub.subscribe([{ kinds: [7], '#e': [note.id] }], { onevent: resolve });
      });
      await new Promise((r) => setTimeout(r, 100));
      const reaction = sign(generateSecretKey(), 7, '+', [['e', note.id]]);
      await pub.publish(reaction);
      assert.equal((await live).id, reaction.id);
      const c = await RawClient.connect(server.wsUrl);
      c.send(['COUNT', 'h', { kinds: [7], '#e': [note.id] }]);
      const count = await c.next((m) => m[0] === 'COUNT');
      assert.equal(count.msg[2].count, 1);
      assert.equal(count.msg[2].hll.length, 512);
      c.ws.close();
      assert.deepEqual((await query(sub, { search: 'GRUSSE native' })).map((e) => e.id), []);  // ü folds to u, ß stays
      assert.deepEqual((await query(sub, { search: 'grüße NATIVE' })).map((e) => e.id), [note.id]);
    } finally {
      pub.close();
      sub.close();
    }
  });

  test('negentropy sync with nostr-tools, and a request to vanish', async () => {
    const sk = generateSecretKey();
    const r = await connect();
    try {
      const base = nowSec() - 100;
      const events = Array.from({ length: 40 }, (_, i) => sign(sk, 1, `n${i}`, [], base + i));
      for (const e of events) await r.publish(e);
      const storage = new nip77.NegentropyStorageVector();
      for (const e of events.slice(10)) storage.insert(e.created_at, e.id);
      storage.seal();
      const need = new Set();
      await new Promise((resolve, reject) => {
        const s = new nip77.NegentropySync(r, storage, { authors: [getPublicKey(sk)] }, {
          onneed: (id) => need.add(id), onclose: (err) => (err ? reject(new Error(err)) : resolve()),
        });
        s.start();
      });
      assert.deepEqual([...need].sort(), events.slice(0, 10).map((e) => e.id).sort());

      await r.publish(sign(sk, 62, '', [['relay', 'wss://native.example.com']]));
      let left;
      for (let i = 0; i < 50 && (left = await query(r, { authors: [getPublicKey(sk)] })).length !== 1; i++) {
        await new Promise((res) => setTimeout(res, 50));
      }
      assert.deepEqual(left.map((e) => e.kind), [62]);
      await assert.rejects(r.publish(events[0]), /NIP-62/);
    } finally {
      r.close();
    }
  });

  test('bad frames get NIP-01 answers and the socket stays usable', async () => {
    const c = await RawClient.connect(server.wsUrl);
    try {
      c.send('not json');
      assert.deepEqual((await c.next((m) => m[0] === 'NOTICE')).msg, ['NOTICE', 'invalid: could not parse message as JSON']);
      c.send(['REQ', 's', { kinds: ['x'] }]);
      assert.match((await c.next((m) => m[0] === 'CLOSED')).msg[2], /^invalid: /);
      c.send(['REQ', 'ok', { limit: 1 }]);
      await c.next((m) => m[0] === 'EOSE' && m[1] === 'ok');
    } finally {
      c.ws.close();
    }
  });

  test('relay.toml and the environment configure it; a bad value stops it at start, named', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'nostr-relay-toml-'));
    try {
      const toml = join(dir, 'relay.toml');
      writeFileSync(toml, 'name = "toml relay"\n[limits]\nmax_subscriptions = 7\n');
      const s = await startNative({ args: ['--config', toml] });
      try {
        const info = await (await fetch(s.url, { headers: { Accept: 'application/nostr+json' } })).json();
        assert.equal(info.name, 'toml relay');
        assert.equal(info.limitation.max_subscriptions, 7);
      } finally {
        await s.stop();
      }
      // The committed example parses.
      const ex = await startNative({ args: ['--config', join(ROOT, 'docs/relay.example.toml')] });
      await ex.stop();
      writeFileSync(toml, '[limits]\nmax_subscriptions = "many"\n');
      await assert.rejects(startNative({ args: ['--config', toml] }), /limits\.max_subscriptions must be a non-negative integer/);
      writeFileSync(toml, '[server]\nprot = 1\n');
      await assert.rejects(startNative({ args: ['--config', toml] }), /server\.prot is not a server setting/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('SIGTERM: sockets close with 1001, the process exits 0, and stored events survive a restart', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'nostr-relay-restart-'));
    try {
      const db = join(dir, 'relay.sqlite3');
      const s = await startNative({ db, env: { RELAY_CONFIG: CONFIG } });
      const sk = generateSecretKey();
      const note = sign(sk, 1, 'kept across restarts');
      const r = await connect(s);
      await r.publish(note);
      const c = await RawClient.connect(s.wsUrl);
      s.signal('SIGTERM');
      const closed = await c.closed;
      assert.equal(closed.code, 1001);
      assert.equal(await s.exited, 0);
      const again = await startNative({ db, env: { RELAY_CONFIG: CONFIG } });
      try {
        const r2 = await connect(again);
        assert.deepEqual((await query(r2, { ids: [note.id] })).map((e) => e.id), [note.id]);
        r2.close();
      } finally {
        await again.stop();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('export writes the stored events byte-exact; import verifies each line and reports a summary', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'nostr-relay-export-'));
    try {
      const db = join(dir, 'a.sqlite3');
      const s = await startNative({ db, env: { RELAY_CONFIG: CONFIG } });
      const sk = generateSecretKey();
      const events = [sign(sk, 1, 'first "quoted" \\ text', [], nowSec() - 3), sign(sk, 1, 'ünïcödé 🤙', [['t', 'x']], nowSec() - 2),
        sign(sk, 0, '{"name":"x"}', [], nowSec() - 1)];
      const r = await connect(s);
      for (const e of events) await r.publish(e);
      r.close();
      await s.stop();
      const all = spawnSync(NATIVE, ['export', '--db', db], { encoding: 'utf8' });
      assert.equal(all.status, 0, all.stderr);
      const lines = all.stdout.trim().split('\n');
      assert.deepEqual(lines.map((l) => JSON.parse(l).id), events.map((e) => e.id), 'oldest first');
      const kind1 = spawnSync(NATIVE, ['export', '--db', db, '--filter', '{"kinds":[1]}'], { encoding: 'utf8' });
      assert.equal(kind1.stdout.trim().split('\n').length, 2);

      const tampered = JSON.stringify({ ...events[0], content: 'changed' });
      const input = [...lines, lines[0], tampered, 'not json'].join('\n') + '\n';
      const db2 = join(dir, 'b.sqlite3');
      const imp = spawnSync(NATIVE, ['import', '--db', db2], { input, encoding: 'utf8' });
      assert.equal(imp.status, 0, imp.stderr);
      assert.deepEqual(JSON.parse(imp.stdout), { lines: 6, accepted: 3, duplicate: 1, refused: 2, failed: 0 });
      const back = spawnSync(NATIVE, ['export', '--db', db2]);
      assert.ok(back.stdout.equals(Buffer.from(all.stdout)), 'the import exports the same bytes');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
