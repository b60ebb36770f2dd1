// The nostr_relay wasm module, instantiated once per isolate, plus the few
// memory helpers the glue needs (core/abi/core_abi.h conventions).
//
// The module is imported as a CompiledWasm module (a WebAssembly.Module):
// wrangler's CompiledWasm rule bundles it straight from the build tree, so a
// deploy always ships the module the last `cmake --build --preset wasm-wasi`
// produced (there is no copy to go stale).

import wasmModule from '../build/wasm-wasi/nostr_relay.wasm';

export const NR_PADDING = 64;

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8');

class WasmExit extends Error {}

// Stubs for the imports libc keeps on its abort/exit paths (the whole host
// interface, see core_abi.h). Only what the module declares is provided.
function hostImports(module, getMemory) {
  const WASI_EBADF = 8;
  const WASI_ESPIPE = 70;
  const impl = {
    wasi_snapshot_preview1: {
      fd_write(fd, iovs, iovsLen, nwrittenPtr) {
        const view = new DataView(getMemory().buffer);
        let total = 0;
        let text = '';
        for (let i = 0; i < iovsLen; i++) {
          const ptr = view.getUint32(iovs + 8 * i, true);
          const len = view.getUint32(iovs + 8 * i + 4, true);
          text += decoder.decode(new Uint8Array(getMemory().buffer, ptr, len));
          total += len;
        }
        if (fd === 1 || fd === 2) console.error(`[nostr_relay.wasm fd ${fd}] ${text}`);
        view.setUint32(nwrittenPtr, total, true);
        return fd === 1 || fd === 2 ? 0 : WASI_EBADF;
      },
      fd_seek: () => WASI_ESPIPE,
      fd_close: () => 0,
      proc_exit(code) {
        throw new WasmExit(`nostr_relay.wasm called proc_exit(${code})`);
      },
    },
    env: {
      emscripten_notify_memory_growth() {}, // views are re-created after every call
    },
  };
  const imports = {};
  for (const { module: mod, name, kind } of WebAssembly.Module.imports(module)) {
    const fn = impl[mod]?.[name];
    if (kind !== 'function' || !fn) throw new Error(`nostr_relay.wasm imports ${mod}.${name} (${kind}): not in the host interface`);
    (imports[mod] ??= {})[name] = fn;
  }
  return imports;
}

// One instance per isolate. A trap can leave the C++ heap inconsistent, so
// after one the instance is dropped and the next user gets a fresh one
// (`generation` tells holders of engine pointers that theirs are gone).
let current = null;
let generation = 0;

export class Wasm {
  constructor(module) {
    let memory = null;
    this.instance = new WebAssembly.Instance(module, hostImports(module, () => memory));
    this.exports = this.instance.exports;
    memory = this.exports.memory;
    if (typeof this.exports._initialize === 'function') this.exports._initialize();
    this.generation = ++generation;
    this.broken = false;
  }

  // Calls export `name`; a throw (trap, proc_exit) marks the instance broken.
  call(name, ...args) {
    const fn = this.exports[name];
    if (typeof fn !== 'function') throw new Error(`nostr_relay.wasm does not export ${name}`);
    try {
      return fn(...args);
    } catch (err) {
      this.broken = true;
      if (current === this) current = null;
      throw err;
    }
  }

  has(name) {
    return typeof this.exports[name] === 'function';
  }

  // Copies `input` (string -> UTF-8, or bytes as is) into a fresh nr_alloc'd
  // buffer with NR_PADDING spare bytes. Returns { ptr, len }; release with free().
  // An empty input still gets a valid buffer (ptr != 0).
  write(input) {
    const isBytes = typeof input !== 'string';
    const bytes = isBytes ? (input instanceof Uint8Array ? input : new Uint8Array(input)) : null;
    const cap = isBytes ? bytes.length : input.length * 3; // UTF-8 worst case
    const ptr = this.call('nr_alloc', cap);
    if (!ptr) throw new Error(`nr_alloc(${cap}) failed`);
    // Views are made after nr_alloc: it may have grown (and so replaced) memory.buffer.
    const view = new Uint8Array(this.exports.memory.buffer, ptr, cap + NR_PADDING);
    let len;
    if (isBytes) {
      view.set(bytes);
      len = bytes.length;
    } else {
      len = encoder.encodeInto(input, view.subarray(0, cap)).written;
    }
    view.fill(0, len, len + NR_PADDING);
    return { ptr, len };
  }

  free(ptr) {
    if (ptr) this.call('nr_free', ptr);
  }

  // write + call + free: `fn(ptr, len)` runs while the buffer is alive.
  withInput(input, fn) {
    const { ptr, len } = this.write(input);
    try {
      return fn(ptr, len);
    } finally {
      if (!this.broken) this.free(ptr);
    }
  }

  // A copy of len bytes at ptr (memory.buffer is re-read: it may have grown).
  read(ptr, len) {
    return new Uint8Array(this.exports.memory.buffer, ptr, len).slice();
  }

  readText(ptr, len) {
    return decoder.decode(new Uint8Array(this.exports.memory.buffer, ptr, len));
  }
}

// The isolate's instance (created on first use, again after a trap).
export function getWasm() {
  if (current === null) current = new Wasm(wasmModule);
  return current;
}

// Relay configuration JSON for nr_edge_new / nr_relay_new: RELAY_CONFIG from
// [vars] is an object (TOML table) or, when set as a plain variable/secret,
// JSON text.
export function configJson(env) {
  const cfg = env.RELAY_CONFIG;
  if (cfg === undefined || cfg === null) return '{}';
  return typeof cfg === 'string' ? cfg : JSON.stringify(cfg);
}

export const utf8 = {
  encode: (s) => encoder.encode(s),
  decode: (b) => decoder.decode(b),
};
