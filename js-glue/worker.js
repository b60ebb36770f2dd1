// Worker entry: hands every HTTP request to the wasm edge handler
// (edge/abi/edge_abi.h), which either answers it (NIP-11, CORS preflight,
// the HTML page, refusals of malformed upgrades) or says "forward": then the
// request goes to the relay Durable Object unchanged.

import { configJson, getWasm } from './wasm.js';

export { RelayDurableObject } from './relay_do.js';

// The request headers the edge handler looks at (edge_abi.h).
const EDGE_HEADERS = ['accept', 'upgrade', 'connection', 'sec-websocket-key', 'sec-websocket-version', 'origin'];
const NULL_BODY_STATUS = new Set([101, 204, 205, 304]);

// One edge handler per isolate (and per wasm instance).
let edge = null; // { wasm, generation, ptr }

function edgeHandler(env) {
  const wasm = getWasm();
  if (edge && edge.generation === wasm.generation) return edge;
  const ptr = wasm.withInput(configJson(env), (p, n) => wasm.call('nr_edge_new', p, n));
  if (!ptr) throw new Error('nr_edge_new rejected RELAY_CONFIG');
  edge = { wasm, generation: wasm.generation, ptr };
  return edge;
}

function edgeRequestJson(request) {
  const headers = {};
  for (const name of EDGE_HEADERS) {
    const v = request.headers.get(name);
    if (v !== null) headers[name] = v;
  }
  return JSON.stringify({ method: request.method, path: new URL(request.url).pathname, headers });
}

export default {
  async fetch(request, env) {
    let decision;
    try {
      const { wasm, ptr } = edgeHandler(env);
      const forward = wasm.withInput(edgeRequestJson(request), (p, n) => wasm.call('nr_edge_request', ptr, p, n));
      decision = forward === 1
        ? null
        : JSON.parse(wasm.readText(wasm.call('nr_edge_out_ptr', ptr), wasm.call('nr_edge_out_len', ptr)));
    } catch (err) {
      console.error('edge handler failed:', err?.stack ?? err);
      return new Response('internal error\n', { status: 500, headers: { 'content-type': 'text/plain; charset=utf-8' } });
    }
    if (decision === null) {
      const relay = env.RELAY.get(env.RELAY.idFromName('relay'));
      return relay.fetch(request);
    }
    const { status, headers, body } = decision;
    return new Response(NULL_BODY_STATUS.has(status) ? null : body, { status, headers });
  },
};
