// Writes the relay benchmark results into docs/benchmarks.md between
// <!-- relay:begin --> and <!-- relay:end --> (the rest of the file is left alone).
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, fmt } from './lib.mjs';

const BEGIN = '<!-- relay:begin -->';
const END = '<!-- relay:end -->';
const mark = (ok) => (ok ? 'yes' : '**no**');

export function markdown(r) {
  const m = r.machine;
  const L = [];
  L.push('## Relay end to end (wrangler dev, local workerd + local D1)', '');
  L.push(`Measured ${m.date.slice(0, 16).replace('T', ' ')} UTC by \`scripts/bench-relay\` (bench/relay/), commit ${m.git}.`);
  L.push(`Machine: ${m.cpu}, ${m.nproc} cores, load average at start ${m.loadavg}. node ${m.node}, wrangler ${m.wrangler}, workerd ${m.workerd}.`);
  L.push('Client and relay share the machine; events are signed with nostr-tools before timing. CPU time is utime+stime of the workerd process(es)');
  L.push('(which also run local D1/SQLite) from /proc, divided by events.', '');

  const g = r.ingest;
  if (g) {
    L.push('### Ingest', '');
    L.push('| events | connections | in flight per conn | OK true | events/s | OK p50 ms | OK p99 ms | workerd CPU µs/event | workerd CPU | read back lost |');
    L.push('|---|---|---|---|---|---|---|---|---|---|');
    L.push(`| ${g.events} | ${g.conns} | ${g.window} | ${g.ok_true} | ${fmt(g.events_per_s, 0)} | ${fmt(g.ok_latency_ms.p50)} | ${fmt(g.ok_latency_ms.p99)} | ${fmt(g.workerd_cpu_us_per_event, 0)} | ${fmt(g.workerd_cpu_util * 100, 0)}% | ${r.readback ? r.readback.lost : '?'} |`);
    if (r.seed) {
      const s = r.seed;
      L.push(`| ${s.events} (seeding the query set) | ${s.conns} | ${s.window} | ${s.ok_true} | ${fmt(s.events_per_s, 0)} | ${fmt(s.ok_latency_ms.p50)} | ${fmt(s.ok_latency_ms.p99)} | ${fmt(s.workerd_cpu_us_per_event, 0)} | ${fmt(s.workerd_cpu_util * 100, 0)}% | |`);
    }
    if (Object.keys(g.rejected).length) L.push('', `Rejected: ${JSON.stringify(g.rejected)}`);
    L.push('');
  }
  if (r.fanout?.length) {
    L.push('### Fan-out', '');
    L.push('| mode | subscribers × events | delivered | deliveries/s | latency p50 ms | latency p99 ms | workerd CPU µs/delivery |');
    L.push('|---|---|---|---|---|---|---|');
    for (const f of r.fanout) {
      const mode = f.pace_ms ? `paced (1 event / ${f.pace_ms} ms)` : 'burst (back to back)';
      L.push(`| ${mode} | ${f.subscribers} × ${f.events} | ${f.deliveries}/${f.expected}${f.duplicates ? ` (${f.duplicates} dup)` : ''} | ${fmt(f.deliveries_per_s, 0)} | ${fmt(f.latency_ms.p50)} | ${fmt(f.latency_ms.p99)} | ${fmt(f.workerd_cpu_us_per_delivery, 1)} |`);
    }
    L.push('');
  }
  if (r.costs) {
    L.push('### Where the CPU goes per EVENT frame (workerd utime+stime from /proc, 1 connection, 32 in flight)', '');
    L.push('| frame | workerd CPU µs/frame | frames/s |');
    L.push('|---|---|---|');
    for (const c of r.costs) L.push(`| ${c.label} | ${fmt(c.workerd_us_per_frame, 0)} | ${fmt(c.per_s, 0)} |`);
    L.push('');
  }
  if (r.queries) {
    L.push('### Queries (REQ → EOSE, one at a time)', '');
    L.push(`Stored events: ${r.stored} (2000 authors; kinds 1/7/6/0/30023; e/p tags; created_at over 30 days). ${r.queries[0].latency_ms.n} samples per row after 20 warm-up queries.`, '');
    L.push('| filter | p50 ms | p99 ms | events returned (avg / max) | workerd CPU ms/query |');
    L.push('|---|---|---|---|---|');
    for (const q of r.queries) {
      L.push(`| ${q.name} | ${fmt(q.latency_ms.p50, 2)} | ${fmt(q.latency_ms.p99, 2)} | ${fmt(q.events_mean, 1)} / ${q.events_max} | ${fmt(q.workerd_cpu_ms_per_query, 2)} |`);
    }
    L.push('');
  }

  L.push('### Against the targets', '');
  L.push('| target | measured | met |');
  L.push('|---|---|---|');
  if (g) {
    L.push(`| ingest ≥ 3,000 events/s | ${fmt(g.events_per_s, 0)} | ${mark(g.events_per_s >= 3000)} |`);
    L.push(`| ingest p99 OK < 100 ms | ${fmt(g.ok_latency_ms.p99)} ms | ${mark(g.ok_latency_ms.p99 < 100)} |`);
    if (r.readback) L.push(`| no lost events | ${r.readback.lost} lost of ${r.readback.checked} | ${mark(r.readback.lost === 0)} |`);
  }
  const b = r.fanout?.find((f) => !f.pace_ms);
  if (b) L.push(`| fan-out ≥ 80,000 deliveries/s | ${fmt(b.deliveries_per_s, 0)} | ${mark(b.deliveries_per_s >= 80000)} |`);
  if (b) L.push(`| fan-out complete | ${b.deliveries}/${b.expected} | ${mark(b.complete && !b.duplicates)} |`);
  if (r.queries) {
    for (const q of r.queries.filter((x) => !/limit 500/.test(x.name))) {
      L.push(`| typical query p50 ≤ 2 ms: ${q.name} | ${fmt(q.latency_ms.p50, 2)} ms | ${mark(q.latency_ms.p50 <= 2)} |`);
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
