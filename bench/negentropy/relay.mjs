// NIP-77 through the relay: a full negentropy sync of the benchmark's stored
// set (>= 100k events, build/bench-relay-state, seeded by scripts/bench-relay)
// against `wrangler dev`, with nostr-tools' Negentropy as the client holding
// 99% of the events plus 1% the relay lacks. Reports time to the first reply
// (D1 paging and sealing), the whole sync, rounds, bytes each way, and the
// relay's memory for the sync (`neg_bytes` of /stats).
//
//   node bench/negentropy/relay.mjs        (scripts/bench-negentropy --relay runs it)
import { randomBytes } from 'node:crypto';
import { nip77 } from 'nostr-tools';
import { seedCorpus } from '../relay/corpora.mjs';
import { STATE_DIR } from '../relay/lib.mjs';
import { RawClient, relayConfigArgs, startRelay, NO_RATE_LIMITS } from '../../tests/e2e/harness.mjs';

const TOKEN = randomBytes(8).toString('hex');
const log = (...a) => console.error(`[${new Date().toISOString().slice(11, 19)}]`, ...a);
const seed = await seedCorpus({ n: 100000 });
const relay = await startRelay({
  persistTo: STATE_DIR, keepState: true,
  extraArgs: ['--var', `METRICS_TOKEN:${TOKEN}`,
    ...relayConfigArgs({ rate_limits: NO_RATE_LIMITS, limits: { max_neg_records: 200000, max_neg_bytes_total: 16 << 20 } })],
});
try {
  const storage = new nip77.NegentropyStorageVector();
  let kept = 0;
  for (let i = 0; i < seed.length; i++) {
    if (i % 100 === 7) continue; // the 1% the client lacks
    storage.insert(seed[i].created_at, seed[i].id);
    kept++;
  }
  const extra = 1000; // the 1% the relay lacks
  for (let i = 0; i < extra; i++) storage.insert(1760000000 - i, randomBytes(32).toString('hex'));
  storage.seal();
  const neg = new nip77.Negentropy(storage, 60000);
  const c = await RawClient.connect(relay.wsUrl);
  let up = 0, down = 0, rounds = 0, stats = null, firstMs = 0;
  const have = new Set(), need = new Set();
  const t0 = performance.now();
  let msg = neg.initiate();
  c.send(['NEG-OPEN', 'bench', {}, msg]);
  up += msg.length / 2;
  for (;;) {
    const f = await c.next((m) => m[1] === 'bench', 120000);
    if (f.msg[0] !== 'NEG-MSG') throw new Error(f.text);
    if (rounds === 0) {
      firstMs = performance.now() - t0;
      stats = await (await fetch(`${relay.url}/stats`, { headers: { Authorization: `Bearer ${TOKEN}` } })).json();
    }
    rounds++;
    down += f.msg[2].length / 2;
    msg = neg.reconcile(f.msg[2], (id) => have.add(id), (id) => need.add(id));
    if (!msg) break;
    up += msg.length / 2;
    c.send(['NEG-MSG', 'bench', msg]);
  }
  const totalMs = performance.now() - t0;
  c.send(['NEG-CLOSE', 'bench']);
  c.ws.close();
  const result = {
    stored_records: seed.length,
    client_records: kept + extra, have: have.size, need: need.size,
    first_reply_ms: Math.round(firstMs), total_ms: Math.round(totalMs), rounds, bytes_up: up, bytes_down: down,
    neg_bytes: stats?.neg_bytes, memory_bytes: stats?.memory_bytes,
  };
  log(JSON.stringify(result));
  console.log(JSON.stringify(result));
} finally {
  await relay.stop();
}
