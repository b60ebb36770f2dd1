import { startRelay, RawClient } from '../tests/e2e/harness.mjs';
import { finalizeEvent, generateSecretKey } from 'nostr-tools/pure';
const relay = await startRelay(process.argv[3] ? { extraArgs: ['--var', 'RELAY_CONFIG:' + process.argv[3]] } : {});
const sk = generateSecretKey();
try {
  const c = await RawClient.connect(relay.wsUrl);
  const b = await RawClient.connect(relay.wsUrl);
  const pk = 'a'.repeat(64);
  const mode = process.argv[2];
  const t0 = performance.now();
  for (let i = 0; i < 1000; i++) {
    if (mode === 'req') { c.send(['REQ', `b${i}`, { authors: [pk], limit: 20 }]); c.send(['CLOSE', `b${i}`]); }
    if (mode === 'count') { c.send(['COUNT', `c${i}`, { authors: [pk] }, {kinds:[1]}, {'#t':['x']}, {since: 5}, {ids:['c'.repeat(64)]}, {authors:[pk], kinds:[3]}, {'#p':[pk]}, {kinds:[7]}, {until: 9}, {'#e':[pk]}]); }
  }
  const lat = [];
  for (let k = 0; k < 8; k++) {
    const ev = finalizeEvent({ kind: 1, created_at: Math.floor(Date.now()/1000), tags: [], content: `b${k}` }, sk);
    const s = performance.now();
    b.send(['EVENT', ev]);
    await b.next((m) => m[0] === 'OK' && m[1] === ev.id, 30000);
    lat.push((performance.now() - s).toFixed(0));
  }
  console.log(mode, 'bystander EVENT->OK ms:', lat.join(' '), 'after', (performance.now()-t0).toFixed(0));
} finally { await relay.stop(); }
