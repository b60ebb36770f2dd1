// Export and import events through a relay's HTTP API (docs/openapi.yaml):
// the way to move events in and out of the Cloudflare host, and it works on
// the native server too (which also has `nostr-relay-server export|import`).
//   node scripts/relay-api.mjs export URL [--filter JSON] [--page N] > events.jsonl
//   node scripts/relay-api.mjs import URL [--concurrency N] < events.jsonl
// export: JSON lines, newest first, each event exactly as the relay stored it
//   (the API serves the raw bytes). Pages are walked by `until`; events of one
//   second that do not fit in one page cannot be paged through by a filter,
//   and are reported as possibly missing. Gift wraps (kind 1059) are only
//   served to their recipient over NIP-42, never through the API.
// import: one POST /api/v1/events per line, byte for byte, every event
//   verified and judged by the relay's policy; 429 (rate-limited) and 503
//   (transient) are retried with backoff. Prints a summary (accepted,
//   duplicate, invalid, refused) on stderr, with a progress line on a terminal.
//   Exit status: 0, or 1 if a line could not be delivered at all.
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';

const { positionals, values } = parseArgs({
  allowPositionals: true,
  options: {
    filter: { type: 'string', default: '{}' },
    page: { type: 'string', default: '500' },
    concurrency: { type: 'string', default: '8' },
  },
});
const [command, base] = positionals;
if (!['export', 'import'].includes(command) || !base) {
  console.error('usage: relay-api.mjs export URL [--filter JSON] [--page N] > events.jsonl\n'
    + '       relay-api.mjs import URL [--concurrency N] < events.jsonl');
  process.exit(2);
}
const url = (path) => new URL(path, base.replace(/^ws/, 'http')).toString();
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const tty = process.stderr.isTTY;
const progress = (text) => {
  if (tty) process.stderr.write(`\r${text}\x1b[K`);
};

async function exportEvents() {
  const filter = JSON.parse(values.filter);
  const page = Number(values.page);
  let until = filter.until;
  const seenAtUntil = new Set(); // ids already written with created_at == until
  let written = 0;
  const gaps = [];
  for (;;) {
    const body = JSON.stringify([{ ...filter, limit: page, ...(until !== undefined ? { until } : {}) }]);
    const res = await fetch(url('/api/v1/query'), { method: 'POST', headers: { 'content-type': 'application/json' }, body });
    if (res.status !== 200 && res.status !== 206) throw new Error(`POST /api/v1/query answered ${res.status}: ${await res.text()}`);
    const lines = (await res.text()).split('\n').filter((l) => l.length > 0);
    let fresh = 0;
    let oldest = Infinity;
    for (const line of lines) {
      const { id, created_at: t } = JSON.parse(line);
      oldest = Math.min(oldest, t);
      if (t === until && seenAtUntil.has(id)) continue;
      process.stdout.write(`${line}\n`);
      ++fresh;
      ++written;
    }
    progress(`exported ${written} events`);
    if (lines.length === 0 || (fresh === 0 && oldest === until)) {
      // Nothing new: done, unless the page was full of one second's events.
      if (lines.length < page && res.status === 200) break;
      gaps.push(until);
      until -= 1;
      seenAtUntil.clear();
      if (until < 0) break;
      continue;
    }
    if (oldest !== until) seenAtUntil.clear();
    for (const line of lines) {
      const { id, created_at: t } = JSON.parse(line);
      if (t === oldest) seenAtUntil.add(id);
    }
    until = oldest;
  }
  if (tty) process.stderr.write('\n');
  console.error(`exported ${written} events`);
  if (gaps.length) console.error(`possibly incomplete: more events than one page (${page}) at created_at ${gaps.join(', ')}; use a larger --page`);
}

async function importEvents() {
  const counts = { accepted: 0, duplicate: 0, invalid: 0, refused: 0, failed: 0 };
  const refusals = new Map();
  let lineNo = 0;
  const post = async (line) => {
    for (let attempt = 0; ; attempt++) {
      let res;
      try {
        res = await fetch(url('/api/v1/events'), { method: 'POST', headers: { 'content-type': 'application/json' }, body: line });
      } catch (err) {
        if (attempt < 5) {
          await sleep(500 * 2 ** attempt);
          continue;
        }
        return { kind: 'failed', message: `${err?.message ?? err}` };
      }
      const text = await res.text();
      let answer;
      try {
        answer = JSON.parse(text);
      } catch {
        answer = { message: text };
      }
      const message = answer.message ?? answer.error ?? '';
      if ((res.status === 429 || res.status === 503) && attempt < 8) {
        await sleep(Math.min(30000, 1000 * 2 ** attempt));
        continue;
      }
      if (res.status === 200) return { kind: message.startsWith('duplicate:') ? 'duplicate' : 'accepted' };
      if (res.status === 400 || res.status === 413) return { kind: 'invalid', message };
      if (res.status === 429 || res.status === 503) return { kind: 'failed', message };
      return { kind: 'refused', message };
    }
  };
  const inFlight = new Set();
  const limit = Number(values.concurrency);
  const rl = createInterface({ input: process.stdin, crlfDelay: Infinity });
  for await (const raw of rl) {
    const n = ++lineNo;
    if (raw.trim() === '') continue;
    const p = post(raw).then((r) => {
      counts[r.kind] += 1;
      if (r.message && r.kind !== 'accepted' && r.kind !== 'duplicate') {
        const key = r.message.slice(0, 120);
        refusals.set(key, (refusals.get(key) ?? 0) + 1);
        if (refusals.get(key) === 1) console.error(`line ${n}: ${r.kind}: ${r.message}`);
      }
      inFlight.delete(p);
      progress(`imported ${counts.accepted} accepted, ${counts.duplicate} duplicate, ${counts.invalid} invalid, ${counts.refused} refused`);
    });
    inFlight.add(p);
    if (inFlight.size >= limit) await Promise.race(inFlight);
  }
  await Promise.all(inFlight);
  if (tty) process.stderr.write('\n');
  console.error(JSON.stringify(counts));
  return counts.failed > 0 ? 1 : 0;
}

if (command === 'export') await exportEvents();
else process.exitCode = await importEvents();
