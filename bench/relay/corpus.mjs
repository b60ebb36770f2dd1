// Signs and caches the benchmark corpora ahead of time (run.mjs does it on demand too).
//   node bench/relay/corpus.mjs          (BENCH_SIGN_THREADS=1 to use one core)
import { fanoutCorpus, ingestCorpus, seedCorpus } from './corpora.mjs';

await ingestCorpus();
await fanoutCorpus('fanout-burst');
await fanoutCorpus('fanout-paced');
await seedCorpus();
