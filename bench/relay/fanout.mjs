// Fan-out: `subs` subscriber connections REQ {kinds:[1], #t:[tag]}; one
// publisher sends the pre-signed events (burst: back to back, at most `window`
// without an OK, as the relay's per-connection write budget expects of a
// client; paced: one every paceMs). Deliveries/s, publish→delivery latency,
// completeness.
import { Conn, cpuDelta, cpuSnapshot, eventId, openMany, sleep, summary } from './lib.mjs';

export async function fanout(relay, events, { subs = 200, tag, mode = 'burst', paceMs = 10, window = 16, timeoutMs = 120000, log = console.error, hooks = {} } = {}) {
  const label = `fanout-${mode}`;
  const frames = events.map((e) => `["EVENT",${JSON.stringify(e)}]`);
  const sentAt = new Map();
  const latency = [];
  const got = Array.from({ length: subs }, () => new Set());
  let deliveries = 0;
  let duplicates = 0;
  let eosed = 0;
  let lastAt = 0;
  const expected = subs * events.length;
  let allEose;
  const eosePromise = new Promise((r) => (allEose = r));
  let allIn;
  const inPromise = new Promise((r) => (allIn = r));

  const onText = (s, text, t) => {
    if (text.startsWith('["EVENT"')) {
      const id = eventId(text);
      const sent = sentAt.get(id);
      if (sent === undefined) return;
      if (got[s].has(id)) {
        duplicates++;
        return;
      }
      got[s].add(id);
      latency.push(t - sent);
      lastAt = t;
      if (++deliveries === expected) allIn();
    } else if (text.startsWith('["EOSE"')) {
      if (++eosed === subs) allEose();
    }
  };
  const subscribers = await openMany(relay.wsUrl, subs, onText);
  const req = JSON.stringify(['REQ', 'fan', { kinds: [1], '#t': [tag] }]);
  for (const c of subscribers) c.send(req);
  await eosePromise;
  const oks = new Set();
  let sent = 0;
  let pump = () => {};
  const publisher = await Conn.open(relay.wsUrl, (text) => {
    if (text.startsWith('["OK"')) {
      oks.add(text);
      pump();
    }
  });
  await sleep(300);
  await hooks.start?.();

  const cpu0 = cpuSnapshot(relay);
  const t0 = performance.now();
  const send = (i) => {
    sentAt.set(events[i].id, performance.now());
    publisher.send(frames[i]);
    sent++;
  };
  if (mode === 'paced') {
    for (let i = 0; i < events.length; i++) {
      send(i);
      await sleep(paceMs);
    }
  } else {
    pump = () => {
      while (sent < events.length && sent - oks.size < window) send(sent);
    };
    pump();
  }
  const timer = setTimeout(allIn, timeoutMs);
  await inPromise;
  clearTimeout(timer);
  const cpu = cpuDelta(cpu0, cpuSnapshot(relay));
  await hooks.stop?.();
  const secs = (lastAt - t0) / 1000;
  const result = {
    label,
    subscribers: subs,
    events: events.length,
    expected,
    deliveries,
    duplicates,
    complete: deliveries === expected,
    seconds: secs,
    deliveries_per_s: deliveries / secs,
    latency_ms: summary(latency),
    pace_ms: mode === 'paced' ? paceMs : 0,
    workerd_cpu_s: cpu.workerd,
    workerd_cpu_us_per_delivery: (cpu.workerd / Math.max(1, deliveries)) * 1e6,
    worker_cpu_us_per_delivery: (cpu.worker / Math.max(1, deliveries)) * 1e6,
    proxy_cpu_us_per_delivery: (cpu.proxy / Math.max(1, deliveries)) * 1e6,
    worker_cpu_util: cpu.worker / cpu.wall,
    proxy_cpu_util: cpu.proxy / cpu.wall,
    workerd_cpu_util: cpu.workerd / cpu.wall,
    client_cpu_util: cpu.client / cpu.wall,
  };
  log(`${label}: ${deliveries}/${expected} deliveries (${duplicates} dup) in ${secs.toFixed(2)} s = ${result.deliveries_per_s.toFixed(0)}/s, ` +
    `latency p50 ${result.latency_ms.p50.toFixed(1)} ms p99 ${result.latency_ms.p99.toFixed(1)} ms, ` +
    `CPU µs/delivery worker ${result.worker_cpu_us_per_delivery.toFixed(1)} + proxy ${result.proxy_cpu_us_per_delivery.toFixed(1)}; worker ${(result.worker_cpu_util * 100).toFixed(0)}% proxy ${(result.proxy_cpu_util * 100).toFixed(0)}% client ${(result.client_cpu_util * 100).toFixed(0)}% of a core`);
  for (const c of subscribers) c.close();
  publisher.close();
  return result;
}
