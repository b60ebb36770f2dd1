// Pipelined publishing on the native server: one connection sends thousands of
// events without waiting for their OKs (as strfry's clients may). The server
// stops reading a connection whose events waiting for storage fill its write
// budget (limits.max_pending_events / max_pending_event_bytes) and reads it
// again as store batches complete, so TCP slows the client down and every
// event is stored, where the engine alone would refuse what overflows the
// budget ("rate-limited: N events of this connection are waiting to be
// stored"). Native only: a Durable Object cannot stop reading a WebSocket.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { finalizeEvent, generateSecretKey } from 'nostr-tools/pure';
import { NATIVE, NO_RATE_LIMITS, onlyOn, openSocket, startNative } from './harness.mjs';

const N = 3000;
const CONFIG = JSON.stringify({ rate_limits: NO_RATE_LIMITS }); // every limit else at its default
const TIGHT_COUNT = JSON.stringify({ rate_limits: NO_RATE_LIMITS, limits: { max_pending_events: 8 } });
const TIGHT_BYTES = JSON.stringify({
  rate_limits: NO_RATE_LIMITS, limits: { max_event_size: 4096, max_pending_event_bytes: 16384 },
});

// Sends every event at once on one socket; resolves when `until(oks)` holds
// (oks: id -> [accepted, message]) or the socket closes.
async function pipeline(url, events, { onOk = () => {}, until = (oks) => oks.size === events.length, timeoutMs = 120000 } = {}) {
  const ws = await openSocket(url, 10000);
  const oks = new Map();
  let closed = null;
  const done = new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`timed out with ${oks.size} of ${events.length} OKs`)), timeoutMs);
    const finish = () => {
      clearTimeout(t);
      resolve();
    };
    ws.addEventListener('message', (ev) => {
      const m = JSON.parse(typeof ev.data === 'string' ? ev.data : Buffer.from(ev.data).toString('utf8'));
      if (m[0] !== 'OK') return;
      assert.ok(!oks.has(m[1]), `a second OK for ${m[1]}`);
      oks.set(m[1], [m[2], m[3]]);
      onOk(oks);
      if (until(oks)) finish();
    });
    ws.addEventListener('close', (ev) => {
      closed = { code: ev.code, reason: ev.reason };
      finish();
    });
  });
  for (const e of events) ws.send(JSON.stringify(['EVENT', e]));
  await done;
  return { ws, oks, closed: () => closed };
}

function exportedIds(db) {
  const out = spawnSync(NATIVE, ['export', '--db', db], { encoding: 'utf8', maxBuffer: 64 << 20 });
  assert.equal(out.status, 0, out.stderr);
  return out.stdout.trim() === '' ? [] : out.stdout.trim().split('\n').map((l) => JSON.parse(l).id);
}

describe('pipelined publishing on the native server', onlyOn('native', 'TCP backpressure is the native host\'s (a Durable Object cannot stop reading a socket)'), () => {
  let events;
  before(() => {
    const sk = generateSecretKey();
    const base = Math.floor(Date.now() / 1000) - N;
    events = Array.from({ length: N }, (_, i) => finalizeEvent({ kind: 1, created_at: base + i, tags: [], content: `pipelined ${i}` }, sk));
  });

  // The default limits (as a client meets them), then budgets small enough
  // that the connection must be paused many times over: by event count, by
  // bytes; with the verify pool (THREADS=2) and without it (THREADS=1).
  const cases = [
    ['default limits', CONFIG, '1'],
    ['default limits', CONFIG, '2'],
    ['max_pending_events 8', TIGHT_COUNT, '1'],
    ['max_pending_events 8', TIGHT_COUNT, '2'],
    ['max_pending_event_bytes 16 KiB', TIGHT_BYTES, '2'],
  ];
  for (const [what, config, threads] of cases) {
    test(`${N} events sent without waiting on one connection are all stored (${what}, THREADS=${threads})`, { timeout: 180000 }, async () => {
      const dir = mkdtempSync(join(tmpdir(), 'nostr-relay-pipeline-'));
      const db = join(dir, 'relay.sqlite3');
      const s = await startNative({ db, env: { RELAY_CONFIG: config, THREADS: threads } });
      try {
        const { ws, oks, closed } = await pipeline(s.wsUrl, events);
        assert.equal(closed(), null, 'the socket stays open');
        assert.equal(oks.size, N);
        const refused = [...oks.values()].filter(([ok]) => !ok);
        assert.deepEqual(refused.slice(0, 3), [], `${refused.length} refused`);
        ws.close();
        await s.stop();
        assert.deepEqual(exportedIds(db).sort(), events.map((e) => e.id).sort());
      } finally {
        await s.stop();
        rmSync(dir, { recursive: true, force: true });
      }
    });
  }

  test('SIGTERM while a pipelining connection is paused: what was read is stored and answered, then 1001 and exit 0', { timeout: 180000 }, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'nostr-relay-pipeline-'));
    try {
      const db = join(dir, 'relay.sqlite3');
      // A small budget: the connection is surely paused when the signal comes.
      const s = await startNative({ db, env: { RELAY_CONFIG: TIGHT_COUNT } });
      let signalled = false;
      const { oks, closed } = await pipeline(s.wsUrl, events, {
        onOk: (o) => {
          if (!signalled && o.size >= 500) {
            signalled = true;
            s.signal('SIGTERM');
          }
        },
        until: () => false, // until the server closes the socket
      });
      assert.equal(closed()?.code, 1001);
      assert.equal(await s.exited, 0);
      const accepted = [...oks].filter(([, [ok]]) => ok).map(([id]) => id);
      assert.equal(accepted.length, oks.size, 'nothing refused');
      assert.ok(oks.size >= 500 && oks.size < N, `${oks.size} answered before the close`);
      // Every event the server read was stored and answered before it closed.
      const ids = exportedIds(db);
      assert.deepEqual([...ids].sort(), [...accepted].sort());
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
