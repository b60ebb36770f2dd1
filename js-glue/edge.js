// The edge handler host: one nr_edge handler (edge/abi/edge_abi.h) per wasm
// instance, relay configuration and metrics token, asked what to do with each
// HTTP request. No runtime imports (the instance comes from `getWasm`).

import { configFailure } from './config.js';

// The request headers the edge handler looks at (edge_abi.h).
const EDGE_HEADERS = ['accept', 'upgrade', 'connection', 'sec-websocket-key', 'sec-websocket-version', 'authorization', 'content-type'];

// nr_edge_request's return codes (edge_abi.h) and what decide() calls them.
const ROUTES = ['answer', 'forward', 'stats', 'metrics', 'health', 'overrides', 'body'];

// RELAY_CONFIG refused by the core: the message names the key.
export class EdgeConfigError extends Error {}

let edge = null; // { wasm, generation, config, token, ptr }: the isolate's handler

// Returns the handler for this config and token in `wasm`, creating it (and
// freeing a stale one) when any of them changed.
function handler(wasm, config, token) {
  if (edge && edge.generation === wasm.generation && edge.config === config && edge.token === token) return edge;
  if (edge && edge.wasm === wasm && !wasm.trapped) wasm.call('nr_edge_free', edge.ptr);
  edge = null;
  const ptr = wasm.withInput(config, (p, n) => wasm.u32('nr_edge_new', p, n));
  if (!ptr) throw new EdgeConfigError(configFailure('nr_edge_new', wasm, config));
  try {
    wasm.withInput(token, (p, n) => wasm.call('nr_edge_set_metrics_token', ptr, p, n));
  } catch (err) {
    if (!wasm.trapped) wasm.call('nr_edge_free', ptr);
    throw err;
  }
  edge = { wasm, generation: wasm.generation, config, token, ptr };
  return edge;
}

function requestJson(request, { overrides = null, body = null, now = Date.now() / 1000 } = {}) {
  const headers = {};
  for (const name of EDGE_HEADERS) {
    const v = request.headers.get(name);
    if (v !== null) headers[name] = v;
  }
  const url = new URL(request.url);
  const req = { method: request.method, path: url.pathname, origin: url.origin, url: request.url, now, headers };
  if (overrides) req.overrides = overrides;
  if (body !== null) req.body = body;
  return JSON.stringify(req);
}

// Decides on `request`. extra.overrides: the management settings
// ({ name?, description?, icon? }, see overrides.js) or absent if not loaded;
// extra.body: the request body's text, once asked for; extra.now: the time.
// Returns one of
//   { route: 'answer', status, headers, body }
//   { route: 'forward' }                       to the relay Durable Object, unchanged
//   { route: 'stats' | 'metrics' | 'health', status, headers }
//                                              the body comes from the relay object's RPC
//   { route: 'overrides' }                     ask again with the overrides loaded
//   { route: 'body' }                          ask again with the body (a NIP-86 call)
// Throws EdgeConfigError for a refused RELAY_CONFIG; any other throw retires
// the wasm instance (the next request gets a fresh one).
export function decide(getWasm, request, config, token, extra = {}) {
  const wasm = getWasm();
  try {
    const { ptr } = handler(wasm, config, token);
    const rc = wasm.withInput(requestJson(request, extra), (p, n) => wasm.call('nr_edge_request', ptr, p, n));
    const route = ROUTES[rc];
    if (route === undefined) throw new Error(`nr_edge_request returned ${rc}`);
    if (route === 'forward' || route === 'overrides' || route === 'body') return { route };
    const out = JSON.parse(wasm.readText(wasm.u32('nr_edge_out_ptr', ptr), wasm.u32('nr_edge_out_len', ptr)));
    if (route === 'answer') return { route, ...out };
    return { route, status: out.status, headers: out.headers };
  } catch (err) {
    if (!(err instanceof EdgeConfigError)) wasm.discard();
    throw err;
  }
}

// The relay object for `request` (nr_edge_object, edge/route.h): { name, hint }
// ("relay:<region>:<shard>" and its location hint, or "relay" and "").
export function objectFor(getWasm, request, config, token) {
  const wasm = getWasm();
  try {
    const { ptr } = handler(wasm, config, token);
    const cf = request.cf ?? {};
    const url = new URL(request.url);
    const input = JSON.stringify({
      continent: String(cf.continent ?? ''),
      country: String(cf.country ?? ''),
      longitude: cf.longitude === undefined ? '' : String(cf.longitude),
      ip: request.headers.get('CF-Connecting-IP') ?? '',
      query: url.search.slice(1),
    });
    wasm.withInput(input, (p, n) => wasm.call('nr_edge_object', ptr, p, n));
    return JSON.parse(wasm.readText(wasm.u32('nr_edge_out_ptr', ptr), wasm.u32('nr_edge_out_len', ptr)));
  } catch (err) {
    if (!(err instanceof EdgeConfigError)) wasm.discard();
    throw err;
  }
}
