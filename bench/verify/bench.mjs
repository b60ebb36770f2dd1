// Verify benchmark, JS side: the same events through each wasm module (via
// tests/wasm/core_module.mjs, UTF-8 copy-in per event included in the timing)
// and through the JS baselines a Workers relay would use:
//   - JSON.parse + NIP-01 id (noble sha256 over the serialization) + @noble/curves schnorr.verify
//   - nostr-tools verifyEvent on a freshly parsed object (it caches verdicts on the object)
// Each measures parse + id + verify per event: warm-up, then the median of R rounds.
// scripts/bench-verify runs this with the native result and writes docs/benchmarks.md.
//
//   node bench/verify/bench.mjs --corpus bench.jsonl [--rounds 5] [--native native.json]
//        [--module name=path.wasm]... [--report docs/benchmarks.md] [--json out.json]

import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { schnorr } from '@noble/curves/secp256k1.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex, hexToBytes } from '@noble/hashes/utils.js';
import { verifyEvent } from 'nostr-tools/pure';
import { loadCore } from '../../tests/wasm/core_module.mjs';

const NOW = 1760000000;
const BEGIN = '<!-- verify:begin -->';
const END = '<!-- verify:end -->';
const NATIVE = 'native';
const JS_NOBLE = 'JS: JSON.parse + @noble/curves schnorr.verify';
const JS_NOSTR_TOOLS = 'JS: nostr-tools verifyEvent';

const { values: args } = parseArgs({
  options: {
    corpus: { type: 'string' },
    rounds: { type: 'string', default: '5' },
    native: { type: 'string' },
    module: { type: 'string', multiple: true, default: [] },
    report: { type: 'string' },
    json: { type: 'string' },
  },
});
if (!args.corpus) {
  console.error('usage: bench.mjs --corpus bench.jsonl [--rounds R] [--native native.json] [--module name=path]... [--report md] [--json out]');
  process.exit(2);
}
const ROUNDS = Number(args.rounds);
const lines = readFileSync(args.corpus, 'utf8').split('\n').filter((l) => l.length > 0);

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const n = s.length;
  return n % 2 ? s[(n - 1) / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
};

// Runs verify(line) -> boolean over all lines: warm-up, then ROUNDS timed rounds.
function measure(name, verify, warmupEvents = lines.length) {
  for (let i = 0; i < warmupEvents; i++) {
    if (!verify(lines[i % lines.length])) throw new Error(`${name}: event ${i} did not verify`);
  }
  const rounds = [];
  for (let r = 0; r < ROUNDS; r++) {
    let ok = 0;
    const t0 = performance.now();
    for (const line of lines) if (verify(line)) ok++;
    const dt = performance.now() - t0;
    if (ok !== lines.length) throw new Error(`${name}: ${lines.length - ok} events did not verify`);
    rounds.push((dt * 1000) / lines.length);
  }
  const result = { name, us_per_event: median(rounds), events: lines.length, rounds_us: rounds };
  console.error(`bench: ${name.padEnd(48)} ${result.us_per_event.toFixed(1)} µs/event`);
  return result;
}

// ------------------------------------------------------------------ JS baselines
const encoder = new TextEncoder();
function nobleVerify(line) {
  const e = JSON.parse(line);
  const hash = sha256(encoder.encode(JSON.stringify([0, e.pubkey, e.created_at, e.kind, e.tags, e.content])));
  if (bytesToHex(hash) !== e.id) return false;
  return schnorr.verify(hexToBytes(e.sig), hash, hexToBytes(e.pubkey));
}
const nostrToolsVerify = (line) => verifyEvent(JSON.parse(line)); // fresh object: no cached verdict

// ------------------------------------------------------------------ run
const load = loadavg()[0]; // other work on the machine skews the numbers: reported below
const results = [];
if (args.native) results.push({ ...JSON.parse(readFileSync(args.native, 'utf8')), name: NATIVE });
const modules = args.module.map((m) => {
  const eq = m.indexOf('=');
  return { name: m.slice(0, eq), path: m.slice(eq + 1) };
});
for (const { name, path } of modules) {
  const core = await loadCore(path);
  results.push(measure(name, (line) => core.validateEvent(line, NOW).code === 0));
  core.close();
}
results.push(measure(JS_NOBLE, nobleVerify, 500));
results.push(measure(JS_NOSTR_TOOLS, nostrToolsVerify, 500));

// ------------------------------------------------------------------ report
const sh = (cmd, argv) => {
  const r = spawnSync(cmd, argv, { encoding: 'utf8', env: { NODE_PATH: '/usr/share/nodejs', ...process.env } });
  return r.status === 0 ? r.stdout.trim() : '';
};
const pkgVersion = (p) => JSON.parse(readFileSync(new URL(`../../node_modules/${p}/package.json`, import.meta.url), 'utf8')).version;
const gzipSize = (path) => {
  const r = spawnSync('gzip', ['-9', '-n', '-c', path], { maxBuffer: 1 << 28 });
  return r.status === 0 ? r.stdout.length : NaN;
};
const kb = (n) => `${(n / 1024).toFixed(1)} KiB`;
const fmt = (x) => (x >= 100 ? x.toFixed(0) : x.toFixed(1));

const byName = Object.fromEntries(results.map((r) => [r.name, r]));
const nativeUs = byName[NATIVE]?.us_per_event;
const nobleUs = byName[JS_NOBLE].us_per_event;
const rows = results.map((r) => {
  const vsNative = nativeUs ? `${(r.us_per_event / nativeUs).toFixed(2)}x` : '-';
  return `| ${r.name} | ${fmt(r.us_per_event)} | ${vsNative} | ${(nobleUs / r.us_per_event).toFixed(1)}x |`;
});
const sizeRows = modules.map(({ name, path }) => {
  const raw = readFileSync(path).length;
  return `| ${name} | ${raw} (${kb(raw)}) | ${gzipSize(path)} (${kb(gzipSize(path))}) |`;
});

const cpuModel = sh('lscpu', []).split('\n').find((l) => l.startsWith('Model name:'))?.replace(/^Model name:\s*/, '') ?? cpus()[0]?.model;
const firstLine = (s) => s.split('\n')[0] || 'not found';
const avgBytes = Math.round(lines.reduce((s, l) => s + Buffer.byteLength(l), 0) / lines.length);
const markdown = [
  `Parse + NIP-01 id + BIP-340 verify per event: ${lines.length} kind-1 events signed by nostr-tools ` +
    `(avg ${avgBytes} B, \`scripts/gen-corpus.mjs\` bench.jsonl), median of ${ROUNDS} rounds after a warm-up. ` +
    'Native and wasm go through `nr_validate_event` with the event copied into the input buffer per call ' +
    '(wasm: UTF-8 encoded from a JS string by `tests/wasm/core_module.mjs`, output read back). ' +
    'JS rows: `JSON.parse` + id + `schnorr.verify` (@noble/curves), and nostr-tools `verifyEvent` on a freshly parsed object.',
  '',
  '| implementation | µs/event (median) | vs native | JS noble ÷ this |',
  '|---|---:|---:|---:|',
  ...rows,
  '',
  'Module sizes (gzip -9):',
  '',
  '| module | raw bytes | gzip -9 bytes |',
  '|---|---:|---:|',
  ...sizeRows,
  '',
  `- Machine: ${cpuModel}, ${sh('nproc', []) || cpus().length} cores (1-min load average ${load.toFixed(2)} at start)`,
  `- node ${process.version}; ${firstLine(sh('clang', ['--version']))}; emcc ${sh('emcc', ['--version']).match(/\d+\.\d+\.\d+/)?.[0] ?? 'not found'}; ` +
    `g++ ${firstLine(sh('g++', ['-dumpfullversion']))}`,
  `- nostr-tools ${pkgVersion('nostr-tools')}, @noble/curves ${pkgVersion('@noble/curves')}, ` +
    `simdjson ${pkgVersion('@nozbe/simdjson')}, libsecp256k1 0.2.0`,
  `- Date: ${new Date().toISOString().replace(/\.\d+Z$/, 'Z')}`,
].join('\n');

console.log(markdown);
if (args.json) writeFileSync(args.json, JSON.stringify({ results, modules }, null, 2) + '\n');
if (args.report) {
  const intro = '# Benchmarks\n\nNumbers measured by the scripts named in each section, on the machine stated there.\n\n' +
    '## Event verification (`scripts/bench-verify`)\n\n';
  let doc = existsSync(args.report) ? readFileSync(args.report, 'utf8') : intro;
  const block = `${BEGIN}\n${markdown}\n${END}`;
  const b = doc.indexOf(BEGIN), e = doc.indexOf(END);
  if (b >= 0 && e > b) doc = doc.slice(0, b) + block + doc.slice(e + END.length);
  else doc = `${doc.replace(/\n*$/, '\n\n')}${block}\n`;
  writeFileSync(args.report, doc);
  console.error(`bench: wrote ${args.report}`);
}
