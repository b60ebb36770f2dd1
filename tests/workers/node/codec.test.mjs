// The glue's byte formats (js-glue/codec.js) against relay_abi.h, in plain node.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { ACTION, NULL_CELL, decodeActionList, decodeActions, decodeFanout, encodeResults, fromD1Result } from '../../../js-glue/codec.js';

const enc = new TextEncoder();
const dec = new TextDecoder();

// Builds records the way relay_abi.h describes them.
function record(type, a, b, bytes) {
  const padded = (bytes.length + 3) & ~3;
  const out = new Uint8Array(16 + padded);
  const v = new DataView(out.buffer);
  v.setUint32(0, type, true);
  v.setUint32(4, a, true);
  v.setUint32(8, b, true);
  v.setUint32(12, bytes.length, true);
  out.set(bytes, 16);
  return out;
}
const concat = (...parts) => {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
};
const u32 = (n) => {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, n, true);
  return b;
};
const padTo4 = (b) => concat(b, new Uint8Array(((b.length + 3) & ~3) - b.length));

test('decodeActions splits padded records in order', () => {
  const buf = concat(
    record(ACTION.SEND, 7, 0, enc.encode('["NOTICE","hi"]')),
    record(ACTION.SAVE_CONN_STATE, 7, 0, enc.encode('{}')),
    record(ACTION.CLOSE, 3, 1008, enc.encode('')),
    record(ACTION.LOCAL_SQL, 0, 0, enc.encode('{"sql":"SELECT 1","params":[]}')),
  );
  const recs = decodeActions(buf);
  assert.deepEqual(recs.map((r) => [r.type, r.a, r.b, dec.decode(r.bytes)]), [
    [ACTION.SEND, 7, 0, '["NOTICE","hi"]'],
    [ACTION.SAVE_CONN_STATE, 7, 0, '{}'],
    [ACTION.CLOSE, 3, 1008, ''],
    [ACTION.LOCAL_SQL, 0, 0, '{"sql":"SELECT 1","params":[]}'],
  ]);
  assert.deepEqual(decodeActions(new Uint8Array(0)), []);
});

test('decodeActions rejects truncated records', () => {
  const good = record(ACTION.SEND, 1, 0, enc.encode('abcdef'));
  assert.throws(() => decodeActions(good.subarray(0, 10)), /truncated record header/);
  assert.throws(() => decodeActions(good.subarray(0, 20)), /overruns/);
});

test('decodeFanout: raw once, then conn + prefix entries', () => {
  const raw = enc.encode('{"id":"x"}');
  const p1 = enc.encode('["EVENT","a",');
  const p2 = enc.encode('["EVENT","sub-two",');
  const bytes = concat(u32(raw.length), padTo4(raw), u32(4), u32(p1.length), padTo4(p1), u32(9), u32(p2.length), padTo4(p2));
  const { raw: r, targets } = decodeFanout(bytes, 2);
  assert.equal(dec.decode(r), '{"id":"x"}');
  assert.deepEqual(targets.map((t) => [t.conn, dec.decode(t.prefix)]), [[4, '["EVENT","a",'], [9, '["EVENT","sub-two",']]);
  assert.throws(() => decodeFanout(bytes, 3), /overruns/);
});

test('encodeResults: counts, cells, NULL, numbers as decimal text', () => {
  const buf = encodeResults([
    { changes: 2, columns: ['id', 'n', 'x'], rows: [['é', 1700000000, null], ['b', 0, 'z']] },
    { changes: 0, columns: [], rows: [] },
  ]);
  const v = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  let off = 0;
  const next = () => {
    const n = v.getUint32(off, true);
    off += 4;
    return n;
  };
  const cell = () => {
    const n = next();
    if (n === NULL_CELL) return null;
    const s = dec.decode(buf.subarray(off, off + n));
    off += n;
    return s;
  };
  assert.equal(next(), 2);
  assert.deepEqual([next(), next(), next()], [2, 2, 3]);
  assert.deepEqual([cell(), cell(), cell(), cell(), cell(), cell()], ['é', '1700000000', null, 'b', '0', 'z']);
  assert.deepEqual([next(), next(), next()], [0, 0, 0]);
  assert.equal(off, buf.length);
});

test('fromD1Result keeps the SELECT column order and meta.changes', () => {
  const r = fromD1Result({ results: [{ raw: '{}', created_at: 5, id: 'a' }], meta: { changes: 0 } });
  assert.deepEqual(r, { changes: 0, columns: ['raw', 'created_at', 'id'], rows: [['{}', 5, 'a']] });
  assert.deepEqual(fromD1Result({ results: [], meta: { changes: 3 } }), { changes: 3, columns: [], rows: [] });
  assert.deepEqual(fromD1Result({ meta: {} }), { changes: 0, columns: [], rows: [] });
});

// tests/golden/actions.json: bytes written by the C++ codec
// (tests/durable/test_action_codec.cpp) decode to the same typed actions here.
test('golden vectors: the C++ encoding of every action kind decodes to the listed actions', () => {
  const golden = JSON.parse(readFileSync(new URL('../../golden/actions.json', import.meta.url), 'utf8'));
  assert.ok(golden.hex.length > 0, 'the C++ test has written the vectors');
  const bytes = Uint8Array.from(Buffer.from(golden.hex, 'hex'));
  assert.deepEqual(decodeActionList(bytes), golden.actions);
  const kinds = new Set(golden.actions.map((a) => a.type));
  assert.equal(kinds.size, Object.keys(ACTION).length, 'every action kind is covered');
});

test('decodeActionList refuses an unknown action kind', () => {
  assert.throws(() => decodeActionList(record(99, 1, 2, enc.encode('x'))), /unknown action type 99/);
});
