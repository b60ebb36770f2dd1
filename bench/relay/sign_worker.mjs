// Worker thread: signs event templates with nostr-tools (for the corpus cache).
import { parentPort, workerData } from 'node:worker_threads';
import { createHash } from 'node:crypto';
import { finalizeEvent } from 'nostr-tools/pure';

const { keyTag, templates } = workerData;
const keys = new Map();
const key = (i) => {
  let k = keys.get(i);
  if (!k) {
    k = new Uint8Array(createHash('sha256').update(`nostr-relay-bench/${keyTag}/${i}`).digest());
    keys.set(i, k);
  }
  return k;
};
const out = templates.map(({ author, ...tpl }) => finalizeEvent(tpl, key(author)));
parentPort.postMessage(out);
