// The cost model of docs/scale.md: Cloudflare list prices (Workers Paid plan,
// as published in 2026) applied to per-event figures measured by
// `scripts/bench-relay --only objects` (object-to-object requests and D1 rows
// per accepted event). Prints markdown.
//   node bench/relay/cost_model.mjs build/bench-relay/results-<date>.json
import { readFileSync } from 'node:fs';

const PRICE = {
  workersRequest: 0.30 / 1e6, workersIncluded: 10e6, // + $5/month minimum
  doRequest: 0.15 / 1e6, doRequestIncluded: 1e6,
  doGbSecond: 12.50 / 1e6, doGbSecondIncluded: 400e3,
  d1Read: 0.001 / 1e6, d1ReadIncluded: 25e9,
  d1Write: 1.00 / 1e6, d1WriteIncluded: 50e6,
  d1StorageGbMonth: 0.75, d1StorageIncluded: 5,
  r2StorageGbMonth: 0.015, r2ClassA: 4.50 / 1e6, r2ClassB: 0.36 / 1e6,
  minimum: 5,
};
const MONTH = 30 * 86400;
const OBJECTS = 9; // one per location hint
const OBJECT_GB = 0.128; // billed memory per active object
const D1_WAIT_S = 0.05; // an object stays active ~50 ms per store batch (D1 round trip)
const EVENT_BYTES = 2000; // an event's row, tags and index entries in D1 (measured ~1 KB raw + indexes)

const file = process.argv[2];
const results = JSON.parse(readFileSync(file, 'utf8'));
const runs = Object.fromEntries(results.runs[0].objects.map((o) => [o.label, o]));
// Paced runs (one event per store batch) model low rates; burst runs (many
// events per store batch, so per forward) model objects that are busy.
const measured = {
  paced: { local: runs['objects-local-paced'], global: runs['objects-global-paced'] },
  burst: { local: runs['objects-local-burst'], global: runs['objects-global-burst'] },
};
const BUSY = 10; // events/s per object from which batches hold several events
// Requests per event as a share of the full mesh's N-1, measured with 4 objects.
const share = (r) => r.requests_per_event / r.full_mesh_requests_per_event;
const rowsWritten = measured.paced.local.d1_rows_written_per_event;
const rowsRead = measured.paced.local.d1_rows_read_per_event;

function month({ eventsPerDay, clients, design, interest }) {
  const events = eventsPerDay * 30;
  const perObjectRate = eventsPerDay / 86400 / OBJECTS;
  const pattern = measured[perObjectRate >= BUSY ? 'burst' : 'paced'];
  const fwdPerEvent = design === 'mesh' ? OBJECTS - 1 : share(pattern[interest]) * (OBJECTS - 1);
  const forwards = events * fwdPerEvent;
  // Clients: one connection per hour (Worker request + DO request for the
  // upgrade), 12 REQs and 12 CLOSEs an hour (WebSocket messages, billed 20:1),
  // each REQ reading ~100 D1 rows.
  const hours = 30 * 24;
  const connects = clients * hours;
  const clientMessages = clients * hours * 24 + events; // REQ + CLOSE, and each EVENT
  const doRequests = connects + clientMessages / 20 + forwards;
  const workerRequests = connects;
  const activeShare = Math.min(1, perObjectRate * D1_WAIT_S + (design === 'mesh' ? fwdPerEvent * perObjectRate * 0.005 : 0));
  const gbSeconds = OBJECTS * MONTH * activeShare * OBJECT_GB;
  const d1Writes = events * rowsWritten;
  const d1Reads = events * rowsRead + clients * hours * 12 * 100;
  const d1Gb = Math.min(10, (eventsPerDay * 30 * EVENT_BYTES) / 1e9); // capped at 10 GB by retention
  const cost = {
    workers: Math.max(0, workerRequests - PRICE.workersIncluded) * PRICE.workersRequest,
    doRequests: Math.max(0, doRequests - PRICE.doRequestIncluded) * PRICE.doRequest,
    doDuration: Math.max(0, gbSeconds - PRICE.doGbSecondIncluded) * PRICE.doGbSecond,
    d1Writes: Math.max(0, d1Writes - PRICE.d1WriteIncluded) * PRICE.d1Write,
    d1Reads: Math.max(0, d1Reads - PRICE.d1ReadIncluded) * PRICE.d1Read,
    d1Storage: Math.max(0, d1Gb - PRICE.d1StorageIncluded) * PRICE.d1StorageGbMonth,
  };
  const total = Math.max(PRICE.minimum, Object.values(cost).reduce((a, b) => a + b, 0) + PRICE.minimum);
  return { fwdPerEvent, forwards, doRequests, gbSeconds, d1Writes, d1Reads, cost, total };
}

const fmt = (n) => (n >= 1e9 ? `${(n / 1e9).toFixed(1)}B` : n >= 1e6 ? `${(n / 1e6).toFixed(1)}M` : n >= 1e3 ? `${(n / 1e3).toFixed(0)}k` : n.toFixed(1));
const usd = (n) => `$${n < 10 ? n.toFixed(2) : n.toFixed(0)}`;
for (const mode of ['paced', 'burst']) {
  const m = measured[mode];
  console.log(`- Measured ${mode} (${file.split('/').pop()}, 4 objects, 200 subscribers): `
    + `local interests ${m.local.requests_per_event.toFixed(2)} requests/event (${(share(m.local) * 100).toFixed(0)}% of the full mesh's ${m.local.full_mesh_requests_per_event}), `
    + `global interests ${m.global.requests_per_event.toFixed(2)} (${(share(m.global) * 100).toFixed(0)}%).`);
}
console.log(`- D1 rows per accepted event: ${rowsWritten.toFixed(1)} written, ${rowsRead.toFixed(1)} read (paced; ${measured.burst.local.d1_rows_read_per_event.toFixed(1)} read in bursts).\n`);
console.log('| events/day | clients | design | interests | forwards/event | DO requests/month | DO GB-s | D1 rows written | D1 rows read | DO req. $ | DO dur. $ | D1 write $ | D1 read $ | D1 storage $ | total $/month |');
console.log('|---:|---:|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
for (const eventsPerDay of [1e6, 100e6]) {
  for (const clients of [10e3, 1e6]) {
    for (const [design, interest] of [['interest', 'local'], ['interest', 'global'], ['mesh', 'any']]) {
      const m = month({ eventsPerDay, clients, design, interest });
      console.log(`| ${fmt(eventsPerDay)} | ${fmt(clients)} | ${design === 'mesh' ? 'full mesh' : 'this design'} | ${interest} | ${m.fwdPerEvent.toFixed(2)} | ${fmt(m.doRequests)} | ${fmt(m.gbSeconds)} | ${fmt(m.d1Writes)} | ${fmt(m.d1Reads)} | `
        + `${usd(m.cost.doRequests)} | ${usd(m.cost.doDuration)} | ${usd(m.cost.d1Writes)} | ${usd(m.cost.d1Reads)} | ${usd(m.cost.d1Storage)} | **${usd(m.total)}** |`);
    }
  }
}
