// Query: REQ → EOSE latency against a large stored set, one REQ at a time on
// one connection (each closed after its EOSE).
import { Conn, cpuDelta, cpuSnapshot, rng, summary } from './lib.mjs';

// Search words: corpus words (corpora.mjs WORDS), some non-ASCII.
const SEARCH_WORDS = ['nostr', 'relay', 'water', 'people', 'bitcoin', 'number', 'café', 'über', 'Über', 'CAFE', '日本語'];

// Sample filters drawn from the seed corpus (see corpora.mjs).
export function querySets(seed, { samples = 250, randomSeed = 7 } = {}) {
  const r = rng(randomSeed);
  const pick = (a) => a[Math.floor(r() * a.length)];
  const authors = [...new Set(seed.map((e) => e.pubkey))];
  const eRefs = [...new Set(seed.flatMap((e) => e.tags.filter((t) => t[0] === 'e').map((t) => t[1])))];
  const pRefs = [...new Set(seed.flatMap((e) => e.tags.filter((t) => t[0] === 'p').map((t) => t[1])))];
  const stored = seed.filter((e) => e.kind !== 0 && e.kind !== 30023); // never replaced
  const times = seed.map((e) => e.created_at).sort((a, b) => a - b);
  const tMin = times[0];
  const tMax = times[times.length - 1];
  const gen = (f) => Array.from({ length: samples }, f);
  return [
    { name: 'authors+kinds, limit 100 (1 author)', filters: gen(() => ({ authors: [pick(authors)], kinds: [1], limit: 100 })) },
    {
      name: 'authors+kinds, limit 100 (feed of 100 authors)',
      filters: gen(() => ({ authors: Array.from({ length: 100 }, () => pick(authors)).filter((a, i, arr) => arr.indexOf(a) === i), kinds: [1, 6], limit: 100 })),
    },
    { name: '#e (thread)', filters: gen(() => ({ '#e': [pick(eRefs)] })) },
    { name: '#p (mentions), limit 100', filters: gen(() => ({ '#p': [pick(pRefs)], limit: 100 })) },
    { name: 'kinds+since, limit 500', filters: gen(() => ({ kinds: [1], since: Math.floor(tMin + r() * (tMax - tMin)), limit: 500 })) },
    { name: '50 ids', filters: gen(() => ({ ids: Array.from({ length: 50 }, () => pick(stored).id) })) },
    // NIP-50 over the FTS5 index: every corpus word is in a large share of the
    // notes, so one word ranks tens of thousands of matches (the worst case);
    // two words fewer; an author narrows it further.
    { name: 'search, 1 word, limit 100', filters: gen(() => ({ search: pick(SEARCH_WORDS), limit: 100 })) },
    { name: 'search, 2 words, limit 20', filters: gen(() => ({ search: `${pick(SEARCH_WORDS)} ${pick(SEARCH_WORDS)}`, limit: 20 })) },
    { name: 'search + author, limit 20', filters: gen(() => ({ search: pick(SEARCH_WORDS), authors: [pick(authors)], limit: 20 })) },
  ];
}

export async function queries(relay, sets, { warmup = 20, log = console.error, skipRefused = false } = {}) {
  let waiting = null;
  let count = 0;
  let closed = null;
  const conn = await Conn.open(relay.wsUrl, (text, t) => {
    if (!waiting) return;
    if (text.startsWith('["EVENT"')) count++;
    else if (text.startsWith('["EOSE"') || text.startsWith('["CLOSED"')) {
      if (text.startsWith('["CLOSED"')) closed = text;
      const w = waiting;
      waiting = null;
      w(t);
    }
  });
  await new Promise((r) => setTimeout(r, 200));
  const one = async (i, filter) => {
    count = 0;
    closed = null;
    const sub = `q${i}`;
    const p = new Promise((r) => (waiting = r));
    const t0 = performance.now();
    conn.send(JSON.stringify(['REQ', sub, filter]));
    const t1 = await p;
    conn.send(JSON.stringify(['CLOSE', sub]));
    if (closed) throw new Error(`REQ ${JSON.stringify(filter).slice(0, 200)} → ${closed}`);
    return { ms: t1 - t0, n: count };
  };
  const results = [];
  let k = 0;
  for (const set of sets) {
    if (skipRefused) {
      // Another relay may not support a shape (e.g. NIP-50 search): note it, go on.
      try {
        await one(k++, set.filters[0]);
      } catch (err) {
        results.push({ name: set.name, refused: String(err.message) });
        log(`query ${set.name}: refused (${err.message.slice(0, 160)})`);
        continue;
      }
    }
    for (let i = 0; i < Math.min(warmup, set.filters.length); i++) await one(k++, set.filters[i]);
    const ms = [];
    const ns = [];
    const cpu0 = cpuSnapshot(relay);
    for (const f of set.filters) {
      const { ms: m, n } = await one(k++, f);
      ms.push(m);
      ns.push(n);
    }
    const cpu = cpuDelta(cpu0, cpuSnapshot(relay));
    const res = {
      name: set.name,
      example: set.filters[0],
      latency_ms: summary(ms),
      events_mean: ns.reduce((a, b) => a + b, 0) / ns.length,
      events_max: Math.max(...ns),
      workerd_cpu_ms_per_query: (cpu.workerd / ms.length) * 1000,
      worker_cpu_ms_per_query: (cpu.worker / ms.length) * 1000,
      proxy_cpu_ms_per_query: (cpu.proxy / ms.length) * 1000,
    };
    results.push(res);
    log(`query ${set.name}: p50 ${res.latency_ms.p50.toFixed(2)} ms p99 ${res.latency_ms.p99.toFixed(2)} ms, ` +
      `${res.events_mean.toFixed(1)} events avg (max ${res.events_max}), CPU ms/query worker ${res.worker_cpu_ms_per_query.toFixed(2)} + proxy ${res.proxy_cpu_ms_per_query.toFixed(2)}`);
  }
  conn.close();
  return results;
}

// COUNT of everything stored (or null if the relay refuses).
export async function storedCount(relay, filter = {}) {
  let resolve;
  const p = new Promise((r) => (resolve = r));
  const conn = await Conn.open(relay.wsUrl, (text) => {
    if (text.startsWith('["COUNT"')) resolve(JSON.parse(text)[2].count);
    else if (text.startsWith('["CLOSED"') || text.startsWith('["NOTICE"')) resolve(null);
  });
  conn.send(JSON.stringify(['COUNT', 'n', filter]));
  let timer;
  const n = await Promise.race([p, new Promise((r) => (timer = setTimeout(() => r(null), 120000)))]);
  clearTimeout(timer);
  conn.close();
  return n;
}
