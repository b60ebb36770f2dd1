// An engine failure in the relay Durable Object (here: a DO SQL statement
// that throws) drops its sockets and retires the wasm instance: the next
// object starts on a fresh instance instead of inheriting the grown heap.
// Its own file: the failure resets the relay object for everything after it.
import { runInDurableObject } from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { TestClient } from './relay_client.js';

// The object the Worker routes these requests to (edge/route.h): no
// request.cf in tests, so RELAY_CONFIG's default_region, shard 0.
const relayStub = () => env.RELAY.get(env.RELAY.idFromName('relay:enam:0'));
const hex = (i) => i.toString(16).padStart(64, '0');

describe('engine failure', () => {
  it('a throwing DO SQL statement drops the sockets and the next object gets a fresh wasm instance', async () => {
    const c = await TestClient.connect();
    c.send(['REQ', 'warmup', { kinds: [1], limit: 0 }]);
    expect(await c.next((m) => m[1] === 'warmup')).toEqual(['EOSE', 'warmup']);

    const fresh = await runInDurableObject(relayStub(), (obj) => obj.engine.wasm.memoryBytes());
    const failed = await runInDurableObject(relayStub(), (obj) => {
      obj.engine.wasm.exports.memory.grow(256); // a heap grown by 16 MiB
      // The table the engine moves subscriptions to once a connection's state
      // outgrows the socket attachment: its next INSERT throws.
      obj.ctx.storage.sql.exec('DROP TABLE subs');
      return { generation: obj.engine.generation, memory: obj.engine.wasm.memoryBytes() };
    });
    expect(failed.memory).toBeGreaterThan(fresh);

    // ~700 bytes of filters per subscription: state passes 12 KiB within 20 REQs.
    for (let i = 0; i < 40 && !c.closed; i++) {
      c.send(['REQ', `big${i}`, { authors: Array.from({ length: 10 }, (_, j) => hex(i * 10 + j)), limit: 0 }]);
      await c.next((m) => m[1] === `big${i}`, 2000).catch(() => {});
    }
    for (let i = 0; i < 100 && !c.closed; i++) await new Promise((r) => setTimeout(r, 20));
    // The object closes its sockets with 1011, then aborts; the abort breaks
    // the output gate, which can discard the close frames (1006).
    expect([1006, 1011]).toContain(c.closed?.code);

    // A new connection builds a new object, on a fresh instance.
    const c2 = await TestClient.connect();
    c2.send(['REQ', 'after', { kinds: [1], limit: 0 }]);
    expect(await c2.next((m) => m[1] === 'after')).toEqual(['EOSE', 'after']);
    const next = await runInDurableObject(relayStub(), (obj) => ({
      generation: obj.engine.generation,
      memory: obj.engine.wasm.memoryBytes(),
      connections: obj.engine.connectionCount(),
    }));
    expect(next.generation).not.toBe(failed.generation);
    expect(next.memory).toBeLessThan(failed.memory);
    expect(next.connections).toBe(1);
    c2.close();
  });
});
