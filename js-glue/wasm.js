// The nostr_relay wasm module for this isolate: getWasm() returns the current
// instance (js-glue/wasm_instance.js), built on first use and again after the
// current one was retired by a failure.
//
// The module is imported as a CompiledWasm module (a WebAssembly.Module):
// wrangler's CompiledWasm rule bundles it straight from the build tree, so a
// deploy always ships the module the last `cmake --build --preset wasm-wasi`
// produced (there is no copy to go stale). Plain node cannot load this import,
// which is why everything else lives in modules that take getWasm as an argument.

import wasmModule from '../build/wasm-wasi/nostr_relay.wasm';
import { instanceSource } from './wasm_instance.js';

export const getWasm = instanceSource(wasmModule);
