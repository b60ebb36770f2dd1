// GET /stats: the relay engine's resource use, for operators and load tests.
// The vitest config binds METRICS_TOKEN = 'test-metrics-token'.
import { env, exports } from 'cloudflare:workers';
import { afterEach, describe, expect, it } from 'vitest';
import worker from '../../js-glue/worker.js';
import { TestClient } from './relay_client.js';

const STATS_URL = 'http://relay.test/stats';
const TOKEN = 'test-metrics-token';

const open = [];
afterEach(() => {
  for (const c of open.splice(0)) c.close();
});

const getStats = (headers = {}) => exports.default.fetch(STATS_URL, { headers });

async function stats() {
  const res = await getStats({ Authorization: `Bearer ${TOKEN}` });
  expect(res.status).toBe(200);
  return res.json();
}

describe('GET /stats', () => {
  it('does not exist without METRICS_TOKEN (404), and never touches the relay object', async () => {
    expect(env.METRICS_TOKEN).toBe(TOKEN);
    const { METRICS_TOKEN: _, ...without } = env;
    const trap = new Proxy({}, {
      get(_, prop) {
        throw new Error(`the Worker touched env.RELAY.${String(prop)}`);
      },
    });
    for (const headers of [{}, { Authorization: `Bearer ${TOKEN}` }]) {
      const res = await worker.fetch(new Request(STATS_URL, { headers }), { ...without, RELAY: trap });
      expect(res.status).toBe(404);
      await res.arrayBuffer();
    }
    const empty = await worker.fetch(new Request(STATS_URL, { headers: { Authorization: 'Bearer ' } }), { ...env, METRICS_TOKEN: '', RELAY: trap });
    expect(empty.status).toBe(404);
    await empty.arrayBuffer();
  });

  it('refuses a missing or wrong token with 401', async () => {
    for (const headers of [{}, { Authorization: 'Bearer wrong-token' }, { Authorization: `Basic ${TOKEN}` }, { Authorization: TOKEN }]) {
      const res = await getStats(headers);
      expect(res.status, JSON.stringify(headers)).toBe(401);
      expect(res.headers.get('www-authenticate')).toBe('Bearer');
      expect(await res.text()).not.toContain(TOKEN);
    }
  });

  it('answers the engine stats as JSON with CORS for the right token', async () => {
    const res = await getStats({ Authorization: `Bearer ${TOKEN}` });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/json');
    expect(res.headers.get('access-control-allow-origin')).toBe('*');
    expect(res.headers.get('cache-control')).toBe('no-store');
    const body = await res.json();
    expect(body.memory_bytes).toBeGreaterThan(0);
    expect(Number.isInteger(body.connections)).toBe(true);
    expect(Number.isInteger(body.subscriptions)).toBe(true);
  });

  it('counts an open socket and its subscription', async () => {
    const before = await stats();
    const c = await TestClient.connect();
    open.push(c);
    c.send(['REQ', 'counted', { kinds: [1], limit: 0 }]);
    expect(await c.next((m) => m[1] === 'counted')).toEqual(['EOSE', 'counted']);
    const after = await stats();
    expect(after.connections).toBe(before.connections + 1);
    expect(after.subscriptions).toBe(before.subscriptions + 1);
  });
});
