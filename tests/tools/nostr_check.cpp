// nostr_check: runs each stdin line through the core C ABI and prints
// "<code>\t<output>" per line. The wasm tests run the same lines through the
// .wasm modules and require identical verdicts.
//   usage: nostr_check --mode frame|event --now <unix-seconds>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <string>

#include "core/abi/core_abi.h"

int main(int argc, char** argv) {
  bool frame_mode = true;
  double now = 0;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (std::strcmp(argv[i], "--mode") == 0) {
      frame_mode = std::strcmp(argv[i + 1], "event") != 0;
    } else if (std::strcmp(argv[i], "--now") == 0) {
      now = std::strtod(argv[i + 1], nullptr);
    } else {
      std::fprintf(stderr, "usage: nostr_check --mode frame|event --now <unix-seconds>\n");
      return 2;
    }
  }
  nr_ctx* ctx = nr_ctx_new();
  std::string line;
  std::string out;
  while (std::getline(std::cin, line)) {
    uint8_t* buf = nr_alloc(static_cast<uint32_t>(line.size()));
    std::memcpy(buf, line.data(), line.size());
    const auto len = static_cast<uint32_t>(line.size());
    const int32_t code = frame_mode ? nr_check_frame(ctx, buf, len, now) : nr_validate_event(ctx, buf, len, now);
    nr_free(buf);
    out.assign(reinterpret_cast<const char*>(nr_out_ptr(ctx)), nr_out_len(ctx));
    std::cout << code << '\t' << out << '\n';
  }
  nr_ctx_free(ctx);
  return 0;
}
