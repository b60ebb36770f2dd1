// Loads the core wasm module (either toolchain) with plain
// WebAssembly.instantiate and wraps its C ABI (core/abi/core_abi.h).
//
//   const core = await loadCore('build/wasm-wasi/nostr_relay.wasm');
//   core.validateEvent(json, now)  -> { code, out }   nr_validate_event
//   core.checkFrame(frame, now)    -> { code, out }   nr_check_frame
//   core.serializeEvent(json)      -> { code, out }   nr_serialize_event
//   core.configError(json)         -> reason text, '' if valid   nr_config_error
//
// Inputs are strings (UTF-8 encoded here) or Uint8Arrays (passed as is, so
// invalid UTF-8 can be tested). Used by tests/wasm, bench/verify and the glue.
// Pointers and lengths from exports are taken `>>> 0`: the ABI's uint32_t
// arrives as a signed i32, negative for addresses >= 2^31.

import { readFileSync } from 'node:fs';

export const NR_PADDING = 64;

// The whole host interface the module may import (core_abi.h, "Host interface").
export const ALLOWED_IMPORTS = Object.freeze({
  wasi_snapshot_preview1: ['fd_write', 'fd_seek', 'fd_close', 'proc_exit'],
  env: ['emscripten_notify_memory_growth'],
});

export const EXPECTED_EXPORTS = ['memory', 'nr_abi_version', 'nr_alloc', 'nr_free', 'nr_ctx_new', 'nr_ctx_free',
  'nr_out_ptr', 'nr_out_len', 'nr_validate_event', 'nr_check_frame', 'nr_serialize_event', 'nr_config_error'];

// Imports of `module` outside ALLOWED_IMPORTS, as "module.name" strings.
export function unexpectedImports(module) {
  return WebAssembly.Module.imports(module)
    .filter((i) => i.kind !== 'function' || !(ALLOWED_IMPORTS[i.module] ?? []).includes(i.name))
    .map((i) => `${i.module}.${i.name} (${i.kind})`);
}

export class WasmExit extends Error {}

// Stubs for exactly the imports the module declares. libc only reaches these
// on its abort/exit paths: writes go to stderr, proc_exit throws.
function hostImports(module, getMemory) {
  const WASI_EBADF = 8, WASI_ESPIPE = 70;
  const impl = {
    wasi_snapshot_preview1: {
      fd_write(fd, iovs, iovsLen, nwrittenPtr) {
        const mem = getMemory();
        const view = new DataView(mem.buffer);
        let total = 0;
        for (let i = 0; i < iovsLen; i++) {
          const ptr = view.getUint32(iovs + 8 * i, true);
          const len = view.getUint32(iovs + 8 * i + 4, true);
          if (fd === 1 || fd === 2) process.stderr.write(new Uint8Array(mem.buffer, ptr, len));
          total += len;
        }
        view.setUint32(nwrittenPtr, total, true);
        return fd === 1 || fd === 2 ? 0 : WASI_EBADF;
      },
      fd_seek: () => WASI_ESPIPE,
      fd_close: () => 0,
      proc_exit(code) {
        throw new WasmExit(`wasm module called proc_exit(${code})`);
      },
    },
    env: {
      emscripten_notify_memory_growth() {}, // views are re-created after every call anyway
    },
  };
  const bad = unexpectedImports(module);
  if (bad.length) throw new Error(`module imports outside the documented host interface: ${bad.join(', ')}`);
  const imports = {};
  for (const { module: mod, name } of WebAssembly.Module.imports(module)) {
    (imports[mod] ??= {})[name] = impl[mod][name];
  }
  return imports;
}

export class CoreModule {
  constructor(instance, module) {
    this.instance = instance;
    this.module = module;
    this.exports = instance.exports;
    this.ctx = this.exports.nr_ctx_new() >>> 0;
    if (!this.ctx) throw new Error('nr_ctx_new failed');
    this.encoder = new TextEncoder();
    this.decoder = new TextDecoder('utf-8');
    this.cap = 0; // input buffer (nr_alloc'd), reused and grown as needed
    this.buf = 0;
  }

  // Copies `input` into the module's input buffer; returns its length in bytes.
  #copyIn(input) {
    const e = this.exports;
    const isBytes = input instanceof Uint8Array;
    const need = isBytes ? input.length : input.length * 3; // UTF-8 worst case
    if (need > this.cap || this.buf === 0) {
      if (this.buf) e.nr_free(this.buf);
      this.cap = Math.max(need, 4096);
      this.buf = e.nr_alloc(this.cap) >>> 0;
      if (!this.buf) throw new Error(`nr_alloc(${this.cap}) failed`);
    }
    const view = new Uint8Array(e.memory.buffer, this.buf, this.cap); // memory may have grown
    if (isBytes) {
      view.set(input);
      return input.length;
    }
    return this.encoder.encodeInto(input, view).written;
  }

  #result(code) {
    const e = this.exports;
    const ptr = e.nr_out_ptr(this.ctx) >>> 0;
    const len = e.nr_out_len(this.ctx) >>> 0;
    return { code, out: this.decoder.decode(new Uint8Array(e.memory.buffer, ptr, len)) };
  }

  validateEvent(json, now) {
    const len = this.#copyIn(json);
    return this.#result(this.exports.nr_validate_event(this.ctx, this.buf, len, now));
  }

  checkFrame(frame, now) {
    const len = this.#copyIn(frame);
    return this.#result(this.exports.nr_check_frame(this.ctx, this.buf, len, now));
  }

  serializeEvent(json) {
    const len = this.#copyIn(json);
    return this.#result(this.exports.nr_serialize_event(this.ctx, this.buf, len));
  }

  // Only the code (no output decoding): what a hot path that needs just the verdict pays.
  validateEventCode(json, now) {
    const len = this.#copyIn(json);
    return this.exports.nr_validate_event(this.ctx, this.buf, len, now);
  }

  // Why nr_relay_new would refuse `json` as relay configuration, or ''.
  configError(json) {
    const e = this.exports;
    const len = this.#copyIn(json);
    const cap = 1024;
    const out = e.nr_alloc(cap) >>> 0;
    if (!out) throw new Error(`nr_alloc(${cap}) failed`);
    try {
      const n = e.nr_config_error(this.buf, len, out, cap) >>> 0;
      return this.decoder.decode(new Uint8Array(e.memory.buffer, out, Math.min(n, cap)));
    } finally {
      e.nr_free(out);
    }
  }

  close() {
    if (this.buf) this.exports.nr_free(this.buf);
    this.exports.nr_ctx_free(this.ctx);
    this.buf = this.ctx = 0;
  }
}

// `source`: a path, the module's bytes, or a compiled WebAssembly.Module.
export async function loadCore(source) {
  const module = source instanceof WebAssembly.Module ? source
    : await WebAssembly.compile(typeof source === 'string' ? readFileSync(source) : source);
  let memory = null;
  const instance = await WebAssembly.instantiate(module, hostImports(module, () => memory));
  memory = instance.exports.memory;
  if (typeof instance.exports._initialize === 'function') instance.exports._initialize(); // wasi reactor
  return new CoreModule(instance, module);
}
