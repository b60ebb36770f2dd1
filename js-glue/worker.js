// Worker entry: hands every HTTP request to the wasm edge handler
// (js-glue/edge.js), which either answers it (NIP-11, CORS preflight, the
// HTML page, refusals of malformed upgrades), says "forward" (the request goes
// to the relay Durable Object unchanged) or "stats" (the relay object's
// stats() become the body of the answer the edge prepared).

import { configJson, metricsToken } from './config.js';
import { EdgeConfigError, decide } from './edge.js';
import { getWasm } from './wasm.js';

export { RelayDurableObject } from './relay_do.js';

const NULL_BODY_STATUS = new Set([101, 204, 205, 304]);
const TEXT = { 'content-type': 'text/plain; charset=utf-8' };

const relayStub = (env) => env.RELAY.get(env.RELAY.idFromName('relay'));

export default {
  async fetch(request, env) {
    let decision;
    try {
      decision = decide(getWasm, request, configJson(env), metricsToken(env));
    } catch (err) {
      if (err instanceof EdgeConfigError) {
        console.error(err.message);
        return new Response(`${err.message}\n`, { status: 500, headers: TEXT });
      }
      console.error('edge handler failed:', err?.stack ?? err);
      return new Response('internal error\n', { status: 500, headers: TEXT });
    }
    if (decision.route === 'forward') return relayStub(env).fetch(request);
    const { status, headers } = decision;
    if (decision.route === 'stats') {
      let stats;
      try {
        stats = await relayStub(env).stats();
      } catch (err) {
        console.error('relay stats() failed:', err?.stack ?? err);
        return new Response('relay stats unavailable\n', { status: 500, headers: TEXT });
      }
      return new Response(JSON.stringify(stats), { status, headers });
    }
    return new Response(NULL_BODY_STATUS.has(status) ? null : decision.body, { status, headers });
  },
};
