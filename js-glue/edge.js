// The edge handler host: one nr_edge handler (edge/abi/edge_abi.h) per wasm
// instance and relay configuration, asked what to do with each HTTP request. No runtime imports (the instance comes from `getWasm`).

import { configFailure } from './config.js';

// The request headers the edge handler looks at (edge_abi.h).
const EDGE_HEADERS = ['accept', 'upgrade', 'connection', 'sec-websocket-key', 'sec-websocket-version', 'origin'];

// RELAY_CONFIG refused by the core: the message names the key.
export class EdgeConfigError extends Error {}

let edge = null; // { wasm, generation, config, ptr }: the isolate's handler

// Returns the handler for this config in `wasm`, creating it (and freeing a
// stale one) when either changed.
function handler(wasm, config) {
  if (edge && edge.generation === wasm.generation && edge.config === config) return edge;
  if (edge && edge.wasm === wasm && !wasm.trapped) wasm.call('nr_edge_free', edge.ptr);
  edge = null;
  const ptr = wasm.withInput(config, (p, n) => wasm.u32('nr_edge_new', p, n));
  if (!ptr) throw new EdgeConfigError(configFailure('nr_edge_new', wasm, config));
  edge = { wasm, generation: wasm.generation, config, ptr };
  return edge;
}

function requestJson(request) {
  const headers = {};
  for (const name of EDGE_HEADERS) {
    const v = request.headers.get(name);
    if (v !== null) headers[name] = v;
  }
  return JSON.stringify({ method: request.method, path: new URL(request.url).pathname, headers });
}

// Decides on `request`. Returns { route: 'forward' } (to the relay Durable
// Object) or { route: 'answer', status, headers, body }. Throws
// EdgeConfigError for a refused RELAY_CONFIG; any other throw retires the
// wasm instance (the next request gets a fresh one).
export function decide(getWasm, request, config) {
  const wasm = getWasm();
  try {
    const { ptr } = handler(wasm, config);
    const rc = wasm.withInput(requestJson(request), (p, n) => wasm.call('nr_edge_request', ptr, p, n));
    if (rc === 1) return { route: 'forward' };
    const out = JSON.parse(wasm.readText(wasm.u32('nr_edge_out_ptr', ptr), wasm.u32('nr_edge_out_len', ptr)));
    if (rc === 0) return { route: 'answer', ...out };
    throw new Error(`nr_edge_request returned ${rc}`);
  } catch (err) {
    if (!(err instanceof EdgeConfigError)) wasm.discard();
    throw err;
  }
}
