// A WebSocket client's wire format by hand, over a bare TCP socket, for
// clients a WebSocket API cannot be: one that stops reading (backpressure),
// reads at a set rate, or sends what APIs refuse (invalid UTF-8 text).
// Used by tests/e2e/hostile.test.mjs and bench/soak/soak.mjs.
import net from 'node:net';
import { createHash, randomBytes } from 'node:crypto';

// Opens a TCP socket to ws://host:port/ and performs the upgrade. Resolves
// { sock, rest } with the socket paused (the caller attaches its reader,
// then resumes it) and the bytes read past the handshake; rejects on a
// timeout, a status other than 101 or a wrong Sec-WebSocket-Accept.
export function rawHandshake(url, { timeoutMs = 20000 } = {}) {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const sock = net.connect(Number(u.port), u.hostname);
    const key = randomBytes(16).toString('base64');
    let head = Buffer.alloc(0);
    const timer = setTimeout(() => {
      sock.destroy();
      reject(new Error('raw websocket handshake: timeout'));
    }, timeoutMs);
    sock.once('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    sock.on('connect', () => {
      sock.write(`GET ${u.pathname || '/'} HTTP/1.1\r\nHost: ${u.host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n`
        + `Sec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n\r\n`);
    });
    const onHead = (d) => {
      head = Buffer.concat([head, d]);
      const end = head.indexOf('\r\n\r\n');
      if (end < 0) return;
      sock.off('data', onHead);
      sock.pause();
      clearTimeout(timer);
      const status = head.subarray(0, end).toString('latin1');
      const fail = (why) => {
        sock.destroy();
        reject(new Error(`raw websocket handshake: ${why}`));
      };
      if (!/^HTTP\/1\.1 101/.test(status)) return fail(`refused: ${status.split('\r\n')[0]}`);
      const accept = createHash('sha1').update(`${key}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`).digest('base64');
      if (!status.toLowerCase().includes(accept.toLowerCase())) return fail('bad Sec-WebSocket-Accept');
      resolve({ sock, rest: head.subarray(end + 4) });
    };
    sock.on('data', onHead);
  });
}

// One client frame: FIN set, masked (clients must mask), payload a Buffer.
export function encodeFrame(op, payload) {
  const n = payload.length;
  let head;
  if (n < 126) head = Buffer.from([0x80 | op, 0x80 | n]);
  else if (n < 65536) {
    head = Buffer.alloc(4);
    head[0] = 0x80 | op;
    head[1] = 0x80 | 126;
    head.writeUInt16BE(n, 2);
  } else {
    head = Buffer.alloc(10);
    head[0] = 0x80 | op;
    head[1] = 0x80 | 127;
    head.writeBigUInt64BE(BigInt(n), 2);
  }
  const mask = randomBytes(4);
  const body = Buffer.from(payload);
  for (let i = 0; i < n; i++) body[i] ^= mask[i & 3];
  return Buffer.concat([head, mask, body]);
}

// Server frames out of a byte stream. push(bytes) returns the frames now
// complete, each { op, payload } with continuation frames joined into their
// message (op of the first frame), or { op: 'error', reason } for a masked
// server frame (a protocol error: the caller drops the connection).
export class FrameReader {
  #buf = Buffer.alloc(0);
  #parts = [];
  #op = 0;

  push(bytes) {
    this.#buf = this.#buf.length ? Buffer.concat([this.#buf, bytes]) : Buffer.from(bytes);
    const frames = [];
    for (;;) {
      const b = this.#buf;
      if (b.length < 2) return frames;
      const fin = (b[0] & 0x80) !== 0;
      const op = b[0] & 0x0f;
      if (b[1] & 0x80) {
        frames.push({ op: 'error', reason: 'masked frame from the server' });
        return frames;
      }
      let len = b[1] & 0x7f;
      let off = 2;
      if (len === 126) {
        if (b.length < 4) return frames;
        len = b.readUInt16BE(2);
        off = 4;
      } else if (len === 127) {
        if (b.length < 10) return frames;
        len = Number(b.readBigUInt64BE(2));
        off = 10;
      }
      if (b.length < off + len) return frames;
      const payload = Buffer.from(b.subarray(off, off + len));
      this.#buf = b.subarray(off + len);
      if (op >= 0x8) {
        frames.push({ op, payload }); // control frames may come between fragments
        continue;
      }
      if (op !== 0x0) this.#op = op;
      this.#parts.push(payload);
      if (!fin) continue;
      frames.push({ op: this.#op, payload: Buffer.concat(this.#parts) });
      this.#parts = [];
    }
  }
}

// The close frame's { code, reason } (1005: no code given).
export function closeInfo(payload) {
  return { code: payload.length >= 2 ? payload.readUInt16BE(0) : 1005, reason: payload.subarray(2).toString('utf8') };
}
