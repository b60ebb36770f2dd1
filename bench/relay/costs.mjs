// Where the workerd CPU goes per EVENT frame, from /proc (no profiler skew):
// duplicates (parse + recent-id cache hit + OK), bad signatures (parse +
// BIP-340 verify + OK, no D1), new events (parse + verify + D1 batch + OK).
import { startRelay } from '../../tests/e2e/harness.mjs';
import { Conn, cpuDelta, cpuSnapshot, okId, sleep } from './lib.mjs';

async function run(relay, label, frames, window = 32, isReply = okId) {
  let oks = 0;
  let sent = 0;
  let c;
  const pump = () => {
    while (sent < frames.length && sent - oks < window) c.send(frames[sent++]);
  };
  let done;
  const finished = new Promise((r) => (done = r));
  c = await Conn.open(relay.wsUrl, (t) => {
    if (!isReply(t)) return;
    if (++oks === frames.length) done();
    else pump();
  });
  await sleep(200);
  const c0 = cpuSnapshot(relay);
  pump();
  await finished;
  const d = cpuDelta(c0, cpuSnapshot(relay));
  c.close();
  return { label, frames: frames.length, per_s: frames.length / d.wall, workerd_us_per_frame: (d.workerd / frames.length) * 1e6, worker_us_per_frame: (d.worker / frames.length) * 1e6, proxy_us_per_frame: (d.proxy / frames.length) * 1e6, workerd_util: d.workerd / d.wall, client_util: d.client / d.wall };
}

// events: at least 3000 pre-signed events not yet stored.
export async function costs(relay, events, { log = console.error } = {}) {
  const frame = (e) => `["EVENT",${JSON.stringify(e)}]`;
  const a = events.slice(0, 1000);
  const b = events.slice(1000, 2000);
  const flip = (s) => s.slice(0, -2) + (s.endsWith('00') ? '11' : '00');
  await run(relay, 'warm-up', a.slice(0, 300).map(() => '["X"]'), 32, (t) => t.startsWith('["NOTICE"'));
  const out = [
    await run(relay, 'unknown message type: parse + NOTICE', a.map(() => '["X"]'), 32, (t) => t.startsWith('["NOTICE"')),
    await run(relay, 'new event: parse + verify + D1 batch + OK', a.map(frame)),
    await run(relay, 'duplicate: parse + recent-id cache hit + OK', a.map(frame)),
    await run(relay, 'bad signature: parse + verify + OK (no D1)', b.map((e) => frame({ ...e, sig: flip(e.sig) }))),
  ];
  // Platform floor: the same frames echoed by a DO without relay glue, wasm or D1.
  const echo = await startRelay({ root: new URL('./echo/', import.meta.url).pathname, migrate: false });
  try {
    out.push(await run(echo, 'calibration: echo DO (no relay code), same frames', a.map(frame), 32, (t) => t.startsWith('["EVENT"')));
  } finally {
    await echo.stop();
  }
  for (const r of out) log(`cost ${r.label}: ${r.workerd_us_per_frame.toFixed(0)} µs workerd CPU/frame (worker ${r.worker_us_per_frame.toFixed(0)} + proxy ${r.proxy_us_per_frame.toFixed(0)}) (${r.per_s.toFixed(0)}/s, workerd ${(r.workerd_util * 100).toFixed(0)}%, client ${(r.client_util * 100).toFixed(0)}%)`);
  return out;
}
