// Event templates of the benchmark corpora (deterministic; signed once and
// cached by lib.mjs corpus()).
import { createHash } from 'node:crypto';
import { getPublicKey } from 'nostr-tools/pure';
import { corpus, rng, secretKey } from './lib.mjs';

const WORDS = ('the of and to in is you that it he was for on are as with his they at be this have from or one had by word but not what all ' +
  'were we when your can said there use an each which she do how their if will up other about out many then them these so some her ' +
  'would make like him into time has look two more write go see number no way could people my than first water been call who oil its ' +
  'now find long down day did get come made may part nostr relay zap note sats bitcoin 🦩 ⚡ über café 日本語').split(' ');

function text(r, min, max) {
  const len = min + Math.floor(r() * (max - min));
  let s = '';
  while (s.length < len) s += (s ? ' ' : '') + WORDS[Math.floor(r() * WORDS.length)];
  if (r() < 0.1) s += '\n\n"quoted" \\ tab\t';
  return s;
}

const hex64 = (s) => createHash('sha256').update(s).digest('hex');

// Ingest: `n` kind-1 notes from 200 authors, 100-300 chars, a few tags.
export function ingestCorpus(n = 20000) {
  return corpus('ingest', { n, authors: 200, base: 1760000000 }, ({ n: count, authors, base }) => {
    const r = rng(1);
    return Array.from({ length: count }, (_, i) => ({
      author: i % authors,
      kind: 1,
      created_at: base - Math.floor(r() * 86400),
      tags: r() < 0.3 ? [['e', hex64(`ingest-root/${Math.floor(r() * 1000)}`)], ['t', 'bench']] : [['t', 'bench']],
      content: text(r, 100, 300),
    }));
  });
}

// Costs: 2000 kind-1 notes like the ingest corpus (other authors).
export function costCorpus(n = 2000) {
  return corpus('costs', { n, authors: 50, base: 1760000000 }, ({ n: count, authors, base }) => {
    const r = rng(4);
    return Array.from({ length: count }, (_, i) => ({
      author: i % authors, kind: 1, created_at: base - Math.floor(r() * 86400), tags: [['t', 'cost']], content: text(r, 100, 300),
    }));
  });
}

// Fan-out: `n` kind-1 notes tagged #t=<tag>, one author.
export function fanoutCorpus(tag, n = 100) {
  return corpus(`fanout-${tag}`, { n, tag, base: 1760000000 }, ({ n: count, tag: t, base }) => {
    const r = rng(2);
    return Array.from({ length: count }, (_, i) => ({
      author: 0, kind: 1, created_at: base + i, tags: [['t', t]], content: text(r, 80, 200),
    }));
  });
}

// Several objects: `n` kind-1 notes, each tagged #t=topic-<k> with k uniform
// over `topics` (bench/relay/objects.mjs), over 20 authors.
export function objectsCorpus(n = 200, topics = 40, run = 0) {
  return corpus(`objects-${run}`, { n, topics, run, base: 1760000000 + run * 1000 }, ({ n: count, topics: nt, base }) => {
    const r = rng(5 + run);
    return Array.from({ length: count }, (_, i) => ({
      author: i % 20, kind: 1, created_at: base + i, tags: [['t', `topic-${Math.floor(r() * nt)}`]], content: text(r, 80, 200),
    }));
  });
}

// Query seed: one kind 0 per author, then `n` events over `authors` authors:
// kind 1 (60%, 30% replies with e/p), 7 (20%, e/p), 6 (10%, e/p),
// 30023 (10%, unique d), created_at over 30 days; e tags point at 5000 thread roots.
export async function seedCorpus({ n = 100000, authors = 2000 } = {}) {
  const spec = { n, authors, roots: 5000, base: 1760000000, span: 30 * 86400, keyTag: 'seed' };
  return corpus('seed', spec, ({ n: count, authors: na, roots, base, span, keyTag }) => {
    const r = rng(3);
    const pubkeys = Array.from({ length: na }, (_, i) => getPublicKey(secretKey(keyTag, i)));
    const root = () => hex64(`seed-root/${Math.floor(r() * roots)}`);
    const out = pubkeys.map((pk, i) => ({
      author: i, kind: 0, created_at: base - span - 1000 + i, tags: [],
      content: JSON.stringify({ name: `bench${i}`, about: text(r, 20, 80) }),
    }));
    for (let i = 0; i < count; i++) {
      const author = Math.floor(r() * na);
      const created_at = base - Math.floor(r() * span);
      const x = r();
      const p = () => ['p', pubkeys[Math.floor(r() * na)]];
      if (x < 0.6) {
        const tags = r() < 0.3 ? [['e', root(), '', 'root'], p()] : [];
        if (r() < 0.2) tags.push(['t', WORDS[Math.floor(r() * 40)]]);
        out.push({ author, kind: 1, created_at, tags, content: text(r, 40, 400) });
      } else if (x < 0.8) {
        out.push({ author, kind: 7, created_at, tags: [['e', root()], p()], content: r() < 0.8 ? '+' : '🤙' });
      } else if (x < 0.9) {
        out.push({ author, kind: 6, created_at, tags: [['e', root(), ''], p()], content: '' });
      } else {
        out.push({
          author, kind: 30023, created_at,
          tags: [['d', `article-${i}`], ['title', text(r, 10, 40)], ['published_at', String(created_at)], p()],
          content: text(r, 500, 2000),
        });
      }
    }
    return out;
  });
}
