// A minimal Nostr client for tests running inside workerd: opens a WebSocket
// through the Worker (exports.default.fetch with an Upgrade request) and
// queues every message the relay sends.
import { exports } from 'cloudflare:workers';

export const UPGRADE_HEADERS = {
  Upgrade: 'websocket',
  Connection: 'Upgrade',
  'Sec-WebSocket-Key': 'dGhlIHNhbXBsZSBub25jZQ==',
  'Sec-WebSocket-Version': '13',
};

export class TestClient {
  static async connect() {
    const res = await exports.default.fetch('http://relay.test/', { headers: UPGRADE_HEADERS });
    if (res.status !== 101 || !res.webSocket) {
      throw new Error(`upgrade failed: ${res.status} ${await res.text()}`);
    }
    return new TestClient(res.webSocket);
  }

  constructor(ws) {
    this.ws = ws;
    this.queue = []; // parsed messages not yet taken
    this.raw = []; // every message as text, for diagnostics
    this.waiters = [];
    this.closed = null;
    ws.accept();
    ws.addEventListener('message', (e) => {
      const text = typeof e.data === 'string' ? e.data : new TextDecoder().decode(e.data);
      this.raw.push(text);
      let msg;
      try {
        msg = JSON.parse(text);
      } catch {
        msg = ['<unparseable>', text];
      }
      this.queue.push(msg);
      this.#wake();
    });
    ws.addEventListener('close', (e) => {
      this.closed = { code: e.code, reason: e.reason };
      this.#wake();
    });
  }

  #wake() {
    for (const w of this.waiters.splice(0)) w();
  }

  send(msg) {
    this.ws.send(typeof msg === 'string' || msg instanceof ArrayBuffer || ArrayBuffer.isView(msg) ? msg : JSON.stringify(msg));
  }

  // Takes the first queued message matching `pred` (skipping none: messages
  // before it stay queued), waiting up to `ms`.
  async next(pred = () => true, ms = 5000) {
    const deadline = Date.now() + ms;
    for (;;) {
      const i = this.queue.findIndex(pred);
      if (i >= 0) return this.queue.splice(i, 1)[0];
      if (this.closed) throw new Error(`socket closed (${this.closed.code} ${this.closed.reason}); got: ${this.raw.join(' | ')}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out; messages so far: ${this.raw.join(' | ')}`);
      await new Promise((resolve) => {
        const t = setTimeout(resolve, Math.min(left, 50));
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  nextOf(type, ms) {
    return this.next((m) => m[0] === type, ms);
  }

  // Resolves if no message matching `pred` arrives within `ms`.
  async expectNone(pred, ms = 300) {
    await new Promise((r) => setTimeout(r, ms));
    const hit = this.queue.find(pred);
    if (hit) throw new Error(`unexpected message: ${JSON.stringify(hit)}`);
  }

  close() {
    try {
      this.ws.close(1000, 'done');
    } catch {
      // already closed
    }
  }
}
