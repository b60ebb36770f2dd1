// workerd's cost of a REQ flood: 20 connections send 100 REQs each of 10
// filters x 1000 short #t values (~100 KB frames, 200 MB in all, pre-built),
// and the CPU seconds of the workerd processes are read from /proc.
//   node bench/flood/flood.mjs            this relay (wrangler dev)
//   node bench/flood/flood.mjs --noop     a Durable Object that does nothing (bench/flood/noop_do)
// Results: docs/limits.md, "Input bandwidth".
import { fileURLToPath } from 'node:url';
import { NO_RATE_LIMITS, cpuSeconds, openSocket, relayConfigArgs, startRelay } from '../../tests/e2e/harness.mjs';

const noop = process.argv.includes('--noop');
// Rate limits off: the bench measures what a frame costs once it is read.
const relay = await startRelay(noop ? { root: fileURLToPath(new URL('./noop_do/', import.meta.url)), migrate: false } : { extraArgs: relayConfigArgs({ rate_limits: NO_RATE_LIMITS }) });
try {
  const conns = await Promise.all(Array.from({ length: 20 }, () => openSocket(relay.wsUrl, 20000)));
  let answers = 0;
  for (const c of conns) {
    c.addEventListener('message', (ev) => {
      if (/^\["(CLOSED|EOSE|NOTICE)"/.test(String(ev.data))) answers++;
    });
  }
  let counter = 0;
  const frame = (sub) => {
    let s = `["REQ","${sub}"`;
    for (let f = 0; f < 10; f++) {
      s += ',{"#t":[';
      for (let v = 0; v < 1000; v++) s += `${v ? ',' : ''}"ab${(counter++).toString(36)}"`;
      s += ']}';
    }
    return Buffer.from(`${s}]`).toString(); // flat, as workerd hands it over
  };
  const frames = Array.from({ length: 100 }, (_, s) => frame(`m${s}`));
  const pids = relay.workerdPids();
  const cpu0 = pids.map(cpuSeconds);
  const t0 = performance.now();
  for (const f of frames) {
    for (const c of conns) c.send(f);
    await new Promise((r) => setImmediate(r));
  }
  const sent = performance.now() - t0;
  while (answers < 2000) await new Promise((r) => setTimeout(r, 5));
  const done = performance.now() - t0;
  const cpu = pids.map((p, i) => (cpuSeconds(p) - cpu0[i]).toFixed(2));
  console.log(`${noop ? 'no-op Durable Object' : 'relay'}: 2000 frames of ~100 KB sent in ${sent.toFixed(0)} ms, all answered in ${done.toFixed(0)} ms; workerd CPU ${cpu.join(' s + ')} s`);
  for (const c of conns) c.close();
} finally {
  await relay.stop();
}
