// Wasm core tests: both toolchains' modules load with plain
// WebAssembly.instantiate, import nothing beyond the documented host
// interface, and give exactly the native core's verdicts and outputs.
//
//   node_modules/.bin/node --test tests/wasm/
//
// Needs build/wasm-wasi, build/wasm-emscripten and
// build/native-release/tests/nostr_check (a missing build fails, never skips).
// Uses the corpus in build/testdata or build/native-release/testdata if there
// is one, else generates it (scripts/gen-corpus.mjs) into a temp dir.

import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { finalizeEvent, getEventHash, serializeEvent } from 'nostr-tools/pure';
import { hexToBytes } from '@noble/hashes/utils.js';
import { EXPECTED_EXPORTS, loadCore, unexpectedImports } from './core_module.mjs';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const NOW = 1760000000;
// Paths can be overridden (scripts/test sets the first two).
const MODULES = {
  'wasm-wasi': process.env.NOSTR_WASM_WASI || join(ROOT, 'build/wasm-wasi/nostr_relay.wasm'),
  'wasm-emscripten': process.env.NOSTR_WASM_EMSCRIPTEN || join(ROOT, 'build/wasm-emscripten/nostr_relay.wasm'),
};
const NOSTR_CHECK = process.env.NOSTR_CHECK || join(ROOT, 'build/native-release/tests/nostr_check');
const CORPUS_FILES = ['events.jsonl', 'events_reordered.jsonl', 'tampered.jsonl', 'bench.jsonl'];

// nostr::Code values, read from the header so they cannot drift.
const CODES = (() => {
  const h = readFileSync(join(ROOT, 'core/reject.h'), 'utf8');
  const body = h.slice(h.indexOf('enum class Code'), h.indexOf('};', h.indexOf('enum class Code')));
  return Object.fromEntries([...body.matchAll(/^\s*(\w+)\s*=\s*(\d+)\s*,/gm)].map((m) => [m[1], Number(m[2])]));
})();

// ------------------------------------------------------------------ corpus
function corpusDir() {
  for (const dir of ['build/testdata', 'build/native-release/testdata']) {
    if (CORPUS_FILES.every((f) => existsSync(join(ROOT, dir, f)))) return { dir: join(ROOT, dir), temp: false };
  }
  const dir = mkdtempSync(join(tmpdir(), 'nostr-corpus-'));
  const r = spawnSync(process.execPath, [join(ROOT, 'scripts/gen-corpus.mjs'), dir], { encoding: 'utf8' });
  assert.equal(r.status, 0, `gen-corpus failed:\n${r.stderr}`);
  return { dir, temp: true };
}
const readLines = (dir, f) => readFileSync(join(dir, f), 'utf8').split('\n').filter((l) => l.length > 0);

// ------------------------------------------------------------------ malformed frames
const SK = hexToBytes('7f'.repeat(32));
const sign = (t) => {
  const e = finalizeEvent({ kind: 1, content: 'x', tags: [], created_at: NOW, ...t }, SK);
  return { id: e.id, pubkey: e.pubkey, created_at: e.created_at, kind: e.kind, tags: e.tags, content: e.content, sig: e.sig };
};
const HEX64 = 'ab'.repeat(32);

// [name, frame (string or bytes), expected code name, or null for "parity only"]
function frameTable(base) {
  const ev = (patch) => JSON.stringify(['EVENT', { ...base, ...patch }]);
  const evRaw = (body) => `["EVENT",${body}]`;
  const baseBody = JSON.stringify(base).slice(1, -1);
  const req = (...filters) => JSON.stringify(['REQ', 'sub', ...filters]);
  const long31 = 'x'.repeat(31);
  const bytes = (...parts) => Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p) : Buffer.from(p))));
  return [
    // framing
    ['whitespace only', ' ', 'bad_json'],
    ['not json', 'hello', 'bad_json'],
    ['truncated', evRaw(JSON.stringify(base)).slice(0, -1), 'bad_json'],
    ['trailing garbage', '["CLOSE","s"] x', 'bad_json'],
    ['two documents', '["CLOSE","s"]["CLOSE","t"]', 'bad_json'],
    ['single quotes', "['CLOSE','s']", 'bad_json'],
    ['trailing comma', '["CLOSE","s",]', 'bad_json'],
    ['raw control char in string', '["CLOSE","a\x01b"]', 'bad_json'],
    ['raw tab in string', '["CLOSE","a\tb"]', 'bad_json'],
    ['NUL byte outside string', bytes('["CLOSE","s"]', [0]), 'bad_json'],
    ['invalid UTF-8 byte', bytes('["CLOSE","a', [0xff], 'b"]'), 'bad_json'],
    ['overlong UTF-8', bytes('["CLOSE","a', [0xc0, 0xaf], 'b"]'), 'bad_json'],
    ['CESU surrogate bytes', bytes('["CLOSE","a', [0xed, 0xa0, 0x80], 'b"]'), 'bad_json'],
    ['lone surrogate escape', '["CLOSE","a\\ud800b"]', null],
    ['UTF-8 BOM', bytes([0xef, 0xbb, 0xbf], '["CLOSE","s"]'), null],
    ['deeply nested 20000 [', '['.repeat(20000), null],
    ['nested 20000 [ closed', '['.repeat(20000) + ']'.repeat(20000), 'too_deep'],
    ['oversized frame', evRaw(JSON.stringify({ ...base, content: 'a'.repeat(140000) })), 'message_too_large'],
    ['top-level object', '{"EVENT":1}', 'not_array'],
    ['top-level string', '"EVENT"', 'not_array'],
    ['top-level number', '42', 'not_array'],
    ['top-level null', 'null', 'not_array'],
    ['empty array', '[]', 'bad_message_type'],
    ['type not string', '[1,2]', 'bad_message_type'],
    ['type null', '[null,"s"]', 'bad_message_type'],
    ['unknown type', '["FOO","s"]', 'unknown_message_type'],
    ['lowercase type', '["event",{}]', 'unknown_message_type'],
    ['unknown type cut inside a UTF-8 char', JSON.stringify([long31 + '😀😀', 's']), 'unknown_message_type'],
    // EVENT structure
    ['EVENT without event', '["EVENT"]', 'wrong_arity'],
    ['EVENT with 2 payloads', `["EVENT",${JSON.stringify(base)},{}]`, 'wrong_arity'],
    ['EVENT array payload', '["EVENT",[]]', 'event_not_object'],
    ['EVENT string payload', '["EVENT","{}"]', 'event_not_object'],
    ['EVENT empty object', '["EVENT",{}]', 'missing_field'],
    ['missing sig', ev({ sig: undefined }), 'missing_field'],
    ['extra field', ev({ extra: 1 }), 'unknown_field'],
    ['unknown field cut inside a UTF-8 char', ev({ [long31 + '日本']: 1 }), 'unknown_field'],
    ['duplicate field', evRaw(`{${baseBody},"kind":1}`), 'duplicate_field'],
    ['uppercase id', ev({ id: base.id.toUpperCase() }), 'bad_id'],
    ['short id', ev({ id: base.id.slice(1) }), 'bad_id'],
    ['id not string', ev({ id: 5 }), 'bad_id'],
    ['uppercase pubkey', ev({ pubkey: base.pubkey.toUpperCase() }), 'bad_pubkey'],
    ['pubkey with 0x', ev({ pubkey: '0x' + base.pubkey.slice(2) }), 'bad_pubkey'],
    ['uppercase sig', ev({ sig: base.sig.toUpperCase() }), 'bad_sig'],
    ['short sig', ev({ sig: base.sig.slice(2) }), 'bad_sig'],
    ['float created_at', evRaw(`{${baseBody.replace(/"created_at":\d+/, `"created_at":${base.created_at}.0`)}}`), 'bad_created_at'],
    ['exponent created_at', evRaw(`{${baseBody.replace(/"created_at":\d+/, '"created_at":1.76e9')}}`), 'bad_created_at'],
    ['string created_at', ev({ created_at: String(base.created_at) }), 'bad_created_at'],
    ['negative created_at', ev({ created_at: -1 }), 'bad_created_at'],
    // 2^64: simdjson refuses the number itself (bad_json) rather than the field.
    ['huge created_at', evRaw(`{${baseBody.replace(/"created_at":\d+/, '"created_at":18446744073709551616')}}`), null],
    ['kind 65536', ev({ kind: 65536 }), 'bad_kind'],
    ['kind -1', ev({ kind: -1 }), 'bad_kind'],
    ['kind 1.5', ev({ kind: 1.5 }), 'bad_kind'],
    ['kind 1e0', evRaw(`{${baseBody.replace(/"kind":\d+/, '"kind":1e0')}}`), 'bad_kind'],
    ['tags object', ev({ tags: {} }), 'bad_tags'],
    ['tag not array', ev({ tags: ['e'] }), 'bad_tags'],
    ['tag item number', ev({ tags: [['e', 1]] }), 'bad_tags'],
    ['tag item null', ev({ tags: [['e', null]] }), 'bad_tags'],
    ['content number', ev({ content: 1 }), 'bad_content'],
    ['content null', ev({ content: null }), 'bad_content'],
    ['content 70000 bytes', ev({ content: 'c'.repeat(70000) }), 'content_too_long'],
    ['2001 tags', ev({ tags: Array.from({ length: 2001 }, () => ['t']) }), 'too_many_tags'],
    ['short printable id is salvaged for OK', ev({ id: 'abc' }), 'bad_id'],
    // EVENT semantics (signed here)
    ['created_at now+901', JSON.stringify(['EVENT', sign({ created_at: NOW + 901 })]), 'created_at_too_new'],
    ['created_at now+900', JSON.stringify(['EVENT', sign({ created_at: NOW + 900 })]), 'ok'],
    ['created_at 0', JSON.stringify(['EVENT', sign({ created_at: 0 })]), 'ok'],
    ['expired', JSON.stringify(['EVENT', sign({ tags: [['expiration', String(NOW - 1)]] })]), 'expired'],
    ['expires now', JSON.stringify(['EVENT', sign({ tags: [['expiration', String(NOW)]] })]), 'expired'],
    ['expires now+1', JSON.stringify(['EVENT', sign({ tags: [['expiration', String(NOW + 1)]] })]), 'ok'],
    ['AUTH ok', JSON.stringify(['AUTH', sign({ kind: 22242, tags: [['relay', 'wss://r.example'], ['challenge', 'c']] })]), 'ok'],
    ['AUTH tampered', JSON.stringify(['AUTH', { ...sign({ kind: 22242 }), content: 'y' }]), 'id_mismatch'],
    ['AUTH without event', '["AUTH"]', 'wrong_arity'],
    // REQ / COUNT / CLOSE / NEG
    ['REQ ok', req({}), 'ok'],
    ['REQ full filter', req({ ids: [HEX64], authors: [HEX64], kinds: [0, 1, 65535], '#e': [HEX64], '#p': [HEX64], '#t': ['x'], since: 0, until: NOW, limit: 0, search: 'q' }), 'ok'],
    ['REQ two filters', req({ kinds: [1] }, { authors: [HEX64] }), 'ok'],
    ['REQ without sub', '["REQ"]', 'wrong_arity'],
    ['REQ without filters', '["REQ","sub"]', 'no_filters'],
    ['REQ empty sub id', '["REQ","",{}]', 'bad_sub_id'],
    ['REQ 65-char sub id', JSON.stringify(['REQ', 's'.repeat(65), {}]), 'bad_sub_id'],
    ['REQ numeric sub id', '["REQ",1,{}]', 'bad_sub_id'],
    ['REQ control char in sub id', '["REQ","a\\u0001",{}]', 'bad_sub_id'],
    ['REQ uppercase ids', req({ ids: [HEX64.toUpperCase()] }), 'bad_filter'],
    ['REQ id prefix', req({ ids: ['abcd'] }), 'bad_filter'],
    ['REQ author prefix', req({ authors: [HEX64.slice(0, 10)] }), 'bad_filter'],
    ['REQ authors not array', req({ authors: HEX64 }), 'bad_filter'],
    ['REQ kinds float', req({ kinds: [1.5] }), 'bad_filter'],
    ['REQ kinds 70000', req({ kinds: [70000] }), 'bad_filter'],
    ['REQ since negative', req({ since: -1 }), 'bad_filter'],
    ['REQ since float', req({ since: 1.5 }), 'bad_filter'],
    ['REQ limit string', req({ limit: '10' }), 'bad_filter'],
    ['REQ unknown key', req({ foo: 1 }), 'bad_filter'],
    ['REQ unknown key cut inside a UTF-8 char', req({ [long31 + '😀']: 1 }), 'bad_filter'],
    ['REQ #e not hex', req({ '#e': ['nothex'] }), 'bad_filter'],
    ['REQ #t number', req({ '#t': [1] }), 'bad_filter'],
    ['REQ filter is array', req([]), 'bad_filter'],
    ['REQ duplicate key', '["REQ","sub",{"kinds":[1],"kinds":[2]}]', 'bad_filter'],
    ['REQ 11 filters', req(...Array.from({ length: 11 }, () => ({}))), 'too_many_filters'],
    ['REQ 1001 ids', req({ ids: Array.from({ length: 1001 }, () => HEX64) }), 'bad_filter'],
    ['COUNT ok', JSON.stringify(['COUNT', 'c', { kinds: [1] }]), 'ok'],
    ['COUNT without filters', '["COUNT","c"]', 'no_filters'],
    ['CLOSE ok', '["CLOSE","sub"]', 'ok'],
    ['CLOSE without sub', '["CLOSE"]', 'wrong_arity'],
    ['CLOSE numeric sub', '["CLOSE",1]', 'bad_sub_id'],
    ['NEG-OPEN', JSON.stringify(['NEG-OPEN', 'n', {}, '6100']), null],
    ['NEG-CLOSE', '["NEG-CLOSE","n"]', null],
  ];
}

// ------------------------------------------------------------------ fixtures
let corpus; // { events, reordered, tampered }
let lines;  // { frame: [{name, input, expect}], event: [...] }
let native; // { frame: [{code, out, valid}], event: [...] }
const cores = {};

function runNative(mode, inputs) {
  assert.ok(existsSync(NOSTR_CHECK), `${NOSTR_CHECK} is missing: cmake --build --preset native-release`);
  const stdin = Buffer.concat(inputs.flatMap((l) => [Buffer.from(l), Buffer.from('\n')]));
  const r = spawnSync(NOSTR_CHECK, ['--mode', mode, '--now', String(NOW)], { input: stdin, maxBuffer: 1 << 30 });
  assert.equal(r.status, 0, `nostr_check --mode ${mode} exited with ${r.status} ${r.signal ?? ''}\n${r.stderr}`);
  const out = [];
  let start = 0;
  for (let i = 0; i < r.stdout.length; i++) {
    if (r.stdout[i] !== 0x0a) continue;
    const line = r.stdout.subarray(start, i);
    start = i + 1;
    const tab = line.indexOf(0x09);
    const outBytes = line.subarray(tab + 1);
    let valid = true;
    try { new TextDecoder('utf-8', { fatal: true }).decode(outBytes); } catch { valid = false; }
    out.push({ code: Number(line.subarray(0, tab).toString()), out: new TextDecoder().decode(outBytes), valid });
  }
  assert.equal(out.length, inputs.length, `nostr_check printed ${out.length} lines for ${inputs.length} inputs`);
  return out;
}

before(async () => {
  const { dir, temp } = corpusDir();
  corpus = {
    events: readLines(dir, 'events.jsonl'),
    reordered: readLines(dir, 'events_reordered.jsonl'),
    tampered: readLines(dir, 'tampered.jsonl').map((l) => JSON.parse(l)),
  };
  if (temp) rmSync(dir, { recursive: true, force: true });

  const base = JSON.parse(corpus.events.find((l) => l.length < 1000));
  const valid = [...corpus.events, ...corpus.reordered];
  lines = {
    frame: [
      ...valid.map((e) => ({ name: 'valid event', input: `["EVENT",${e}]`, expect: 'ok' })),
      ...corpus.tampered.map((t) => ({ name: `tampered ${t.field}/${t.variant}`, input: `["EVENT",${t.event}]`, expect: t.expect })),
      ...frameTable(base).map(([name, input, expect]) => ({ name, input, expect })),
    ],
    event: [
      ...valid.map((e) => ({ name: 'valid event', input: e, expect: 'ok' })),
      ...corpus.tampered.map((t) => ({ name: `tampered ${t.field}/${t.variant}`, input: t.event, expect: t.expect })),
    ],
  };
  native = { frame: runNative('frame', lines.frame.map((l) => l.input)), event: runNative('event', lines.event.map((l) => l.input)) };
});

const show = (input) => {
  const s = typeof input === 'string' ? input : Buffer.from(input).toString('latin1');
  return s.length > 160 ? `${s.slice(0, 160)}... (${s.length} chars)` : s;
};
function assertNoFailures(failures, what) {
  assert.equal(failures.length, 0, `${failures.length} ${what}:\n${failures.slice(0, 12).join('\n')}`);
}

// ------------------------------------------------------------------ tests
test('every module build exists', () => {
  for (const [name, path] of Object.entries(MODULES)) assert.ok(existsSync(path), `${name}: ${path} is missing`);
});

for (const [name, path] of Object.entries(MODULES)) {
  const load = async () => (cores[name] ??= await loadCore(path));

  test(`${name}: imports only the documented host interface`, () => {
    const module = new WebAssembly.Module(readFileSync(path));
    const bad = unexpectedImports(module);
    assert.deepEqual(bad, [], `unexpected imports: ${bad.join(', ')}`);
  });

  test(`${name}: exports the C ABI`, async () => {
    const module = new WebAssembly.Module(readFileSync(path));
    const exported = WebAssembly.Module.exports(module).map((e) => e.name);
    const missing = EXPECTED_EXPORTS.filter((e) => !exported.includes(e));
    assert.deepEqual(missing, [], `missing exports: ${missing.join(', ')}`);
    const core = await load();
    assert.equal(core.exports.nr_abi_version(), 1);
    assert.ok(core.exports.memory instanceof WebAssembly.Memory);
  });

  test(`${name}: nr_config_error names the refused key, '' for a valid config`, async () => {
    const core = await load();
    assert.equal(core.configError('{"name":"x","limits":{"max_filters":3}}'), '');
    assert.equal(core.configError('{"limits":{"max_filters":"x"}}'), 'config: limits.max_filters must be a non-negative integer');
    assert.equal(core.configError('{"nmae":"typo"}'), 'config: unknown key nmae');
    assert.equal(core.configError('[]'), 'config: must be a JSON object');
  });

  for (const mode of ['frame', 'event']) {
    test(`${name}: nr_${mode === 'frame' ? 'check_frame' : 'validate_event'} matches native and expected codes`, async () => {
      const core = await load();
      const call = mode === 'frame' ? (s) => core.checkFrame(s, NOW) : (s) => core.validateEvent(s, NOW);
      const parity = [], verdicts = [], utf8 = [];
      lines[mode].forEach((l, i) => {
        const got = call(l.input);
        const nat = native[mode][i];
        if (got.code !== nat.code || got.out !== nat.out) {
          parity.push(`#${i} ${l.name}: ${show(l.input)}\n   native ${nat.code} ${nat.out}\n   ${name} ${got.code} ${got.out}`);
        }
        if (!nat.valid) utf8.push(`#${i} ${l.name}: ${show(l.input)} -> ${nat.code} ${nat.out}`);
        if (l.expect !== null && nat.code !== CODES[l.expect]) {
          verdicts.push(`#${i} ${l.name}: ${show(l.input)}\n   expected ${l.expect} (${CODES[l.expect]}), got ${nat.code} ${nat.out}`);
        }
        if (l.expect === 'ok' && mode === 'event' && nat.code === 0 && nat.out !== JSON.parse(l.input).id) {
          verdicts.push(`#${i} ${l.name}: output ${nat.out} is not the event id`);
        }
      });
      assertNoFailures(parity, `differences between native and ${name}`);
      assertNoFailures(verdicts, 'unexpected verdicts');
      assertNoFailures(utf8, 'outputs that are not valid UTF-8');
    });
  }

  test(`${name}: serializeEvent equals nostr-tools serializeEvent and hashes to the id`, async () => {
    const core = await load();
    const failures = [];
    for (const line of [...corpus.events, ...corpus.reordered]) {
      const ev = JSON.parse(line);
      const expected = serializeEvent(ev);
      const got = core.serializeEvent(line);
      if (got.code !== 0 || got.out !== expected) {
        failures.push(`${show(line)}\n   expected ${show(expected)}\n   got ${got.code} ${show(got.out)}`);
        continue;
      }
      const id = createHash('sha256').update(got.out, 'utf8').digest('hex');
      if (id !== ev.id || id !== getEventHash(ev)) failures.push(`${show(line)}: sha256 ${id} != id ${ev.id}`);
    }
    assertNoFailures(failures, 'serialization differences');
  });

  test(`${name}: memory growth and large inputs keep working`, async () => {
    const core = await load();
    const big = corpus.events.reduce((a, b) => (b.length > a.length ? b : a));
    const before = core.exports.memory.buffer.byteLength;
    for (let i = 0; i < 3; i++) {
      assert.equal(core.validateEvent(big, NOW).code, 0);
      assert.equal(core.checkFrame('x'.repeat(200000 + i), NOW).code, CODES.message_too_large);
      assert.equal(core.validateEvent(corpus.events[0], NOW).code, 0);
    }
    assert.ok(core.exports.memory.buffer.byteLength >= before);
  });
}
