// Ingest: N connections pipeline pre-signed events (at most `window` without an
// OK per connection); OK-true events/s, send→OK latency, then every OK'd event
// is read back by id (lost must be 0).
import { Conn, cpuDelta, cpuSnapshot, eventId, okId, openMany, summary } from './lib.mjs';

export async function ingest(relay, events, { conns = 8, window = 16, timeoutMs = 600000, label = 'ingest', log = console.error } = {}) {
  const frames = events.map((e) => `["EVENT",${JSON.stringify(e)}]`); // serialized before timing
  const queues = Array.from({ length: conns }, () => []);
  frames.forEach((f, i) => queues[i % conns].push(i));
  const sentAt = new Float64Array(events.length);
  const latency = [];
  const okIds = [];
  const rejected = new Map(); // message -> count
  let answered = 0;
  let done;
  const finished = new Promise((r) => (done = r));
  const next = Array(conns).fill(0);
  let clients = [];

  const pump = (c) => {
    const q = queues[c];
    while (next[c] < q.length && next[c] - clients[c].acked < window) {
      const i = q[next[c]++];
      sentAt[i] = performance.now();
      clients[c].send(frames[i]);
    }
  };
  const index = new Map(events.map((e, i) => [e.id, i]));
  const onText = (c, text, t) => {
    const id = okId(text);
    if (id === null) return; // AUTH, NOTICE
    const i = index.get(id);
    if (i === undefined) return;
    latency.push(t - sentAt[i]);
    if (text.charCodeAt(73) === 116 /* t of true */) {
      okIds.push(id);
    } else {
      const msg = JSON.parse(text)[3];
      rejected.set(msg, (rejected.get(msg) ?? 0) + 1);
    }
    clients[c].acked++;
    if (++answered === events.length) done();
    else pump(c);
  };

  clients = await openMany(relay.wsUrl, conns, onText);
  for (const c of clients) c.acked = 0;
  await new Promise((r) => setTimeout(r, 200)); // AUTH frames in
  const cpu0 = cpuSnapshot(relay);
  const t0 = performance.now();
  for (let c = 0; c < conns; c++) pump(c);
  const timer = setTimeout(done, timeoutMs);
  await finished;
  clearTimeout(timer);
  const t1 = performance.now();
  const cpu = cpuDelta(cpu0, cpuSnapshot(relay));
  const secs = (t1 - t0) / 1000;
  const result = {
    label,
    events: events.length,
    conns,
    window,
    answered,
    ok_true: okIds.length,
    rejected: Object.fromEntries(rejected),
    seconds: secs,
    events_per_s: okIds.length / secs,
    ok_latency_ms: summary(latency),
    workerd_cpu_s: cpu.workerd,
    workerd_cpu_us_per_event: (cpu.workerd / Math.max(1, answered)) * 1e6,
    worker_cpu_us_per_event: (cpu.worker / Math.max(1, answered)) * 1e6,
    proxy_cpu_us_per_event: (cpu.proxy / Math.max(1, answered)) * 1e6,
    worker_cpu_util: cpu.worker / secs,
    workerd_cpu_util: cpu.workerd / secs,
    client_cpu_util: cpu.client / secs,
  };
  log(`${label}: ${okIds.length}/${events.length} OK true in ${secs.toFixed(2)} s = ${result.events_per_s.toFixed(0)} ev/s, ` +
    `OK p50 ${result.ok_latency_ms.p50.toFixed(1)} ms p99 ${result.ok_latency_ms.p99.toFixed(1)} ms, ` +
    `workerd ${result.workerd_cpu_us_per_event.toFixed(0)} µs CPU/event (worker ${result.worker_cpu_us_per_event.toFixed(0)} + proxy ${result.proxy_cpu_us_per_event.toFixed(0)}; worker at ${(result.worker_cpu_util * 100).toFixed(0)}% of a core), ` +
    `client ${(result.client_cpu_util * 100).toFixed(0)}%`);
  for (const c of clients) c.close();
  return { result, okIds };
}

// Reads ids back with REQ {ids:[chunk]} (a few REQs in flight); returns how many were missing.
export async function readBack(relay, ids, { chunk = 100, inflight = 4, log = console.error } = {}) {
  const want = new Set(ids);
  const seen = new Set();
  const chunks = [];
  for (let i = 0; i < ids.length; i += chunk) chunks.push(ids.slice(i, i + chunk));
  let nextChunk = 0;
  let active = 0;
  let done;
  const finished = new Promise((r) => (done = r));
  let conn;
  const launch = () => {
    while (active < inflight && nextChunk < chunks.length) {
      const k = nextChunk++;
      active++;
      conn.send(JSON.stringify(['REQ', `rb${k}`, { ids: chunks[k] }]));
    }
    if (active === 0 && nextChunk >= chunks.length) done();
  };
  const t0 = performance.now();
  conn = await Conn.open(relay.wsUrl, (text) => {
    if (text.startsWith('["EVENT"')) {
      const id = eventId(text);
      if (want.has(id)) seen.add(id);
    } else if (text.startsWith('["EOSE"') || text.startsWith('["CLOSED"')) {
      const sub = JSON.parse(text)[1];
      if (text.startsWith('["CLOSED"')) log(`readback: ${text}`);
      conn.send(JSON.stringify(['CLOSE', sub]));
      active--;
      launch();
    }
  });
  launch();
  const timer = setTimeout(done, 300000);
  await finished;
  clearTimeout(timer);
  conn.close();
  const lost = ids.length - seen.size;
  log(`readback: ${seen.size}/${ids.length} found in ${((performance.now() - t0) / 1000).toFixed(1)} s, lost ${lost}`);
  return { checked: ids.length, found: seen.size, lost };
}
