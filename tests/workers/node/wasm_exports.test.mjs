// The wasm module exports every function the glue calls (js-glue/*.js) and
// imports nothing beyond the stubs js-glue/wasm_instance.js provides.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const WASM = process.env.NOSTR_WASM_WASI || `${ROOT}build/wasm-wasi/nostr_relay.wasm`;

const GLUE_CALLS = [
  'memory', 'nr_alloc', 'nr_free', 'nr_config_error',
  'nr_edge_new', 'nr_edge_free', 'nr_edge_set_metrics_token', 'nr_edge_request', 'nr_edge_out_ptr', 'nr_edge_out_len',
  'nr_relay_new', 'nr_relay_free', 'nr_relay_actions_ptr', 'nr_relay_actions_len', 'nr_relay_open', 'nr_relay_restore',
  'nr_relay_frame', 'nr_relay_frame_limit', 'nr_relay_oversized', 'nr_relay_close', 'nr_relay_store_done',
  'nr_relay_local_sql_done', 'nr_relay_connection_count', 'nr_relay_subscription_count', 'nr_relay_stats',
  'nr_relay_stats_ptr', 'nr_relay_next_deadline', 'nr_relay_next_alarm', 'nr_relay_timer',
];
const STUBS = { wasi_snapshot_preview1: ['fd_write', 'fd_seek', 'fd_close', 'proc_exit'], env: ['emscripten_notify_memory_growth'] };

test('build/wasm-wasi/nostr_relay.wasm has the glue interface', async () => {
  const mod = await WebAssembly.compile(readFileSync(WASM));
  const exported = new Set(WebAssembly.Module.exports(mod).map((e) => e.name));
  assert.deepEqual(GLUE_CALLS.filter((n) => !exported.has(n)), [], 'missing exports');
  const extra = WebAssembly.Module.imports(mod).filter((i) => !(STUBS[i.module] ?? []).includes(i.name));
  assert.deepEqual(extra, [], 'imports js-glue/wasm_instance.js does not provide');
});
