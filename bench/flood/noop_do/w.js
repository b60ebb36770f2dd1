// A Durable Object that accepts hibernatable WebSockets and answers every
// message with one short frame, doing nothing else: the floor of what workerd
// spends per incoming frame (bench/flood/flood.mjs --noop).
import { DurableObject } from 'cloudflare:workers';

export class D extends DurableObject {
  async fetch(req) {
    if (req.headers.get('upgrade')?.toLowerCase() !== 'websocket') return new Response('no-op\n');
    const { 0: client, 1: server } = new WebSocketPair();
    this.ctx.acceptWebSocket(server);
    return new Response(null, { status: 101, webSocket: client });
  }
  async webSocketMessage(ws, msg) {
    ws.send(`["CLOSED","x","${msg.length}"]`);
  }
}

export default {
  fetch(req, env) {
    return env.D.get(env.D.idFromName('x')).fetch(req);
  },
};
