// Fan-out across several relay objects (wrangler dev, RELAY_CONFIG
// route_pinning): `objects` objects, `subs` subscribers spread over them, one
// publisher per object. Two interest patterns:
//   local:  the subscribers of object k follow topics that only object k's
//           subscribers follow (communities by region); each event wanted by one object
//   global: every subscriber follows every topic; each event wanted everywhere
// and two publishing modes (burst: each publisher ≤ 16 events without OK;
// paced: one event every paceMs). Measures deliveries/s, latency, completeness
// and duplicates, and object-to-object requests per accepted event (the
// engines' nostr_relay_forward_requests_total) next to what a full mesh (every
// event to every other object, one request each) would send; D1 rows read and
// written per accepted event (GET /stats of each object).
import { Conn, eventId, sleep, summary } from './lib.mjs';

export const REGIONS = ['weur', 'apac', 'enam', 'sam', 'oc', 'afr', 'me', 'eeur', 'wnam'];
const TOPICS_PER_OBJECT = 10;

async function metric(relay, token, region, name) {
  const res = await fetch(`${relay.url}/metrics?region=${region}&shard=0`, { headers: { Authorization: `Bearer ${token}` } });
  const line = (await res.text()).split('\n').find((l) => l.startsWith(`${name} `));
  return Number(line?.split(' ')[1] ?? 0);
}
async function stats(relay, token, region) {
  const res = await fetch(`${relay.url}/stats?region=${region}&shard=0`, { headers: { Authorization: `Bearer ${token}` } });
  return res.json();
}

// events: pre-signed, tagged ['t', `topic-<n>`] with n in 0..objects*TOPICS_PER_OBJECT-1.
export async function objectsFanout(relay, events, { token, objects = 4, subs = 200, interest = 'local', mode = 'burst', paceMs = 20, window = 16, timeoutMs = 120000, log = console.error } = {}) {
  const regions = REGIONS.slice(0, objects);
  const topicOf = (e) => Number(e.tags.find((t) => t[0] === 't')[1].slice('topic-'.length));
  const ownerOf = (topic) => Math.floor(topic / TOPICS_PER_OBJECT) % objects;
  // Subscribers: i-th on object i % objects; "local" follows its object's topics.
  const wants = []; // per subscriber: Set of topics
  const got = [];
  const sentAt = new Map();
  const latency = [];
  let deliveries = 0;
  let duplicates = 0;
  let expected = 0;
  let lastAt = 0;
  let allIn;
  const inPromise = new Promise((r) => (allIn = r));
  const conns = [];
  let eosed = 0;
  let allEose;
  const eosePromise = new Promise((r) => (allEose = r));
  for (let i = 0; i < subs; i++) {
    const k = i % objects;
    const topics = interest === 'local'
      ? Array.from({ length: TOPICS_PER_OBJECT }, (_, j) => k * TOPICS_PER_OBJECT + j)
      : Array.from({ length: objects * TOPICS_PER_OBJECT }, (_, j) => j);
    wants.push(new Set(topics));
    got.push(new Set());
    const c = await Conn.open(`${relay.wsUrl}/?region=${regions[k]}&shard=0`, (text, t) => {
      if (text.startsWith('["EOSE"')) {
        if (++eosed === subs) allEose();
        return;
      }
      if (!text.startsWith('["EVENT"')) return;
      const id = eventId(text);
      const sent = sentAt.get(id);
      if (sent === undefined) return;
      if (got[i].has(id)) {
        duplicates++;
        return;
      }
      got[i].add(id);
      latency.push(t - sent);
      lastAt = t;
      if (++deliveries === expected) allIn();
    });
    conns.push(c);
    c.send(JSON.stringify(['REQ', 'fan', { kinds: [1], '#t': topics.map((n) => `topic-${n}`), limit: 0 }]));
  }
  await eosePromise;
  for (const e of events) {
    const topic = topicOf(e);
    for (let i = 0; i < subs; i++) if (wants[i].has(topic)) expected++;
  }
  // Publishers: one per object; event j goes out on object j % objects.
  const oks = regions.map(() => 0);
  const publishers = [];
  for (let k = 0; k < objects; k++) {
    publishers.push(await Conn.open(`${relay.wsUrl}/?region=${regions[k]}&shard=0`, (text) => {
      if (text.startsWith('["OK"')) {
        oks[k]++;
        pumps[k]?.();
      }
    }));
  }
  const before = await Promise.all(regions.map((r) => metric(relay, token, r, 'nostr_relay_forward_requests_total')));
  const acceptedBefore = await Promise.all(regions.map((r) => metric(relay, token, r, 'nostr_relay_events_accepted_total')));
  const statsBefore = await Promise.all(regions.map((r) => stats(relay, token, r)));
  await sleep(300);
  const queues = regions.map(() => []);
  events.forEach((e, j) => queues[j % objects].push(e));
  const sent = regions.map(() => 0);
  const send = (k) => {
    const e = queues[k][sent[k]++];
    sentAt.set(e.id, performance.now());
    publishers[k].send(`["EVENT",${JSON.stringify(e)}]`);
  };
  const pumps = regions.map((_, k) => () => {
    if (mode !== 'burst') return;
    while (sent[k] < queues[k].length && sent[k] - oks[k] < window) send(k);
  });
  const t0 = performance.now();
  if (mode === 'paced') {
    for (let j = 0; j < events.length; j++) {
      send(j % objects);
      await sleep(paceMs);
    }
  } else {
    for (const p of pumps) p();
  }
  const timer = setTimeout(allIn, timeoutMs);
  await inPromise;
  clearTimeout(timer);
  await sleep(500); // late duplicates would show up here
  const after = await Promise.all(regions.map((r) => metric(relay, token, r, 'nostr_relay_forward_requests_total')));
  const acceptedAfter = await Promise.all(regions.map((r) => metric(relay, token, r, 'nostr_relay_events_accepted_total')));
  const statsAfter = await Promise.all(regions.map((r) => stats(relay, token, r)));
  for (const c of [...conns, ...publishers]) c.close();
  const requests = after.reduce((a, x, k) => a + x - before[k], 0);
  const accepted = acceptedAfter.reduce((a, x, k) => a + x - acceptedBefore[k], 0);
  const rowsRead = statsAfter.reduce((a, s, k) => a + (s.d1_rows_read - statsBefore[k].d1_rows_read), 0);
  const rowsWritten = statsAfter.reduce((a, s, k) => a + (s.d1_rows_written - statsBefore[k].d1_rows_written), 0);
  const secs = (lastAt - t0) / 1000;
  const result = {
    label: `objects-${interest}-${mode}`,
    objects,
    subscribers: subs,
    events: events.length,
    accepted,
    expected,
    deliveries,
    duplicates,
    complete: deliveries === expected,
    deliveries_per_s: deliveries / secs,
    latency_ms: summary(latency),
    forward_requests: requests,
    requests_per_event: requests / accepted,
    full_mesh_requests_per_event: objects - 1,
    d1_rows_read_per_event: rowsRead / accepted,
    d1_rows_written_per_event: rowsWritten / accepted,
  };
  log(`${result.label}: ${deliveries}/${expected} deliveries (${duplicates} dup) in ${secs.toFixed(2)} s = ${result.deliveries_per_s.toFixed(0)}/s, `
    + `latency p50 ${result.latency_ms.p50.toFixed(1)} ms p99 ${result.latency_ms.p99.toFixed(1)} ms; `
    + `${requests} object-to-object requests for ${accepted} events = ${result.requests_per_event.toFixed(2)}/event (full mesh ${objects - 1}); `
    + `D1 rows/event read ${result.d1_rows_read_per_event.toFixed(1)} written ${result.d1_rows_written_per_event.toFixed(1)}`);
  return result;
}
