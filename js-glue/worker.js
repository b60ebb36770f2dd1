// Worker entry: hands every HTTP request to the wasm edge handler
// (js-glue/edge.js), which either answers it (NIP-11, the relay page, CORS
// preflight, refusals of malformed upgrades), says "forward" (WebSocket
// upgrades and NIP-86 calls go to the relay Durable Object unchanged), asks
// for the management overrides of the relay's texts (js-glue/overrides.js),
// or prepares the answer whose body the relay object's RPC gives:
// stats() for /stats, metrics() for /metrics, health() for /health.

import { logError } from './log.js';
import { configJson, metricsToken } from './config.js';
import { EdgeConfigError, decide, objectFor } from './edge.js';
import { relayOverrides } from './overrides.js';
import { getWasm } from './wasm.js';
import { ADMIN_BODY_CAP, readCapped } from './body.js';

export { RelayDurableObject } from './relay_do.js';

const NULL_BODY_STATUS = new Set([101, 204, 205, 304]);
const TEXT = { 'content-type': 'text/plain; charset=utf-8' };

// The relay object for this request (edge/route.h: the client's region and
// shard), created near the client; its name travels in x-relay-object so the
// object knows it (forwards between objects address each other by name).
function relayObject(env, request) {
  const { name, hint } = objectFor(getWasm, request, configJson(env), metricsToken(env));
  return { name, stub: env.RELAY.get(env.RELAY.idFromName(name), hint ? { locationHint: hint } : undefined) };
}
const relayStub = (env, request) => relayObject(env, request).stub;

// GET /health: 200 with the relay object's report when it and D1 answer,
// 503 with { ok: false, ..., error } otherwise.
async function health(env, request, headers) {
  let report;
  try {
    report = await relayStub(env, request).health();
  } catch (err) {
    logError('relay health() failed', err);
    report = { ok: false, error: `relay object unavailable: ${err?.message ?? err}` };
  }
  if (report === null || typeof report !== 'object') report = { error: `health() returned ${report}` };
  const healthy = report.ok === true && report.d1 === true;
  const body = healthy ? report : { ...report, ok: false, error: report.error ?? (report.d1 === false ? 'D1 unavailable' : 'relay not healthy') };
  return new Response(JSON.stringify(body), { status: healthy ? 200 : 503, headers });
}

// The body of /stats (JSON) or /metrics (text) from the relay object's RPC.
async function rpcBody(env, request, route) {
  const stub = relayStub(env, request);
  if (route === 'stats') return JSON.stringify(await stub.stats());
  const text = await stub.metrics();
  if (typeof text !== 'string') throw new Error(`metrics() returned ${typeof text}, not text`);
  return text;
}

export default {
  async fetch(request, env) {
    let decision;
    let body = null;
    try {
      const ask = (extra) => decide(getWasm, request, configJson(env), metricsToken(env), extra);
      decision = ask({});
      if (decision.route === 'overrides') decision = ask({ overrides: await relayOverrides(env.DB) });
      if (decision.route === 'body') {
        // NIP-86: the edge checks the NIP-98 authorization over the body
        // before the call may reach (and bill) the relay object.
        body = await readCapped(request, ADMIN_BODY_CAP);
        decision = ask({ body });
      }
    } catch (err) {
      if (err instanceof EdgeConfigError) {
        logError('RELAY_CONFIG refused', undefined, { reason: err.message });
        return new Response(`${err.message}\n`, { status: 500, headers: TEXT });
      }
      logError('edge handler failed', err);
      return new Response('internal error\n', { status: 500, headers: TEXT });
    }
    const { route, status, headers } = decision;
    if (route === 'forward') {
      // The body was read for the check: forward what was checked.
      const { name, stub } = relayObject(env, request);
      const forwarded = new Request(request, body === null ? {} : { body });
      forwarded.headers.set('x-relay-object', name);
      return stub.fetch(forwarded);
    }
    if (route === 'health') return health(env, request, headers);
    if (route === 'stats' || route === 'metrics') {
      let body;
      try {
        body = await rpcBody(env, request, route);
      } catch (err) {
        logError(`relay ${route}() failed`, err);
        // Only an operator (with the metrics token) reads this.
        return new Response(`relay ${route} unavailable: ${err?.message ?? err}\n`, { status: 500, headers: TEXT });
      }
      return new Response(body, { status, headers });
    }
    if (route !== 'answer') throw new Error(`edge route ${route} after the overrides were given`);
    return new Response(NULL_BODY_STATUS.has(status) ? null : decision.body, { status, headers });
  },
};
