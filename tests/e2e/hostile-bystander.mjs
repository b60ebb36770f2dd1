// The bystander of tests/e2e/hostile.test.mjs, in a worker thread so that its
// round-trip times measure the relay, not the test's own event loop (which
// builds and parses megabytes of attack frames meanwhile).
//
// Protocol (parentPort messages):
//   main -> { cmd: 'connect', url }   (re)connects; replies { type: 'connected', challenge } or { type: 'error', error }
//   main -> { cmd: 'start', label }   starts round trips (EVENT→OK, then REQ {ids:[it]}→EOSE/CLOSED, CLOSE), back to back;
//                                     replies { type: 'started', reconnected } (reconnects first if the socket had closed)
//   main -> { cmd: 'quit' }           closes the socket; replies { type: 'quit' }
//   main -> { cmd: 'stop' }           finishes the round trip in flight (at most CAP_MS) and replies
//                                     { type: 'report', samples, acked, closedDuring, open, reconnected }
//   worker -> { type: 'sample', sample } after each round trip
// A round trip that gets no answer within CAP_MS is recorded as { ms: Infinity, answer: 'no answer within 5000 ms' };
// a late OK true for it is still counted in `acked`.
import { parentPort } from 'node:worker_threads';
import { finalizeEvent, generateSecretKey } from 'nostr-tools/pure';
import { RawClient } from './harness.mjs';

const CAP_MS = 5000;
const PAUSE_MS = 50;

const sk = generateSecretKey();
let client = null;
let closeInfo = null; // { code, reason } once the current socket closed
let running = false;
let loop = null;
let samples = [];
let acked = new Set();
let seq = 0;
let reconnected = false;

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function connect(url) {
  client = await RawClient.connect(url, { timeoutMs: 20000 });
  closeInfo = null;
  const mine = client;
  mine.closed.then((info) => {
    if (client === mine) closeInfo = info;
  });
  return client.challenge;
}

// Waits for the first frame matching pred, at most CAP_MS; returns { f, ms } or { f: null, ms: Infinity }.
async function answer(pred, t0) {
  try {
    const f = await client.next(pred, CAP_MS);
    return { f, ms: f.t - t0 };
  } catch (err) {
    return { f: null, ms: Infinity, err: err.message.slice(0, 200) };
  }
}

// OK true frames that arrived late (after their round trip gave up) still count as acknowledged.
function sweepLateOks() {
  for (const fr of client.frames) {
    if (Array.isArray(fr.msg) && fr.msg[0] === 'OK' && fr.msg[2] === true) acked.add(fr.msg[1]);
  }
  client.frames = [];
}

async function roundTrips(label) {
  // One timed answer: kept for the summary and streamed to the test.
  const record = (op, ms, answer) => {
    const sample = { label, op, ms, answer, at: Date.now() };
    samples.push(sample);
    parentPort.postMessage({ type: 'sample', sample });
  };
  while (running) {
    if (closeInfo || client.isClosed) break;
    const n = ++seq;
    const e = finalizeEvent({ kind: 1, created_at: Math.floor(Date.now() / 1000), tags: [['t', 'bystander']], content: `bystander ${label} ${n}` }, sk);
    const frame = JSON.stringify(['EVENT', e]);
    let t0 = performance.now();
    client.send(frame);
    const ok = await answer((m) => Array.isArray(m) && m[0] === 'OK' && m[1] === e.id, t0);
    let okAnswer;
    if (ok.f) {
      okAnswer = `OK ${ok.f.msg[2]}${ok.f.msg[3] ? ` ${JSON.stringify(ok.f.msg[3])}` : ''}`;
      if (ok.f.msg[2] === true) acked.add(e.id);
    } else {
      okAnswer = client.isClosed ? 'socket closed' : `no answer within ${CAP_MS} ms`;
    }
    record('EVENT', ok.ms, okAnswer);
    if (client.isClosed) break;

    const sub = `by${n}`;
    t0 = performance.now();
    client.send(JSON.stringify(['REQ', sub, { ids: [e.id] }]));
    const end = await answer((m) => Array.isArray(m) && (m[0] === 'EOSE' || m[0] === 'CLOSED') && m[1] === sub, t0);
    let reqAnswer;
    if (end.f) {
      const got = client.frames.filter((fr) => fr.seq < end.f.seq && fr.msg?.[0] === 'EVENT' && fr.msg[1] === sub && fr.msg[2]?.id === e.id).length;
      reqAnswer = end.f.msg[0] === 'EOSE' ? `EOSE (${got} event${got === 1 ? '' : 's'})` : `CLOSED ${JSON.stringify(end.f.msg[2])}`;
      if (end.f.msg[0] === 'EOSE' && ok.f?.msg[2] === true && got !== 1) reqAnswer += ' MISSING the event just acknowledged';
    } else {
      reqAnswer = client.isClosed ? 'socket closed' : `no answer within ${CAP_MS} ms`;
    }
    record('REQ', end.ms, reqAnswer);
    if (client.isClosed) break;
    client.send(JSON.stringify(['CLOSE', sub]));
    sweepLateOks();
    await sleep(PAUSE_MS);
  }
}

parentPort.on('message', async (m) => {
  try {
    if (m.cmd === 'connect') {
      if (client && !client.isClosed) client.close().catch(() => {});
      const challenge = await connect(m.url);
      parentPort.postMessage({ type: 'connected', challenge });
    } else if (m.cmd === 'start') {
      samples = [];
      acked = new Set();
      reconnected = false;
      if (closeInfo || client.isClosed) {
        await connect(client.ws.url);
        reconnected = true;
      }
      running = true;
      loop = roundTrips(m.label);
      parentPort.postMessage({ type: 'started', reconnected });
    } else if (m.cmd === 'stop') {
      running = false;
      await loop;
      await sleep(20);
      if (client && !client.isClosed) sweepLateOks();
      parentPort.postMessage({
        type: 'report',
        samples,
        acked: [...acked],
        closedDuring: closeInfo,
        open: !!client && !client.isClosed,
        reconnected,
      });
    } else if (m.cmd === 'quit') {
      running = false;
      await loop;
      if (client && !client.isClosed) await Promise.race([client.close(), sleep(2000)]);
      parentPort.postMessage({ type: 'quit' });
      parentPort.close();
    }
  } catch (err) {
    parentPort.postMessage({ type: 'error', error: String(err?.stack ?? err) });
  }
});
