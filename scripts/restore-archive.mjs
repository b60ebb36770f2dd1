// Restores what retention archived: prints the archived events (raw JSON, one
// per line, byte-exact) on stdout, for an importer to read:
//   node scripts/restore-archive.mjs --wrangler-state .wrangler/state | node scripts/relay-api.mjs import URL
//   node scripts/restore-archive.mjs --remote | node scripts/relay-api.mjs import https://relay.example
//   node scripts/restore-archive.mjs --dir data/archive | build/native-release/server/nostr-relay-server import
// Sources:
//   --wrangler-state DIR  local wrangler state (wrangler dev --persist-to DIR): the
//                         keys come from D1 table `archives`, the objects from the
//                         local R2 bucket nostr-relay-archive (gzip JSON lines)
//   --remote              the same from the deployed D1 and R2 (needs `wrangler login`)
//   --dir DIR             the native server's archive directory (<key>.jsonl files,
//                         .jsonl.gz also read)
//   --from YYYY-MM-DD, --to YYYY-MM-DD  only archives of those days (inclusive)
// A summary (archives, events) goes to stderr.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { gunzipSync } from 'node:zlib';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const { values } = parseArgs({
  options: {
    'wrangler-state': { type: 'string' },
    remote: { type: 'boolean', default: false },
    dir: { type: 'string' },
    from: { type: 'string', default: '0000-00-00' },
    to: { type: 'string', default: '9999-99-99' },
  },
});
const BUCKET = 'nostr-relay-archive';
const dayOf = (key) => key.split('/')[1] ?? '';
const wanted = (key) => dayOf(key) >= values.from && dayOf(key) <= values.to;
const text = (bytes) => (bytes[0] === 0x1f && bytes[1] === 0x8b ? gunzipSync(bytes) : bytes).toString('utf8');

function wrangler(args) {
  const bin = join(ROOT, 'node_modules/.bin/wrangler');
  const r = spawnSync(bin, args, { cwd: ROOT, encoding: 'utf8', maxBuffer: 256 << 20, stdio: ['ignore', 'pipe', 'pipe'] });
  if (r.status !== 0) throw new Error(`wrangler ${args.slice(0, 3).join(' ')} failed (${r.status}):\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

// [{ key, bytes }] in key order (days, then time).
function* archives() {
  if (values.dir) {
    const files = [];
    const walk = (d) => {
      for (const name of readdirSync(d)) {
        const p = join(d, name);
        if (statSync(p).isDirectory()) walk(p);
        else if (/\.jsonl(\.gz)?$/.test(name)) files.push(p);
      }
    };
    walk(values.dir);
    files.sort();
    for (const f of files) {
      const key = relative(values.dir, f).replace(/\.jsonl(\.gz)?$/, '');
      if (wanted(key)) yield { key, bytes: readFileSync(f) };
    }
    return;
  }
  const where = values.remote ? ['--remote'] : ['--local', '--persist-to', values['wrangler-state']];
  const out = wrangler(['d1', 'execute', 'DB', ...where, '--json', '--command', 'SELECT key FROM archives ORDER BY key']);
  const keys = JSON.parse(out).flatMap((r) => r.results ?? []).map((row) => row.key).filter(wanted);
  const tmp = mkdtempSync(join(tmpdir(), 'restore-archive-'));
  try {
    for (const key of keys) {
      const file = join(tmp, 'object');
      wrangler(['r2', 'object', 'get', `${BUCKET}/${key}.jsonl.gz`, ...where, '--file', file]);
      yield { key, bytes: readFileSync(file) };
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

if (!values.dir && !values.remote && !values['wrangler-state']) {
  console.error('usage: restore-archive.mjs (--wrangler-state DIR | --remote | --dir DIR) [--from DAY] [--to DAY] > events.jsonl');
  process.exit(2);
}
let n = 0;
let events = 0;
for (const { bytes } of archives()) {
  n++;
  for (const line of text(bytes).split('\n')) {
    if (line === '') continue;
    process.stdout.write(`${line}\n`);
    events++;
  }
}
console.error(`restored ${events} events from ${n} archives`);
