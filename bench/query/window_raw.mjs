// The ids query's shape, before and after raw JSON left the window subquery
// (core/read_plan.cpp plan_query): 100 events of 120 KB by one author, one
// statement per run, node:sqlite (node 22). Results: docs/benchmarks.md.
//   node_modules/.bin/node bench/query/window_raw.mjs
import { DatabaseSync } from 'node:sqlite';

const db = new DatabaseSync(':memory:');
db.exec(`CREATE TABLE events (id TEXT PRIMARY KEY, pubkey TEXT, created_at INTEGER, kind INTEGER, raw TEXT, expires_at INTEGER);
CREATE INDEX ep ON events (pubkey, created_at DESC);`);
const ins = db.prepare('INSERT INTO events VALUES (?,?,?,?,?,NULL)');
for (let i = 0; i < 100; i++) ins.run(String(i).padStart(64, '0'), 'pk', 1000 + i, 1, `{"content":"${'"'.repeat(120000)}${i}"}`);
const inner = 'FROM events e WHERE e.pubkey = ? AND (e.expires_at IS NULL OR e.expires_at > ?) ORDER BY e.created_at DESC, e.id ASC LIMIT ?';
const window = 'sum(size) OVER (ORDER BY created_at DESC, id ASC ROWS UNBOUNDED PRECEDING) AS acc';
const before = db.prepare(`SELECT id, created_at, size, CASE WHEN acc <= ? THEN raw END FROM (SELECT id, created_at, size, raw, ${window} FROM (SELECT e.id AS id, e.created_at AS created_at, octet_length(e.raw) AS size, e.raw AS raw ${inner})) ORDER BY created_at DESC, id ASC`);
const after = db.prepare(`SELECT wid, created_at, size, CASE WHEN acc <= ? THEN (SELECT r.raw FROM events r WHERE r.id = wid) END FROM (SELECT id AS wid, created_at, size, ${window} FROM (SELECT e.id AS id, e.created_at AS created_at, octet_length(e.raw) AS size ${inner})) ORDER BY created_at DESC, wid ASC`);
const time = (q) => {
  const t0 = performance.now();
  for (let k = 0; k < 20; k++) q.all(26214, 'pk', 0, 500);
  return (performance.now() - t0) / 20;
};
for (let round = 0; round < 2; round++) {
  console.log(`raw inside the window: ${time(before).toFixed(2)} ms; raw looked up by id: ${time(after).toFixed(2)} ms`);
}
console.log(`SQLite ${db.prepare('SELECT sqlite_version() AS v').get().v}`);
