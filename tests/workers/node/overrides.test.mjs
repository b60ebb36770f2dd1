// js-glue/overrides.js: the management overrides the Worker gives the edge
// handler, read from D1 at most every 5 s per isolate, tolerant of failure.
import { beforeEach, test } from 'node:test';
import assert from 'node:assert/strict';
import { OVERRIDES_SQL, OVERRIDES_TTL_MS, relayOverrides, resetOverridesCache } from '../../../js-glue/overrides.js';

// A D1 binding answering `rows` (or throwing `error`) and counting queries.
function fakeDb({ rows = [], error = null } = {}) {
  const db = {
    queries: 0,
    rows,
    error,
    prepare(sql) {
      assert.equal(sql, OVERRIDES_SQL);
      return {
        all: async () => {
          db.queries++;
          if (db.error) throw db.error;
          return { results: db.rows };
        },
      };
    },
  };
  return db;
}

beforeEach(() => resetOverridesCache());

test('rows become { name, description, icon }', async () => {
  const db = fakeDb({ rows: [{ key: 'name', value: 'managed' }, { key: 'icon', value: '' }] });
  assert.deepEqual(await relayOverrides(db, 1000), { name: 'managed', icon: '' });
  assert.match(OVERRIDES_SQL, /FROM mgmt_settings WHERE key IN \('name', 'description', 'icon'\)/);
});

test('cached for OVERRIDES_TTL_MS, concurrent callers share one query', async () => {
  const db = fakeDb({ rows: [{ key: 'name', value: 'a' }] });
  const [x, y] = await Promise.all([relayOverrides(db, 1000), relayOverrides(db, 1001)]);
  assert.deepEqual(x, { name: 'a' });
  assert.equal(x, y);
  db.rows = [{ key: 'name', value: 'b' }];
  assert.deepEqual(await relayOverrides(db, 1000 + OVERRIDES_TTL_MS - 1), { name: 'a' });
  assert.equal(db.queries, 1);
  assert.deepEqual(await relayOverrides(db, 1000 + OVERRIDES_TTL_MS), { name: 'b' });
  assert.equal(db.queries, 2);
  // Another database (another env) is not served from this one's cache.
  const other = fakeDb({ rows: [{ key: 'description', value: 'other' }] });
  assert.deepEqual(await relayOverrides(other, 1000 + OVERRIDES_TTL_MS), { description: 'other' });
});

test('a failing query means no overrides, logged once, retried after the TTL', async (t) => {
  const errors = [];
  t.mock.method(console, 'error', (...args) => errors.push(args.join(' ')));
  const db = fakeDb({ error: new Error('no such table: mgmt_settings') });
  assert.deepEqual(await relayOverrides(db, 0), {});
  assert.deepEqual(await relayOverrides(db, 1), {});
  assert.equal(db.queries, 1);
  assert.deepEqual(await relayOverrides(db, OVERRIDES_TTL_MS), {});
  assert.equal(db.queries, 2);
  assert.equal(errors.length, 1);
  assert.match(errors[0], /no such table: mgmt_settings/);
  // Recovers, and a later failure is logged again.
  db.error = null;
  db.rows = [{ key: 'name', value: 'back' }];
  assert.deepEqual(await relayOverrides(db, 2 * OVERRIDES_TTL_MS), { name: 'back' });
  db.error = new Error('D1 down');
  assert.deepEqual(await relayOverrides(db, 3 * OVERRIDES_TTL_MS), {});
  assert.equal(errors.length, 2);
  // Without a D1 binding at all.
  assert.deepEqual(await relayOverrides(undefined, 4 * OVERRIDES_TTL_MS), {});
});
