// One instance of the nostr_relay wasm module and the memory helpers the glue
// needs (core/abi/core_abi.h conventions). No runtime-specific imports: the
// same code runs in workerd (js-glue/wasm.js) and in plain node (tests).
//
// Pointers and lengths: the C ABI returns them as uint32_t, but a wasm i32
// reaches JS as a signed number, so an address at or above 2^31 would read as
// negative. Every pointer or length taken from an export goes through u32()
// (`>>> 0`); passing such a number back into wasm is fine (ToInt32 wraps).

export const NR_PADDING = 64;

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8');

export const utf8 = {
  encode: (s) => encoder.encode(s),
  decode: (b) => decoder.decode(b),
};

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
        for (let i = 0; i < iovsLen >>> 0; i++) {
          const ptr = view.getUint32((iovs >>> 0) + 8 * i, true);
          const len = view.getUint32((iovs >>> 0) + 8 * i + 4, true);
          text += decoder.decode(new Uint8Array(getMemory().buffer, ptr, len));
          total += len;
        }
        if (fd === 1 || fd === 2) console.error(`[nostr_relay.wasm fd ${fd}] ${text}`);
        view.setUint32(nwrittenPtr >>> 0, total, true);
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

// Numbers every instance made in this isolate: holders of engine pointers
// compare it to know whether theirs belong to the current instance.
let generations = 0;

export class WasmInstance {
  // `module`: a compiled WebAssembly.Module of nostr_relay.wasm.
  constructor(module) {
    let memory = null;
    this.instance = new WebAssembly.Instance(module, hostImports(module, () => memory));
    this.exports = this.instance.exports;
    memory = this.exports.memory;
    if (typeof this.exports._initialize === 'function') this.exports._initialize();
    this.generation = ++generations;
    this.trapped = false; // a call threw: the C++ heap may be inconsistent, never call in again
    this.discarded = false; // a user saw a failure: no new user may get this instance
  }

  // True once the instance must not be handed to anyone new.
  get retired() {
    return this.trapped || this.discarded;
  }

  // Retires the instance after a failure (of any kind): its heap may hold what
  // the failed work never freed, so the next getWasm() builds a fresh one.
  // Current holders keep working on it until they let it go.
  discard() {
    this.discarded = true;
  }

  // Calls export `name` and returns its raw result (an i32 is signed: use
  // u32() for pointers and lengths). A throw (trap, proc_exit) marks the
  // instance trapped; calling a trapped instance throws.
  call(name, ...args) {
    if (this.trapped) throw new Error(`nostr_relay.wasm instance ${this.generation} trapped earlier; not calling ${name}`);
    const fn = this.exports[name];
    if (typeof fn !== 'function') throw new Error(`nostr_relay.wasm does not export ${name}`);
    try {
      return fn(...args);
    } catch (err) {
      this.trapped = true;
      throw err;
    }
  }

  // call() for exports returning a pointer or a length (uint32_t in the ABI).
  u32(name, ...args) {
    return this.call(name, ...args) >>> 0;
  }

  has(name) {
    return typeof this.exports[name] === 'function';
  }

  // Size of linear memory in bytes (it only grows).
  memoryBytes() {
    return this.exports.memory.buffer.byteLength;
  }

  // Returns a fresh nr_alloc'd buffer of n (+ NR_PADDING) bytes, owned by the
  // caller (release with free()). Throws if the module is out of memory.
  alloc(n) {
    const ptr = this.u32('nr_alloc', n);
    if (!ptr) throw new Error(`nr_alloc(${n}) failed`);
    return ptr;
  }

  // Copies `input` (string -> UTF-8, or bytes as is) into a fresh nr_alloc'd
  // buffer with NR_PADDING spare bytes. Returns { ptr, len }; the caller owns
  // the buffer: release it with free(). An empty input still gets a valid
  // buffer (ptr != 0). On a throw nothing stays allocated.
  write(input) {
    const isBytes = typeof input !== 'string';
    const bytes = isBytes ? (input instanceof Uint8Array ? input : new Uint8Array(input)) : null;
    const cap = isBytes ? bytes.length : input.length * 3; // UTF-8 worst case
    const ptr = this.alloc(cap);
    try {
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
    } catch (err) {
      this.release(ptr);
      throw err;
    }
  }

  free(ptr) {
    if (ptr) this.call('nr_free', ptr);
  }

  // free() for failure paths and cleanup: skipped once the instance trapped
  // (its allocator cannot be trusted, and it is being dropped anyway); never
  // throws, so an error already on its way is the one reported.
  release(ptr) {
    if (!ptr || this.trapped) return;
    try {
      this.free(ptr);
    } catch (err) {
      console.error(`nr_free(${ptr}) on a failure path threw:`, err?.message ?? err);
    }
  }

  // write + call + free: `fn(ptr, len)` runs while the buffer is alive and
  // its result is returned. The buffer is released whatever fn does.
  withInput(input, fn) {
    const { ptr, len } = this.write(input);
    let result;
    try {
      result = fn(ptr, len);
    } catch (err) {
      this.release(ptr);
      throw err;
    }
    this.free(ptr);
    return result;
  }

  // A copy of len bytes at ptr (memory.buffer is re-read: it may have grown).
  read(ptr, len) {
    return new Uint8Array(this.exports.memory.buffer, ptr >>> 0, len >>> 0).slice();
  }

  // The UTF-8 text of len bytes at ptr.
  readText(ptr, len) {
    return decoder.decode(new Uint8Array(this.exports.memory.buffer, ptr >>> 0, len >>> 0));
  }
}

// Returns getWasm(): the isolate's current instance of `module`, built on
// first use and again whenever the current one was retired (trap or discard).
export function instanceSource(module) {
  let current = null;
  return function getWasm() {
    if (current === null || current.retired) current = new WasmInstance(module);
    return current;
  };
}
