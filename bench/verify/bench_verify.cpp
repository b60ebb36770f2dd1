// Native verify benchmark: every event of a JSONL file through
// nr_validate_event (parse + id + BIP-340 verify + time checks), R rounds,
// median µs/event. The event is copied into the nr_alloc'd input buffer inside
// the timed loop, as the wasm host has to.
//   usage: bench_verify <bench.jsonl> [rounds=5] [now=1760000000]
// Prints one JSON object: {"name":"native","us_per_event":..,"rounds_us":[..],"events":N}
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

#include "core/abi/core_abi.h"

namespace {

double run_round(nr_ctx* ctx, uint8_t* buf, const std::vector<std::string>& events, double now, int* failures) {
  const auto t0 = std::chrono::steady_clock::now();
  for (const std::string& ev : events) {
    std::memcpy(buf, ev.data(), ev.size());
    if (nr_validate_event(ctx, buf, static_cast<uint32_t>(ev.size()), now) != 0) ++*failures;
  }
  const auto t1 = std::chrono::steady_clock::now();
  return std::chrono::duration<double, std::micro>(t1 - t0).count() / static_cast<double>(events.size());
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: bench_verify <bench.jsonl> [rounds=5] [now=1760000000]\n");
    return 2;
  }
  const int rounds = argc > 2 ? std::atoi(argv[2]) : 5;
  const double now = argc > 3 ? std::strtod(argv[3], nullptr) : 1760000000.0;
  std::ifstream in(argv[1]);
  if (!in) {
    std::fprintf(stderr, "bench_verify: cannot open %s\n", argv[1]);
    return 1;
  }
  std::vector<std::string> events;
  size_t max_len = 0;
  for (std::string line; std::getline(in, line);) {
    if (line.empty()) continue;
    max_len = std::max(max_len, line.size());
    events.push_back(std::move(line));
  }
  if (events.empty() || rounds < 1) {
    std::fprintf(stderr, "bench_verify: no events or rounds < 1\n");
    return 1;
  }

  nr_ctx* ctx = nr_ctx_new();
  uint8_t* buf = nr_alloc(static_cast<uint32_t>(max_len));
  int failures = 0;
  run_round(ctx, buf, events, now, &failures);  // warm-up (page faults, caches)
  if (failures) {
    std::fprintf(stderr, "bench_verify: %d events did not validate (last: %.*s)\n", failures,
                 static_cast<int>(nr_out_len(ctx)), reinterpret_cast<const char*>(nr_out_ptr(ctx)));
    return 1;
  }
  std::vector<double> per_event;
  for (int r = 0; r < rounds; ++r) per_event.push_back(run_round(ctx, buf, events, now, &failures));
  nr_free(buf);
  nr_ctx_free(ctx);

  std::vector<double> sorted = per_event;
  std::sort(sorted.begin(), sorted.end());
  const size_t n = sorted.size();
  const double median = n % 2 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
  std::printf("{\"name\":\"native\",\"us_per_event\":%.3f,\"events\":%zu,\"rounds_us\":[", median, events.size());
  for (size_t i = 0; i < per_event.size(); ++i) std::printf("%s%.3f", i ? "," : "", per_event[i]);
  std::printf("]}\n");
  return failures ? 1 : 0;
}
