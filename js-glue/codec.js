// Byte formats shared with the relay engine (durable/abi/relay_abi.h):
// the action records it emits and the query results it consumes.
// Pure functions, no runtime APIs: unit-tested in plain node
// (tests/workers/node/codec.test.mjs).

// Action kinds (durable/action.h ActionType): the store is D1 here, local SQL
// is the Durable Object's SQLite, conn state is the socket's attachment.
export const ACTION = Object.freeze({ SEND: 1, FANOUT: 2, STORE: 3, LOCAL_SQL: 4, SAVE_CONN_STATE: 5, CLOSE: 6, HTTP_REPLY: 7, LOG: 8, FORWARD: 9, ARCHIVE: 10 });
export const NULL_CELL = 0xffffffff;

// Arithmetic, not `& ~3`: bitwise operators would turn a length >= 2^31 negative.
const pad4 = (n) => Math.ceil(n / 4) * 4;

// Splits an action buffer (a copy, not a view of wasm memory) into records
// { type, a, b, bytes } where bytes is a subarray of `buf`. Throws on a
// truncated record: that is an engine bug, never client input.
export function decodeActions(buf) {
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const records = [];
  let off = 0;
  while (off < buf.byteLength) {
    if (off + 16 > buf.byteLength) throw new Error(`action buffer: truncated record header at ${off}/${buf.byteLength}`);
    const type = view.getUint32(off, true);
    const a = view.getUint32(off + 4, true);
    const b = view.getUint32(off + 8, true);
    const len = view.getUint32(off + 12, true);
    off += 16;
    if (off + len > buf.byteLength) throw new Error(`action buffer: record type ${type} len ${len} overruns buffer at ${off}/${buf.byteLength}`);
    records.push({ type, a, b, bytes: buf.subarray(off, off + len) });
    off += pad4(len);
  }
  return records;
}

// FANOUT payload: u32 raw_len, raw, pad; then `count` x {u32 conn, u32 prefix_len, prefix, pad}.
// Returns { raw: Uint8Array, targets: [{ conn, prefix: Uint8Array }] }.
export function decodeFanout(bytes, count) {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const need = (off, n, what) => {
    if (off + n > bytes.byteLength) throw new Error(`FANOUT payload: ${what} overruns ${bytes.byteLength} bytes at ${off}`);
  };
  need(0, 4, 'raw_len');
  const rawLen = view.getUint32(0, true);
  need(4, rawLen, 'raw');
  const raw = bytes.subarray(4, 4 + rawLen);
  let off = pad4(4 + rawLen);
  const targets = [];
  for (let i = 0; i < count; i++) {
    need(off, 8, `entry ${i}`);
    const conn = view.getUint32(off, true);
    const prefixLen = view.getUint32(off + 4, true);
    need(off + 8, prefixLen, `entry ${i} prefix`);
    targets.push({ conn, prefix: bytes.subarray(off + 8, off + 8 + prefixLen) });
    off = pad4(off + 8 + prefixLen);
  }
  return { raw, targets };
}

const textDecoder = new TextDecoder();

// An HTTP reply's payload: "Name: value" lines, an empty line, the body.
// Returns { headers: [[name, value], ...], body }.
function httpReply(all) {
  if (all.startsWith('\n')) return { headers: [], body: all.slice(1) };
  const end = all.indexOf('\n\n');
  if (end < 0) throw new Error('http_reply without its header block');
  const lines = all.slice(0, end).split('\n');
  const headers = lines.map((line) => {
    const colon = line.indexOf(': ');
    return [line.slice(0, colon), line.slice(colon + 2)];
  });
  return { headers, body: all.slice(end + 2) };
}

// The actions of an action buffer as typed objects, in order (the shape of
// tests/golden/actions.json, whose bytes the C++ codec writes):
//   { type: 'send', conn, text }         { type: 'fanout', raw, targets: [{ conn, prefix }] }
//   { type: 'store', token, stmts_json } { type: 'local_sql', token, stmt_json }
//   { type: 'save_conn_state', conn, state }  { type: 'close', conn, code, reason }
//   { type: 'http_reply', request, status, headers: [[name, value]..], body }  { type: 'log', line }
//   { type: 'forward', peer, events }    { type: 'archive', token, key, body }
// Throws on a malformed buffer or an unknown kind: an engine bug, never client input.
export function decodeActionList(buf) {
  const text = (b) => textDecoder.decode(b);
  return decodeActions(buf).map(({ type, a, b, bytes }) => {
    switch (type) {
      case ACTION.SEND:
        return { type: 'send', conn: a, text: text(bytes) };
      case ACTION.FANOUT: {
        const { raw, targets } = decodeFanout(bytes, a);
        return { type: 'fanout', raw: text(raw), targets: targets.map((t) => ({ conn: t.conn, prefix: text(t.prefix) })) };
      }
      case ACTION.STORE:
        return { type: 'store', token: a, stmts_json: text(bytes) };
      case ACTION.LOCAL_SQL:
        return { type: 'local_sql', token: a, stmt_json: text(bytes) };
      case ACTION.SAVE_CONN_STATE:
        return { type: 'save_conn_state', conn: a, state: text(bytes) };
      case ACTION.CLOSE:
        return { type: 'close', conn: a, code: b, reason: text(bytes) };
      case ACTION.HTTP_REPLY:
        return { type: 'http_reply', request: a, status: b, ...httpReply(text(bytes)) };
      case ACTION.LOG:
        return { type: 'log', line: text(bytes) };
      case ACTION.FORWARD: {
        const all = text(bytes);
        const nl = all.indexOf('\n');
        return { type: 'forward', peer: all.slice(0, nl), events: all.slice(nl + 1) };
      }
      case ACTION.ARCHIVE: {
        const all = text(bytes);
        const nl = all.indexOf('\n');
        return { type: 'archive', token: a, key: all.slice(0, nl), body: all.slice(nl + 1) };
      }
      default:
        throw new Error(`relay engine emitted unknown action type ${type} (a=${a} b=${b} len=${bytes.length})`);
    }
  });
}

// Growable little-endian byte writer.
class ByteWriter {
  constructor(initial = 1024) {
    this.buf = new Uint8Array(initial);
    this.len = 0;
  }
  reserve(n) {
    if (this.len + n <= this.buf.length) return;
    let cap = this.buf.length * 2;
    while (cap < this.len + n) cap *= 2;
    const next = new Uint8Array(cap);
    next.set(this.buf.subarray(0, this.len));
    this.buf = next;
  }
  u32(v) {
    this.reserve(4);
    new DataView(this.buf.buffer).setUint32(this.len, v >>> 0, true);
    this.len += 4;
  }
  bytes(b) {
    this.reserve(b.length);
    this.buf.set(b, this.len);
    this.len += b.length;
  }
  // u32 length + UTF-8 text, encoded in place.
  text(s, encoder) {
    this.reserve(4 + s.length * 3); // UTF-8 worst case
    const { written } = encoder.encodeInto(s, this.buf.subarray(this.len + 4));
    new DataView(this.buf.buffer).setUint32(this.len, written, true);
    this.len += 4 + written;
  }
  result() {
    return this.buf.subarray(0, this.len);
  }
}

const encoder = new TextEncoder();

function writeCell(w, v) {
  if (v === null || v === undefined) {
    w.u32(NULL_CELL);
  } else if (typeof v === 'string') {
    w.text(v, encoder);
  } else if (typeof v === 'number' || typeof v === 'bigint') {
    w.text(String(v), encoder);
  } else if (typeof v === 'boolean') {
    w.text(v ? '1' : '0', encoder);
  } else if (v instanceof ArrayBuffer || ArrayBuffer.isView(v)) {
    const b = v instanceof ArrayBuffer ? new Uint8Array(v) : new Uint8Array(v.buffer, v.byteOffset, v.byteLength);
    w.u32(b.length);
    w.bytes(b);
  } else {
    w.text(String(v), encoder);
  }
}

// Encodes statement results for nr_relay_store_done / nr_relay_local_sql_done:
//   u32 nstmts; per statement u32 changes, u32 nrows, u32 ncols, then the
//   cells row by row (u32 len + UTF-8, or 0xFFFFFFFF for NULL).
// `stmts`: [{ changes, columns: [name..], rows: [[cell..]..] }] (rows as arrays,
// cells in column order).
export function encodeResults(stmts) {
  const w = new ByteWriter();
  w.u32(stmts.length);
  for (const { changes, columns, rows } of stmts) {
    w.u32(changes ?? 0);
    w.u32(rows.length);
    w.u32(columns.length);
    for (const row of rows) {
      for (let c = 0; c < columns.length; c++) writeCell(w, row[c]);
    }
  }
  return w.result();
}

// One D1Result (rows as objects keyed by column name, in SELECT order) to the
// { changes, columns, rows } shape. D1's batch() builds each row object from
// its column list, so Object.keys of a row is the SELECT order as long as
// column names are distinct and not integer-like (JS orders "0".."9" keys first).
export function fromD1Result(result) {
  const objs = result.results ?? [];
  const columns = objs.length > 0 ? Object.keys(objs[0]) : [];
  const rows = objs.map((o) => columns.map((c) => o[c]));
  return { changes: result.meta?.changes ?? 0, columns, rows };
}
