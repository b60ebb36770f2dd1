#!/usr/bin/env node
// Differential test of core/negentropy (through tests/tools/neg_peer) against
// the JavaScript NIP-77 implementations: nostr-tools (nip77) and
// @nostr-dev-kit/sync. For random item sets split every way between client
// and server, runs whole syncs our server <-> their client and their server
// <-> our client, and requires the client to learn exactly the ids only it has
// and the ids only the server has. Also requires our initial message to be
// byte-for-byte theirs. Seeded (tests/support/prng.mjs): failures reproduce.
//
//   NEG_PEER=build/native-release/tests/neg_peer node tests/negentropy/differential.mjs
// (registered with ctest as negentropy_differential.)
//
// Limits of the JavaScript side that shape the data:
//  - both decode varints with 32-bit shifts, so timestamps stay below 2^31 - 1;
//  - nostr-tools' Negentropy always has a frame size limit (>= 4096) and does
//    not answer an IdList with its own ids when it is the server: it reports
//    the differences of that range through its own callbacks instead. With it
//    as the server, the client's result is completed with those callbacks.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { after, test } from 'node:test';
import { bytesToHex, hexToBytes } from '@noble/hashes/utils.js';
import { nip77 } from 'nostr-tools';
import { Negentropy as NdkNegentropy, NegentropyStorage as NdkStorage } from '@nostr-dev-kit/sync';
import { mulberry32 } from '../support/prng.mjs';

const NEG_PEER = process.env.NEG_PEER;
assert.ok(NEG_PEER, 'NEG_PEER (path of the neg_peer binary) is not set');

// ------------------------------------------------------------------ our side

class Peer {
  constructor() {
    this.proc = spawn(NEG_PEER, [], { stdio: ['pipe', 'pipe', 'inherit'] });
    this.waiting = [];
    createInterface({ input: this.proc.stdout }).on('line', (line) => this.waiting.shift()(JSON.parse(line)));
    this.proc.on('exit', (code, signal) => {
      if (code !== 0 || signal) for (const w of this.waiting.splice(0)) w({ err: `neg_peer died: ${code} ${signal}` });
    });
  }
  call(text) {
    return new Promise((resolve) => {
      this.waiting.push(resolve);
      this.proc.stdin.write(text + '\n');
    });
  }
  async load(items) {
    const r = await this.call([`load ${items.length}`, ...items.map(([ts, id]) => `${ts} ${id}`)].join('\n'));
    assert.equal(r.size, items.length);
  }
  options(frameSizeLimit, maxRanges) {
    return this.call(`options ${frameSizeLimit} ${maxRanges}`);
  }
  close() {
    this.proc.stdin.end();
  }
}

// ------------------------------------------------------------------ their side

const implementations = {
  'nostr-tools': {
    minFrame: 4096, // its constructor refuses smaller limits, and 0
    storage(items) {
      const s = new nip77.NegentropyStorageVector();
      for (const [ts, id] of items) s.insert(ts, id);
      s.seal();
      return s;
    },
    client(items, frame) {
      const neg = new nip77.Negentropy(this.storage(items), frame || 60000);
      return {
        initiate: async () => neg.initiate(),
        reconcile: async (hex) => {
          const have = [], need = [];
          const next = neg.reconcile(hex, (id) => have.push(id), (id) => need.push(id));
          return { next, have, need };
        },
      };
    },
    server(items, frame) {
      const neg = new nip77.Negentropy(this.storage(items), frame || 60000);
      return {
        reconcile: async (hex) => {
          const have = [], need = [];
          const out = neg.reconcile(hex, (id) => have.push(id), (id) => need.push(id));
          // It returns null for a bare version byte; a server sends that byte.
          return { reply: out ?? '61', serverHave: have, serverNeed: need };
        },
      };
    },
  },
  '@nostr-dev-kit/sync': {
    minFrame: 0,
    storage(items) {
      const s = new NdkStorage();
      for (const [ts, id] of items) s.insert(ts, id);
      s.seal();
      return s;
    },
    client(items, frame) {
      const neg = new NdkNegentropy(this.storage(items), frame);
      return {
        initiate: async () => bytesToHex(await neg.initiate()),
        reconcile: async (hex) => {
          const r = await neg.reconcile(hexToBytes(hex));
          return {
            next: r.nextMessage ? bytesToHex(r.nextMessage) : null,
            have: r.have.map((b) => bytesToHex(b)),
            need: r.need.map((b) => bytesToHex(b)),
          };
        },
      };
    },
    server(items, frame) {
      const neg = new NdkNegentropy(this.storage(items), frame);
      return {
        reconcile: async (hex) => {
          const r = await neg.reconcile(hexToBytes(hex));
          return { reply: bytesToHex(r.nextMessage), serverHave: [], serverNeed: [] };
        },
      };
    },
  },
};

// ------------------------------------------------------------------ data

const TS_MAX = 2 ** 31 - 2; // see the header: 32-bit varint decoding in JS

function randomId(rand) {
  let hex = '';
  for (let i = 0; i < 8; i++) hex += (Math.floor(rand() * 2 ** 32) >>> 0).toString(16).padStart(8, '0');
  return hex;
}

const timestampKinds = {
  spread: (rand) => 1700000000 + Math.floor(rand() * 100000),
  few: (rand) => 1700000000 + Math.floor(rand() * 3), // many equal timestamps
  extreme: (rand) => [0, TS_MAX, TS_MAX - 1, Math.floor(rand() * TS_MAX)][Math.floor(rand() * 4)],
};

// Items on both sides, only the client's, only the server's. `latePrefix`
// makes every id share its first 28 bytes (bounds then need 29-32 bytes).
function makeSides(rand, shared, onlyClient, onlyServer, ts, latePrefix = false) {
  const item = () => [ts(rand), latePrefix ? '5a'.repeat(28) + randomId(rand).slice(0, 8) : randomId(rand)];
  const client = [], server = [];
  for (let i = 0; i < shared; i++) {
    const it = item();
    client.push(it);
    server.push(it);
  }
  for (let i = 0; i < onlyClient; i++) client.push(item());
  for (let i = 0; i < onlyServer; i++) server.push(item());
  return { client, server };
}

function expected({ client, server }) {
  const c = new Set(client.map(([, id]) => id));
  const s = new Set(server.map(([, id]) => id));
  return {
    have: [...c].filter((id) => !s.has(id)).sort(),
    need: [...s].filter((id) => !c.has(id)).sort(),
  };
}

const sorted = (ids) => [...new Set(ids)].sort();

// ------------------------------------------------------------------ syncs

const MAX_RANGES = 1 << 20; // their unlimited servers may send more than our default

// Our server, their client. Returns the client's have/need and the traffic.
async function ourServerTheirClient(peer, impl, sides, frame) {
  await peer.load(sides.server);
  await peer.options(frame, MAX_RANGES);
  const client = impl.client(sides.client, frame);
  let msg = await client.initiate();
  const have = [], need = [];
  let rounds = 0, up = 0, down = 0;
  for (;;) {
    assert.ok(++rounds < 1000, 'sync does not converge');
    up += msg.length / 2;
    const r = await peer.call(`server ${msg}`);
    assert.ok(r.msg !== undefined, `our server rejected their message: ${r.err}`);
    assert.ok(r.msg.length / 2 <= (frame || 60000), `reply of ${r.msg.length / 2} bytes over the limit`);
    down += r.msg.length / 2;
    const c = await client.reconcile(r.msg);
    have.push(...c.have);
    need.push(...c.need);
    if (!c.next) break;
    msg = c.next;
  }
  return { have: sorted(have), need: sorted(need), rounds, up, down };
}

// Their server, our client.
async function theirServerOurClient(peer, impl, sides, frame) {
  await peer.load(sides.client);
  await peer.options(frame, MAX_RANGES);
  const server = impl.server(sides.server, frame);
  let msg = (await peer.call('initiate')).msg;
  const have = [], need = [];
  let rounds = 0, up = 0, down = 0;
  for (;;) {
    assert.ok(++rounds < 1000, 'sync does not converge');
    up += msg.length / 2;
    const r = await server.reconcile(msg);
    down += r.reply.length / 2;
    // What their server found out itself (nostr-tools) is the client's too.
    need.push(...r.serverHave);
    have.push(...r.serverNeed);
    const c = await peer.call(`client ${r.reply}`);
    assert.ok(c.next !== undefined, `our client rejected their reply: ${c.err}`);
    if (frame && rounds > 1) assert.ok(c.next.length / 2 <= frame, 'our message over the limit');
    have.push(...c.have);
    need.push(...c.need);
    if (c.next === '') break;
    msg = c.next;
  }
  return { have: sorted(have), need: sorted(need), rounds, up, down };
}

function checkExact(got, sides, what) {
  const want = expected(sides);
  assert.deepEqual(got.have, want.have, `${what}: have differs (${got.have.length} vs ${want.have.length})`);
  assert.deepEqual(got.need, want.need, `${what}: need differs (${got.need.length} vs ${want.need.length})`);
}

const SPLITS = [
  [0, 0, 0], [0, 1, 0], [0, 0, 1], [1, 0, 0], [0, 31, 0], [0, 0, 32], [0, 33, 33], [31, 1, 0], [32, 0, 1],
  [500, 0, 0], [500, 7, 0], [500, 0, 7], [500, 7, 9], [0, 500, 0], [0, 0, 500], [0, 300, 300],
  [2000, 1, 1], [2000, 100, 0], [2000, 0, 100], [2000, 50, 60], [100, 2000, 0], [100, 0, 2000],
  [5000, 200, 3],
];

const peer = new Peer();
const ourClient = new Peer(); // builds our initial message for the byte comparison

for (const [name, impl] of Object.entries(implementations)) {
  const frames = impl.minFrame === 0 ? [0, 4096, 60000] : [4096, 60000];

  test(`${name}: our initial message is theirs, byte for byte`, async () => {
    const rand = mulberry32(0x696e6974);
    for (const [shared, c, s] of SPLITS) {
      for (const ts of Object.values(timestampKinds)) {
        const sides = makeSides(rand, shared, c, s, ts);
        await ourClient.load(sides.client);
        const ours = (await ourClient.call('initiate')).msg;
        assert.equal(ours, await impl.client(sides.client, impl.minFrame || 0).initiate());
      }
    }
  });

  for (const direction of ['our server, their client', 'their server, our client']) {
    const run = direction.startsWith('our') ? ourServerTheirClient : theirServerOurClient;

    // @nostr-dev-kit/sync 1.0.0 as a server loses ids once it cuts an IdList
    // at its frame size limit (see the test after this loop): unlimited only.
    const splitFrames = name === '@nostr-dev-kit/sync' && run === theirServerOurClient ? [0] : frames;

    test(`${name}: ${direction}: every split, exact have/need`, async () => {
      const rand = mulberry32(direction.length * 7919 + name.length);
      for (const [shared, c, s] of SPLITS) {
        for (const [kind, ts] of Object.entries(timestampKinds)) {
          for (const frame of splitFrames) {
            const sides = makeSides(rand, shared, c, s, ts);
            checkExact(await run(peer, impl, sides, frame), sides, `split ${shared}/${c}/${s} ${kind} frame ${frame}`);
          }
        }
      }
      for (let i = 0; i < 20; i++) {
        const sides = makeSides(rand, Math.floor(rand() * 3000), Math.floor(rand() * 300), Math.floor(rand() * 300),
          Object.values(timestampKinds)[i % 3], i % 4 === 0);
        const frame = splitFrames[i % splitFrames.length];
        checkExact(await run(peer, impl, sides, frame), sides, `random #${i} frame ${frame}`);
      }
    });

    // The differences are spread thinly, so no IdList is cut here and
    // @nostr-dev-kit/sync's server gets it right too.
    test(`${name}: ${direction}: 100k records per side, 1% differences; 20k with 4096-byte frames`, async () => {
      const rand = mulberry32(100000 + name.length);
      const cases = [
        [makeSides(rand, 100000, 500, 500, timestampKinds.spread), 60000],
        [makeSides(rand, 20000, 100, 100, timestampKinds.few), 4096],
      ];
      for (const [sides, frame] of cases) {
        const got = await run(peer, impl, sides, frame);
        checkExact(got, sides, `${sides.server.length} frame ${frame}`);
        console.log(`# ${name}, ${direction}, ${sides.server.length} items, frame ${frame}: ${got.rounds} rounds, ` +
          `${got.up} bytes up, ${got.down} bytes down`);
      }
    });
  }
}

// A known bug of @nostr-dev-kit/sync 1.0.0 (Negentropy.handleIdListAsResponder):
// when its answer to an IdList is cut at the frame size limit, it does not
// move the range's end to the cut, so its closing fingerprint covers only the
// items after the whole range. An empty client then matches it and stops
// after the first chunk. The reference (and our server) hash from the cut.
test('@nostr-dev-kit/sync 1.0.0 as a server with a frame size limit loses ids; ours does not', async () => {
  const impl = implementations['@nostr-dev-kit/sync'];
  const sides = makeSides(mulberry32(77), 0, 0, 500, timestampKinds.spread);
  const theirs = await theirServerOurClient(peer, impl, sides, 4096);
  assert.ok(theirs.need.length < 500, 'fixed upstream? then drop this test and the frame restriction above');
  checkExact(await ourServerTheirClient(peer, impl, sides, 4096), sides, 'our server');
});

after(() => {
  peer.close();
  ourClient.close();
});
