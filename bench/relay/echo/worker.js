// Calibration Worker for bench/relay/costs.mjs: the same routing as the relay
// (Worker → one Durable Object, hibernatable WebSockets) but the DO only echoes
// each frame. Its CPU per frame is the local platform floor (workerd WebSocket
// path + DO dispatch + one send), with no relay glue, wasm or D1.
import { DurableObject } from 'cloudflare:workers';

export class EchoDurableObject extends DurableObject {
  async fetch() {
    const { 0: client, 1: server } = new WebSocketPair();
    this.ctx.acceptWebSocket(server);
    return new Response(null, { status: 101, webSocket: client });
  }

  webSocketMessage(ws, message) {
    ws.send(message);
  }

  webSocketClose(ws, code, reason) {
    ws.close(code === 1005 || code === 1006 ? 1000 : code, reason);
  }
}

export default {
  fetch(request, env) {
    if (request.headers.get('upgrade') !== 'websocket') {
      return new Response('{}', { headers: { 'content-type': 'application/nostr+json' } });
    }
    return env.ECHO.get(env.ECHO.idFromName('echo')).fetch(request);
  },
};
