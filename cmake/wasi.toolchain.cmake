# WebAssembly (wasm32-wasi) with Debian's parts: clang/lld 14, wasi-libc,
# libc++-14-dev-wasm32, libclang-rt-14-dev-wasm32. No --sysroot needed: Debian's
# clang finds /usr/include/wasm32-wasi and /usr/lib/wasm32-wasi by itself.
set(CMAKE_SYSTEM_NAME Generic)   # cmake 3.25 has no WASI platform module
set(CMAKE_SYSTEM_PROCESSOR wasm32)
set(NOSTR_WASM ON CACHE BOOL "Building the WebAssembly module" FORCE)

set(CMAKE_C_COMPILER clang)
set(CMAKE_CXX_COMPILER clang++)
set(CMAKE_C_COMPILER_TARGET wasm32-wasi)
set(CMAKE_CXX_COMPILER_TARGET wasm32-wasi)
set(CMAKE_AR llvm-ar-14 CACHE FILEPATH "Archiver")
set(CMAKE_RANLIB llvm-ranlib-14 CACHE FILEPATH "Ranlib")

# Debian's wasm32 libc++ is built without exceptions.
set(CMAKE_C_FLAGS_INIT "")
set(CMAKE_CXX_FLAGS_INIT "-fno-exceptions")
set(CMAKE_EXECUTABLE_SUFFIX .wasm)

# Never pick up host libraries or headers through find_*.
set(CMAKE_FIND_ROOT_PATH /usr/lib/wasm32-wasi)
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)
