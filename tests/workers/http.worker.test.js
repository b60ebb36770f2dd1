// (a) HTTP decisions the Worker makes with the wasm edge handler, before any
// Durable Object is involved.
import { env, exports } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import worker from '../../js-glue/worker.js';
import { UPGRADE_HEADERS } from './relay_client.js';

const URL_ = 'http://relay.test/';

// An env whose relay namespace fails the test if the Worker reaches for it.
function envWithoutRelay() {
  const touched = [];
  const trap = new Proxy({}, {
    get(_, prop) {
      touched.push(String(prop));
      throw new Error(`the Worker touched env.RELAY.${String(prop)}`);
    },
  });
  return { env: { ...env, RELAY: trap }, touched };
}

describe('NIP-11 relay information', () => {
  it('answers GET / with Accept: application/nostr+json', async () => {
    const res = await exports.default.fetch(URL_, { headers: { Accept: 'application/nostr+json' } });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('application/nostr+json');
    expect(res.headers.get('access-control-allow-origin')).toBe('*');
    const info = await res.json();
    expect(info.name).toBe(env.RELAY_CONFIG.name);
    expect(Array.isArray(info.supported_nips)).toBe(true);
    expect(info.supported_nips).toContain(1);
    expect(info.supported_nips).toContain(11);
    expect(info.limitation).toMatchObject({
      max_message_length: env.RELAY_CONFIG.limits.max_message_length,
      max_subscriptions: env.RELAY_CONFIG.limits.max_subscriptions,
      max_limit: env.RELAY_CONFIG.limits.max_limit,
    });
  });

  it('answers the CORS preflight', async () => {
    const res = await exports.default.fetch(URL_, {
      method: 'OPTIONS',
      headers: { Origin: 'https://client.example', 'Access-Control-Request-Method': 'GET', 'Access-Control-Request-Headers': 'accept' },
    });
    expect(res.status).toBeLessThan(300);
    expect(res.headers.get('access-control-allow-origin')).toBe('*');
    expect(res.headers.get('access-control-allow-headers')?.toLowerCase()).toContain('accept');
    expect(res.headers.get('access-control-allow-methods')).toContain('GET');
  });

  it('answers a plain GET with a human-readable page', async () => {
    const res = await exports.default.fetch(URL_);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/(plain|html)/);
    const body = await res.text();
    expect(body).toContain(env.RELAY_CONFIG.name);
    expect(body.toLowerCase()).toContain('nostr');
  });
});

describe('malformed upgrades are refused by the Worker', () => {
  const cases = [
    ['no Sec-WebSocket-Key', { ...UPGRADE_HEADERS, 'Sec-WebSocket-Key': undefined }, [400]],
    ['a malformed Sec-WebSocket-Key', { ...UPGRADE_HEADERS, 'Sec-WebSocket-Key': 'short' }, [400]],
    ['Sec-WebSocket-Version 8', { ...UPGRADE_HEADERS, 'Sec-WebSocket-Version': '8' }, [400, 426]],
    ['no Sec-WebSocket-Version', { ...UPGRADE_HEADERS, 'Sec-WebSocket-Version': undefined }, [400, 426]],
    ['Upgrade: h2c', { ...UPGRADE_HEADERS, Upgrade: 'h2c' }, [400]],
  ];
  for (const [name, raw, statuses] of cases) {
    it(`${name}: ${statuses.join('/')} without touching the Durable Object`, async () => {
      const headers = Object.fromEntries(Object.entries(raw).filter(([, v]) => v !== undefined));
      const { env: trapped, touched } = envWithoutRelay();
      const res = await worker.fetch(new Request(URL_, { headers }), trapped);
      expect(statuses).toContain(res.status);
      expect(touched).toEqual([]);
      expect((await res.text()).length).toBeGreaterThan(0);
      // And the same through the real Worker entry.
      const real = await exports.default.fetch(URL_, { headers });
      expect(real.status).toBe(res.status);
      await real.arrayBuffer();
    });
  }

  it('a valid upgrade is forwarded to the relay object', async () => {
    const { env: trapped, touched } = envWithoutRelay();
    await expect(worker.fetch(new Request(URL_, { headers: UPGRADE_HEADERS }), trapped)).rejects.toThrow(/env\.RELAY/);
    expect(touched.length).toBeGreaterThan(0);
  });
});

describe('a refused RELAY_CONFIG', () => {
  it('is a 500 whose body names the bad key', async () => {
    const bad = { ...env, RELAY_CONFIG: { limits: { max_filters: 'x' } } };
    const res = await worker.fetch(new Request('http://relay.test/', { headers: { Accept: 'application/nostr+json' } }), bad);
    expect(res.status).toBe(500);
    const body = await res.text();
    expect(body).toMatch(/RELAY_CONFIG/);
    expect(body).toMatch(/limits\.max_filters must be a non-negative integer/);

    const typo = await worker.fetch(new Request('http://relay.test/'), { ...env, RELAY_CONFIG: '{"nmae":"typo"}' });
    expect(typo.status).toBe(500);
    expect(await typo.text()).toMatch(/unknown key nmae/);

    // The good configuration still works afterwards.
    const good = await worker.fetch(new Request('http://relay.test/', { headers: { Accept: 'application/nostr+json' } }), env);
    expect(good.status).toBe(200);
    expect((await good.json()).name).toBe(env.RELAY_CONFIG.name);
  });
});
