#!/usr/bin/env node
// Deterministic Nostr test corpus, signed by nostr-tools exactly like a client.
//
//   node scripts/gen-corpus.mjs <outdir>
//
// Writes into <outdir>:
//   events.jsonl            >= 600 valid events (JSON.stringify, one per line)
//   events_reordered.jsonl  ~100 of them with another key order, whitespace and
//                           optional string escapes (\/ and \uXXXX): still valid
//   tampered.jsonl          {"field","variant","expect","event"} per line, where
//                           "event" is the tampered event's JSON text and
//                           "expect" the core's code name for it
//   bench.jsonl             exactly 2000 valid kind-1 notes of ~800 bytes
//
// Everything but the signatures' BIP-340 aux randomness comes from a seeded
// PRNG, so the events (keys, contents, tags, times, ids) are the same on every
// run; the signatures differ but stay valid. Every created_at is within
// NOW +- 800 s, so `--now 1760000000` (900 s future window) accepts them all.

import { mkdirSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import { join } from 'node:path';
import { finalizeEvent, getEventHash, getPublicKey, verifyEvent } from 'nostr-tools/pure';
import { schnorr } from '@noble/curves/secp256k1.js';
import { bytesToHex, hexToBytes } from '@noble/hashes/utils.js';
import { mulberry32 } from '../tests/support/prng.mjs';

export const NOW = 1760000000;
const SEED = 0x6e6f7374; // "nost"

// ------------------------------------------------------------------ PRNG
const rand = mulberry32(SEED);
const int = (lo, hi) => lo + Math.floor(rand() * (hi - lo + 1)); // inclusive
const pick = (arr) => arr[Math.floor(rand() * arr.length)];
const chance = (p) => rand() < p;
const randBytes = (n) => Uint8Array.from({ length: n }, () => Math.floor(rand() * 256));
const randHex = (nBytes) => bytesToHex(randBytes(nBytes));
const createdAt = () => NOW + int(-800, 800);

// ------------------------------------------------------------------ keys
function newSecretKey() {
  for (;;) {
    const sk = randBytes(32);
    try {
      getPublicKey(sk);
      return sk;
    } catch {
      // zero or >= n: draw again (practically never happens)
    }
  }
}
const AUTHORS = Array.from({ length: 48 }, newSecretKey);
const KEY_OF = new Map(AUTHORS.map((sk) => [getPublicKey(sk), sk])); // pubkey hex -> secret key
const author = () => pick(AUTHORS);

// ------------------------------------------------------------------ text pieces
// Every character JSON.stringify escapes, plus the ones it must NOT escape.
const CONTROL = Array.from({ length: 0x20 }, (_, c) => String.fromCharCode(c)); // U+0000..U+001F
const SPECIAL = ['"', '\\', '\x7f', '\u2028', '\u2029', '/'];
const ESCAPE_CLASSES = [...CONTROL, ...SPECIAL];
const EMOJI = ['😀', '🎉', '👍🏽', '🧑‍🚀', '𝄞', '🇯🇵', '🤙', '⚡', '🫡'];
const CJK = ['日本語のテキスト', '中文内容测试', '한국어 문장', '漢字', 'ひらがな', '繁體中文'];
const WORDS = ('gm nostr relay zap note event sats bitcoin lightning pubkey signature ' +
  'hello world the quick brown fox jumps over lazy dog client filter subscription ' +
  'wasm worker durable object latency verify schnorr hash canonical').split(' ');

function sentence(nWords) {
  const out = [];
  for (let i = 0; i < nWords; i++) {
    const r = rand();
    if (r < 0.06) out.push(pick(EMOJI));
    else if (r < 0.11) out.push(pick(CJK));
    else if (r < 0.15) out.push(pick(ESCAPE_CLASSES));
    else out.push(pick(WORDS));
  }
  return out.join(chance(0.9) ? ' ' : '');
}

// A string of at least `bytes` UTF-8 bytes, mostly text with some escapes.
function longText(bytes) {
  let s = '';
  while (Buffer.byteLength(s) < bytes) s += sentence(40) + (chance(0.3) ? '\n\n' : ' ');
  return s;
}

// ------------------------------------------------------------------ tags
const eTag = () => ['e', randHex(32), pick(['', 'wss://relay.example.com', 'wss://nos.lol']), pick(['root', 'reply', 'mention'])];
const pTag = () => ['p', bytesToHex(randBytes(32))];
const tTag = () => ['t', pick(WORDS)];

function tagsForKind(kind) {
  switch (kind) {
    case 0: return [];
    case 3: return Array.from({ length: int(0, 40) }, pTag);
    case 5: return [...Array.from({ length: int(1, 4) }, () => ['e', randHex(32)]), ['k', '1']];
    case 7: return [['e', randHex(32)], pTag(), ['k', '1']];
    case 10002: return Array.from({ length: int(1, 6) }, () =>
      ['r', `wss://relay${int(1, 99)}.example.org`, ...(chance(0.5) ? [pick(['read', 'write'])] : [])]);
    case 30023: return [['d', sentence(int(0, 3))], ['title', sentence(4)], ['published_at', String(NOW - int(0, 1e6))], tTag()];
    default: {
      const tags = [];
      const n = int(0, 6);
      for (let i = 0; i < n; i++) tags.push(pick([eTag, pTag, tTag, () => ['alt', sentence(3)]])());
      return tags;
    }
  }
}

function contentForKind(kind) {
  switch (kind) {
    case 0: return JSON.stringify({ name: sentence(2), about: sentence(int(0, 12)), picture: 'https://example.com/a.png' });
    case 3: return chance(0.5) ? '' : JSON.stringify({ 'wss://relay.example.com': { read: true, write: true } });
    case 7: return pick(['+', '-', '🤙', ':custom:', '']);
    default: return sentence(int(0, 60));
  }
}

const KINDS = [0, 1, 1, 1, 1, 3, 4, 5, 6, 7, 7, 16, 40, 42, 44, 1000, 1063, 1984, 1985, 9734, 9735, 9999,
  10000, 10002, 19999, 20000, 20001, 29999, 30000, 30023, 31990, 39999, 40000, 65535];

// ------------------------------------------------------------------ signing
// Templates are built here in a fixed order (so the PRNG stream is stable);
// signing (~3.5 ms each with nostr-tools, which re-verifies every signature)
// runs on up to 2 worker threads.
const tmpl = (kind, content, tags, created_at = createdAt(), sk = author()) =>
  ({ template: { kind, content, tags, created_at }, sk: bytesToHex(sk) });

function signOne({ template, sk }) {
  const ev = finalizeEvent({ ...template }, hexToBytes(sk));
  // Plain object (drops nostr-tools' symbol) in NIP-01 key order.
  return { id: ev.id, pubkey: ev.pubkey, created_at: ev.created_at, kind: ev.kind, tags: ev.tags, content: ev.content, sig: ev.sig };
}

async function signAll(items) {
  const nWorkers = Math.min(2, availableParallelism());
  if (nWorkers < 2) return items.map(signOne);
  const chunk = Math.ceil(items.length / nWorkers);
  const parts = await Promise.all(Array.from({ length: nWorkers }, (_, w) => new Promise((resolve, reject) => {
    const worker = new Worker(new URL(import.meta.url), { workerData: items.slice(w * chunk, (w + 1) * chunk) });
    worker.once('message', resolve);
    worker.once('error', reject);
  })));
  return parts.flat();
}

// ------------------------------------------------------------------ valid events
function validEvents() {
  const out = [];
  // 1. Every escape class on its own, in content and in a tag string.
  for (const c of ESCAPE_CLASSES) {
    out.push(tmpl(1, `before${c}after`, [['t', `x${c}y`], ['alt', c]]));
    out.push(tmpl(1, c, [[c], [`${c}${c}`, c, '']]));
  }
  // All of them at once, plus U+2028/9, emoji and CJK together.
  const all = ESCAPE_CLASSES.join('') + EMOJI.join('') + CJK.join('');
  out.push(tmpl(1, all, [['t', all], ['alt', all, all]]));
  // 2. Edge shapes.
  out.push(tmpl(1, '', []));                       // empty content, empty tags
  out.push(tmpl(1, '', [['t', '']]));               // a tag with an empty value ([] and [''] are invalid)
  out.push(tmpl(1, '', [['x'], ['y', ''], ['e']]));
  out.push(tmpl(1, 'protected', [['-']]));
  out.push(tmpl(1, 'protected reply', [['-'], eTag(), pTag()]));
  out.push(tmpl(1, 'edge of window', [], NOW + 800));
  out.push(tmpl(1, 'edge of window', [], NOW - 800));
  out.push(tmpl(1, 'exactly now', [], NOW));
  for (const kind of KINDS) out.push(tmpl(kind, contentForKind(kind), tagsForKind(kind)));
  // NIP-40 expiration in the future; plus a non-numeric one, which is ignored.
  for (let i = 0; i < 8; i++) {
    out.push(tmpl(pick([1, 7, 30023]), sentence(8), [['expiration', String(NOW + int(1, 1e6))], tTag()]));
  }
  out.push(tmpl(1, 'odd expiration', [['expiration', 'soon'], ['expiration']]));
  // 3. Long contents (bytes, all below the 64 KiB content limit).
  for (const n of [1024, 8192, 20000, 40000, 60000]) out.push(tmpl(1, longText(n), [tTag()]));
  out.push(tmpl(30023, longText(30000), [['d', 'long-article'], ['title', 'A long one']]));
  // 4. Many tags (the core allows 2000).
  for (const n of [100, 500, 1000, 1500]) {
    out.push(tmpl(1, `many tags ${n}`, Array.from({ length: n }, (_, i) => ['t', `tag${i}`])));
  }
  out.push(tmpl(3, '', Array.from({ length: 1200 }, pTag)));   // a big follow list
  out.push(tmpl(1, 'long tag', [['alt', longText(20000)]]));
  // 5. Fill up with a random mix of kinds, contents and tags.
  while (out.length < 650) {
    const kind = chance(0.5) ? 1 : pick([...KINDS, int(1000, 9999), int(10000, 19999), int(20000, 29999), int(30000, 39999)]);
    const tags = tagsForKind(kind);
    if (kind >= 30000 && kind < 40000 && !tags.some((t) => t[0] === 'd')) tags.unshift(['d', sentence(int(0, 2))]);
    if (chance(0.05)) tags.push(['-']);
    if (chance(0.05)) tags.push(['expiration', String(NOW + int(1000, 1e7))]);
    out.push(tmpl(kind, contentForKind(kind), tags));
  }
  return out;
}

// ------------------------------------------------------------------ re-laid-out JSON
// Valid JSON for the same event: shuffled keys, spaces/tabs between tokens, and
// strings with optional \/ and \uXXXX escapes (surrogate pairs as two escapes;
// ordinary characters are \u-escaped only inside content and tag strings).
function relaxedString(s, escapeAny = false) {
  const hex4 = (u) => '\\u' + u.toString(16).padStart(4, '0')[chance(0.5) ? 'toUpperCase' : 'toLowerCase']();
  let out = '"';
  for (const ch of s) { // by code point: a surrogate pair is escaped whole or not at all
    const u = ch.charCodeAt(0);
    if (u === 0x22) out += '\\"';
    else if (u === 0x5c) out += '\\\\';
    else if (u < 0x20) out += chance(0.5) ? hex4(u) : JSON.stringify(ch).slice(1, -1);
    else if (u === 0x2f) out += chance(0.5) ? '\\/' : '/';
    else if (escapeAny && chance(0.03)) out += [...Array(ch.length).keys()].map((i) => hex4(ch.charCodeAt(i))).join('');
    else out += ch;
  }
  return out + '"';
}
const ws = () => pick(['', '', ' ', '  ', '\t', ' \t ']);
function relaxedValue(v) {
  if (typeof v === 'string') return relaxedString(v, true);
  if (Array.isArray(v)) return `[${ws()}${v.map((x) => relaxedValue(x)).join(`${ws()},${ws()}`)}${ws()}]`;
  return String(v);
}
function relaxedEvent(ev) {
  const keys = Object.keys(ev);
  for (let i = keys.length - 1; i > 0; i--) {
    const j = int(0, i);
    [keys[i], keys[j]] = [keys[j], keys[i]];
  }
  const body = keys.map((k) => `${ws()}${relaxedString(k)}${ws()}:${ws()}${typeof ev[k] === 'string' ? relaxedString(ev[k], k === 'content') : relaxedValue(ev[k])}${ws()}`).join(',');
  return `${ws()}{${body}}${ws()}`;
}

// ------------------------------------------------------------------ tampering
const HEX = '0123456789abcdef';
function flipHex(s) {
  const i = int(0, s.length - 1);
  // One draw whatever the input, so the PRNG stream does not depend on the
  // (randomised) signatures.
  return s.slice(0, i) + pick(HEX.replace(s[i], '')) + s.slice(i + 1);
}
function changeContent(s) {
  // Change one UTF-16 unit that is not half of a surrogate pair.
  const positions = [];
  for (let i = 0; i < s.length; i++) {
    const u = s.charCodeAt(i);
    if (u < 0xd800 || u > 0xdfff) positions.push(i);
  }
  if (positions.length === 0) return s + 'x';
  const i = pick(positions);
  return s.slice(0, i) + (s[i] === 'x' ? 'y' : 'x') + s.slice(i + 1);
}
function changeTags(tags) {
  const copy = tags.map((t) => [...t]);
  const nonEmpty = copy.filter((t) => t.length > 0);
  if (nonEmpty.length === 0 || chance(0.3)) copy.push(['t', 'tampered']);
  else {
    const t = pick(nonEmpty);
    const j = int(0, t.length - 1);
    t[j] += 'x';
  }
  return copy;
}
const changeKind = (k) => (k === 65535 ? k - 1 : k + 1);

// x coordinates with no point on the curve: >= p, zero, or x^3+7 not a square.
function offCurvePubkeys(n) {
  const out = ['f'.repeat(64), '0'.repeat(64), 'fffffffffffffffffffffffffffffffffffffffffffffffffffffffefffffc2f' /* = p */];
  while (out.length < n) {
    const x = randHex(32);
    try {
      schnorr.utils.lift_x(BigInt('0x' + x));
    } catch {
      out.push(x);
    }
  }
  for (const x of out) {
    let onCurve = true;
    try { schnorr.utils.lift_x(BigInt('0x' + x)); } catch { onCurve = false; }
    if (onCurve) throw new Error(`pubkey ${x} is on the curve`);
  }
  return out;
}

function tampered(base) {
  const lines = [];
  const add = (field, variant, expect, ev) => lines.push({ field, variant, expect, event: JSON.stringify(ev) });
  base.forEach((ev, n) => {
    const mutate = {
      pubkey: () => flipHex(ev.pubkey),
      created_at: () => ev.created_at + 1,
      kind: () => changeKind(ev.kind),
      content: () => changeContent(ev.content),
      tags: () => changeTags(ev.tags),
    };
    // (a) stale_id: one field changed, id and sig left as they were.
    add('id', 'stale_id', 'id_mismatch', { ...ev, id: flipHex(ev.id) });
    add('sig', 'stale_id', 'bad_signature', { ...ev, sig: flipHex(ev.sig) });
    for (const [field, f] of Object.entries(mutate)) add(field, 'stale_id', 'id_mismatch', { ...ev, [field]: f() });
    // (b) recomputed_id: field changed and id recomputed, so only the sig is stale.
    for (const [field, f] of Object.entries(mutate)) {
      const t = { ...ev, [field]: f() };
      t.id = getEventHash(t);
      add(field, 'recomputed_id', 'bad_signature', t);
    }
    // (c) forged ids: a valid signature over the real hash, but another id in `id`
    //     (a relay that verifies over its own hash and never compares accepts it),
    //     and a valid signature over the fake id (one that trusts `id` accepts it).
    const key = KEY_OF.get(ev.pubkey);
    const fakeId = randHex(32);
    add('id', 'forged', 'id_mismatch', { ...ev, id: fakeId });
    add('id', 'forged_signed_id', 'id_mismatch',
      { ...ev, id: fakeId, sig: bytesToHex(schnorr.sign(hexToBytes(fakeId), key, randBytes(32))) });
    // (d) someone else's valid signature over the right id.
    if (n % 4 === 0) {
      const other = AUTHORS[(AUTHORS.indexOf(key) + 1) % AUTHORS.length];
      add('sig', 'foreign_sig', 'bad_signature', { ...ev, sig: bytesToHex(schnorr.sign(hexToBytes(ev.id), other, randBytes(32))) });
    }
  });
  // (e) pubkeys that are not x-only points; id recomputed so the sig check decides.
  const bad = offCurvePubkeys(10);
  bad.forEach((pk, i) => {
    const t = { ...base[i], pubkey: pk };
    t.id = getEventHash(t);
    add('pubkey', 'offcurve_pubkey', 'bad_signature', t);
  });
  return lines;
}

// ------------------------------------------------------------------ benchmark
// Typical kind-1 notes with a few e/p tags, padded to ~800 bytes of JSON.
function benchEvents() {
  const out = [];
  for (let i = 0; i < 2000; i++) {
    const tags = [];
    const ne = int(0, 2), np = int(1, 3);
    for (let j = 0; j < ne; j++) tags.push(['e', randHex(32), 'wss://relay.example.com', j === 0 ? 'root' : 'reply']);
    for (let j = 0; j < np; j++) tags.push(pTag());
    const target = int(760, 840);
    const sk = author();
    // id/pubkey/sig/created_at/kind keys cost ~330 bytes in JSON.
    const fixed = 330 + JSON.stringify(tags).length;
    let content = '';
    while (Buffer.byteLength(JSON.stringify(content)) < target - fixed) {
      content += (content ? ' ' : '') + (chance(0.04) ? pick(EMOJI) : chance(0.02) ? '\n' : pick(WORDS));
    }
    out.push(tmpl(1, content, tags, createdAt(), sk));
  }
  return out;
}

// ------------------------------------------------------------------ main
async function main() {
  const outdir = process.argv[2];
  if (!outdir) {
    console.error('usage: node scripts/gen-corpus.mjs <outdir>');
    process.exit(2);
  }
  mkdirSync(outdir, { recursive: true });

  const eventTemplates = validEvents();
  const benchTemplates = benchEvents();
  const signed = await signAll([...eventTemplates, ...benchTemplates]);
  const events = signed.slice(0, eventTemplates.length);
  const bench = signed.slice(eventTemplates.length);
  const reordered = events.filter((_, i) => i % 6 === 3).slice(0, 100).map(relaxedEvent);
  // Tamper a spread of events (skip the very large ones to keep the file small).
  const base = events.filter((e) => JSON.stringify(e).length < 4000).filter((_, i) => i % 5 === 0).slice(0, 100);
  const tamperedLines = tampered(base);

  // Self-checks: nostr-tools accepts every valid event (fresh objects, so its
  // verification cache cannot help; bench events were already re-verified by
  // its signer), rejects every tampered one, every event fits in one frame at
  // `--now NOW`, and the re-laid-out lines parse to the same events.
  events.forEach(verifyOrThrow);
  for (const e of [...events, ...bench]) {
    if (Math.abs(e.created_at - NOW) > 800) throw new Error(`created_at out of window: ${e.id}`);
    if (JSON.stringify(['EVENT', e]).length > 131072) throw new Error(`event ${e.id} too large for one frame`);
  }
  reordered.forEach((line, i) => {
    const orig = events.filter((_, j) => j % 6 === 3)[i];
    if (!sameEvent(JSON.parse(Buffer.from(line).toString()), orig)) { // via UTF-8, as written
      throw new Error(`re-laid-out event differs: ${line.slice(0, 80)}`);
    }
  });
  for (const t of tamperedLines) {
    if (verifyEvent(JSON.parse(t.event))) throw new Error(`tampered event still verifies: ${t.field}/${t.variant}`);
  }

  const jsonl = (rows) => {
    const bad = rows.find((r) => !r.isWellFormed() || r.includes('\n'));
    if (bad !== undefined) throw new Error(`line with a lone surrogate or newline: ${bad.slice(0, 80)}`);
    return rows.join('\n') + '\n';
  };
  writeFileSync(join(outdir, 'events.jsonl'), jsonl(events.map((e) => JSON.stringify(e))));
  writeFileSync(join(outdir, 'events_reordered.jsonl'), jsonl(reordered));
  writeFileSync(join(outdir, 'tampered.jsonl'), jsonl(tamperedLines.map((t) => JSON.stringify(t))));
  writeFileSync(join(outdir, 'bench.jsonl'), jsonl(bench.map((e) => JSON.stringify(e))));
  const avg = Math.round(bench.reduce((s, e) => s + JSON.stringify(e).length, 0) / bench.length);
  console.log(`gen-corpus: ${events.length} events, ${reordered.length} re-laid-out, ` +
    `${tamperedLines.length} tampered, ${bench.length} bench (avg ${avg} B) -> ${outdir}`);
}

function verifyOrThrow(e) {
  if (!verifyEvent(JSON.parse(JSON.stringify(e)))) throw new Error(`invalid event generated: ${e.id}`);
}

function sameEvent(a, b) {
  return ['id', 'pubkey', 'created_at', 'kind', 'content', 'sig'].every((k) => a[k] === b[k]) &&
    JSON.stringify(a.tags) === JSON.stringify(b.tags);
}

if (isMainThread) {
  await main();
} else {
  parentPort.postMessage(workerData.map(signOne));
}
