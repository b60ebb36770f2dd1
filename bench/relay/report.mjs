// Writes the relay benchmark results into docs/benchmarks.md between
// <!-- relay:begin --> and <!-- relay:end --> (the rest of the file is left alone).
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, fmt } from './lib.mjs';

const BEGIN = '<!-- relay:begin -->';
const END = '<!-- relay:end -->';
const mark = (ok) => (ok ? '(met)' : '(**missed**)');

export function markdown(r) {
  const m = r.machine;
  const runs = r.runs;
  const L = [];
  L.push('## Relay end to end (wrangler dev, local workerd + local D1)', '');
  L.push(`Measured ${m.date.slice(0, 16).replace('T', ' ')} UTC by \`scripts/bench-relay\` (bench/relay/), commit ${m.git}.`);
  L.push(`Machine: ${m.cpu}, ${m.nproc} cores, load average at start ${m.loadavg}. node ${m.node}, wrangler ${m.wrangler}, workerd ${m.workerd}.`);
  L.push('Client and relay share the machine; events are signed with nostr-tools before timing (pre-signed corpora cached in build/).');
  L.push('CPU is utime+stime from /proc of the two workerd processes `wrangler dev` runs: "worker" (Worker + Durable Object + local D1/SQLite)');
  L.push('and "proxy" (wrangler\'s proxy in front of it, which forwards every frame; not present in production).');
  L.push('Each benchmark runs with two clients: node 22\'s built-in WebSocket, which offers permessage-deflate (as browsers do; workerd accepts it),');
  L.push('and the `ws` package with compression off.', '');

  const g0 = runs.find((x) => x.ingest);
  if (g0) {
    L.push('### Ingest', '');
    L.push(`${g0.ingest.events} pre-signed kind-1 events (100-300 chars), ${g0.ingest.conns} connections, at most ${g0.ingest.window} events without an OK per connection; then every OK'd event is read back by id.`, '');
    L.push('| client | OK true | events/s | OK p50 ms | OK p99 ms | CPU µs/event worker + proxy | worker busy | lost on read-back |');
    L.push('|---|---|---|---|---|---|---|---|');
    for (const run of runs.filter((x) => x.ingest)) {
      const g = run.ingest;
      L.push(`| ${run.clientName} | ${g.ok_true}/${g.events} | ${fmt(g.events_per_s, 0)} | ${fmt(g.ok_latency_ms.p50)} | ${fmt(g.ok_latency_ms.p99)} | ${fmt(g.worker_cpu_us_per_event, 0)} + ${fmt(g.proxy_cpu_us_per_event, 0)} | ${fmt(g.worker_cpu_util * 100, 0)}% | ${run.readback ? run.readback.lost : '?'} |`);
      if (Object.keys(g.rejected).length) L.push(`| (rejected: ${JSON.stringify(g.rejected)}) | | | | | | | |`);
    }
    if (r.seed) {
      const s = r.seed;
      L.push(`| seeding the query set (${s.events} events, 8 × 32 in flight, growing DB) | ${s.ok_true} | ${fmt(s.events_per_s, 0)} | ${fmt(s.ok_latency_ms.p50)} | ${fmt(s.ok_latency_ms.p99)} | ${fmt(s.worker_cpu_us_per_event, 0)} + ${fmt(s.proxy_cpu_us_per_event, 0)} | ${fmt(s.worker_cpu_util * 100, 0)}% | |`);
    }
    L.push('');
  }

  const c0 = runs.find((x) => x.costs);
  if (c0) {
    L.push('### Where the CPU goes, per frame', '');
    L.push('One connection, 32 frames in flight, 1000 frames each. The calibration row is a Durable Object that only echoes each frame (bench/relay/echo/): the local platform floor with no relay code, wasm or D1.', '');
    L.push(`| frame | ${runs.filter((x) => x.costs).map((x) => `${x.client}: µs worker + proxy`).join(' | ')} |`);
    L.push(`|---|${runs.filter((x) => x.costs).map(() => '---').join('|')}|`);
    for (let i = 0; i < c0.costs.length; i++) {
      L.push(`| ${c0.costs[i].label} | ${runs.filter((x) => x.costs).map((x) => `${fmt(x.costs[i].worker_us_per_frame, 0)} + ${fmt(x.costs[i].proxy_us_per_frame, 0)}`).join(' | ')} |`);
    }
    L.push('');
  }

  if (runs.some((x) => x.fanout.length)) {
    L.push('### Fan-out', '');
    L.push('Subscribers REQ `{"kinds":[1],"#t":[tag]}`; one publisher sends 100 events (burst: back to back; paced: one every 20 ms). Latency is publisher send → subscriber receive.', '');
    L.push('| client | mode | subscribers × events | delivered | deliveries/s | latency p50 ms | latency p99 ms | CPU µs/delivery worker + proxy |');
    L.push('|---|---|---|---|---|---|---|---|');
    for (const run of runs) {
      for (const f of run.fanout) {
        const mode = f.pace_ms ? `paced (${f.pace_ms} ms)` : 'burst';
        L.push(`| ${run.client} | ${mode} | ${f.subscribers} × ${f.events} | ${f.deliveries}/${f.expected}${f.duplicates ? ` (${f.duplicates} dup)` : ''} | ${fmt(f.deliveries_per_s, 0)} | ${fmt(f.latency_ms.p50)} | ${fmt(f.latency_ms.p99)} | ${fmt(f.worker_cpu_us_per_delivery, 1)} + ${fmt(f.proxy_cpu_us_per_delivery, 1)} |`);
      }
    }
    L.push('');
  }

  const qr = runs.filter((x) => x.queries);
  if (qr.length) {
    L.push('### Queries (REQ → EOSE, one at a time on one connection)', '');
    L.push(`Stored events: ${r.stored} (2000 authors; kinds 1/7/6/0/30023; e/p tags; created_at over 30 days; seeded through the relay). ${qr[0].queries[0].latency_ms.n} samples per row (random parameters) after 20 warm-up queries.`, '');
    L.push(`| filter | events returned avg / max | ${qr.map((x) => `${x.client} p50 / p99 ms`).join(' | ')} | ${qr.map((x) => `${x.client} CPU ms/query`).join(' | ')} |`);
    L.push(`|---|---|${qr.map(() => '---').join('|')}|${qr.map(() => '---').join('|')}|`);
    for (let i = 0; i < qr[0].queries.length; i++) {
      const q = qr[0].queries[i];
      L.push(`| ${q.name} | ${fmt(q.events_mean, 1)} / ${q.events_max} | ${qr.map((x) => `${fmt(x.queries[i].latency_ms.p50, 2)} / ${fmt(x.queries[i].latency_ms.p99, 2)}`).join(' | ')} | ${qr.map((x) => fmt(x.queries[i].workerd_cpu_ms_per_query, 2)).join(' | ')} |`);
    }
    L.push('');
  }

  L.push('### Against the targets', '');
  L.push(`| target | ${runs.map((x) => x.client).join(' | ')} |`);
  L.push(`|---|${runs.map(() => '---').join('|')}|`);
  const row = (name, f) => L.push(`| ${name} | ${runs.map((x) => f(x) ?? '-').join(' | ')} |`);
  row('ingest ≥ 3,000 events/s', (x) => x.ingest && `${fmt(x.ingest.events_per_s, 0)} ${mark(x.ingest.events_per_s >= 3000)}`);
  row('ingest p99 OK < 100 ms', (x) => x.ingest && `${fmt(x.ingest.ok_latency_ms.p99)} ms ${mark(x.ingest.ok_latency_ms.p99 < 100)}`);
  row('no lost events', (x) => x.readback && `${x.readback.lost} lost ${mark(x.readback.lost === 0)}`);
  row('fan-out ≥ 80,000 deliveries/s (burst)', (x) => {
    const b = x.fanout.find((f) => !f.pace_ms);
    return b && `${fmt(b.deliveries_per_s, 0)} ${mark(b.deliveries_per_s >= 80000)}`;
  });
  row('fan-out complete, no duplicates', (x) => x.fanout.length ? mark(x.fanout.every((f) => f.complete && !f.duplicates)) : null);
  if (qr.length) {
    for (let i = 0; i < qr[0].queries.length; i++) {
      if (/limit 500|100 authors/.test(qr[0].queries[i].name)) continue;
      row(`query p50 ≤ 2 ms: ${qr[0].queries[i].name}`, (x) => x.queries && `${fmt(x.queries[i].latency_ms.p50, 2)} ms ${mark(x.queries[i].latency_ms.p50 <= 2)}`);
    }
  }
  L.push('', 'Reference: a well-known JS relay on the same stack (Workers + DO + D1) does 84 events/s and ~10 ms queries on this machine.');
  // Hand-written analysis (where the time goes), kept next to the code.
  const notes = join(ROOT, 'bench/relay/notes.md');
  if (existsSync(notes)) L.push('', readFileSync(notes, 'utf8').trim());
  return L.join('\n');
}

export function writeDocs(r, file = join(ROOT, 'docs/benchmarks.md')) {
  const block = `${BEGIN}\n${markdown(r)}\n${END}`;
  let text = existsSync(file) ? readFileSync(file, 'utf8') : '# Benchmarks\n';
  const a = text.indexOf(BEGIN);
  const b = text.indexOf(END);
  if (a >= 0 && b > a) text = text.slice(0, a) + block + text.slice(b + END.length);
  else text = `${text.replace(/\s*$/, '')}\n\n${block}\n`;
  writeFileSync(file, text);
  return file;
}

// node bench/relay/report.mjs build/bench-relay/results-....json  → rewrites the docs section
if (import.meta.url === `file://${process.argv[1]}`) {
  const r = JSON.parse(readFileSync(process.argv[2], 'utf8'));
  console.log(writeDocs(r));
}
