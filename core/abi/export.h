// Marks a function as part of the wasm module's exported C ABI.
// Native builds get plain extern "C" so the same ABI can be unit-tested.
#pragma once
#if defined(__EMSCRIPTEN__)
#include <emscripten/emscripten.h>
#define NR_EXPORT(name) extern "C" EMSCRIPTEN_KEEPALIVE __attribute__((export_name(name)))
#elif defined(__wasm__)
#define NR_EXPORT(name) extern "C" __attribute__((export_name(name)))
#else
#define NR_EXPORT(name) extern "C"
#endif
