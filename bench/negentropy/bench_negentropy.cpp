// bench_negentropy: native timings of core/negentropy, printed as markdown.
//   bench_negentropy [runs]   (median of `runs`, default 5)
// Items are random ids with created_at spread over 100 days; "differences"
// are ids only one side has, half on each side.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "core/negentropy.h"
#include "tests/support/rng.h"

namespace {

using namespace nostr::neg;
using Clock = std::chrono::steady_clock;
using nostr::test::Rng;

double ms_since(Clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

Item random_item(Rng& r) {
  Item it;
  it.timestamp = 1700000000 + r.below(100 * 86400);
  for (size_t i = 0; i < kIdSize; i += 8) {
    const uint64_t v = r.next();
    for (size_t j = 0; j < 8; ++j) it.id[i + j] = static_cast<uint8_t>(v >> (8 * j));
  }
  return it;
}

struct Sides {
  std::vector<Item> client, server;
};

Sides make_sides(size_t shared, size_t differences, uint64_t seed) {
  Rng r{seed};
  Sides s;
  for (size_t i = 0; i < shared; ++i) {
    const Item it = random_item(r);
    s.client.push_back(it);
    s.server.push_back(it);
  }
  for (size_t i = 0; i < differences; ++i) (i % 2 ? s.client : s.server).push_back(random_item(r));
  return s;
}

struct SyncResult {
  double ms = 0, server_ms = 0, client_ms = 0, max_server_ms = 0;
  int rounds = 0;
  size_t up = 0, down = 0, have = 0, need = 0;
};

SyncResult sync(const Storage& client, const Storage& server, const Options& opt) {
  SyncResult res;
  std::vector<Id> have, need;
  const auto t0 = Clock::now();
  auto tc = Clock::now();
  std::vector<uint8_t> msg = client_initiate(client);
  res.client_ms += ms_since(tc);
  for (;;) {
    ++res.rounds;
    res.up += msg.size();
    const auto ts = Clock::now();
    auto reply = server_reconcile(server, msg, opt);
    const double s_ms = ms_since(ts);
    res.server_ms += s_ms;
    res.max_server_ms = std::max(res.max_server_ms, s_ms);
    if (!reply.ok()) std::abort();
    res.down += reply.value().size();
    tc = Clock::now();
    auto next = client_reconcile(client, reply.value(), have, need, opt);
    res.client_ms += ms_since(tc);
    if (!next.ok()) std::abort();
    if (next.value().empty()) break;
    msg = std::move(next).value();
  }
  res.ms = ms_since(t0);
  res.have = have.size();
  res.need = need.size();
  return res;
}

void sync_row(size_t shared, size_t differences, uint32_t frame, int runs) {
  const Sides sides = make_sides(shared, differences, shared + differences + frame);
  const Storage client(sides.client), server(sides.server);
  Options opt;
  opt.frame_size_limit = frame;
  std::vector<double> total, srv, cli, max_srv;
  SyncResult last;
  for (int i = 0; i < runs; ++i) {
    last = sync(client, server, opt);
    total.push_back(last.ms);
    srv.push_back(last.server_ms);
    cli.push_back(last.client_ms);
    max_srv.push_back(last.max_server_ms);
  }
  if (last.have != differences / 2 || last.need != differences - differences / 2) {
    std::fprintf(stderr, "unexpected have/need %zu/%zu\n", last.have, last.need);
  }
  std::printf("| %zu + %zu | %u | %.1f | %.1f | %.1f | %.2f | %d | %zu | %zu |\n", shared,
              differences, frame, median(total), median(srv), median(cli), median(max_srv),
              last.rounds, last.up, last.down);
}

}  // namespace

int main(int argc, char** argv) {
  const int runs = argc > 1 ? std::max(1, std::atoi(argv[1])) : 5;

  std::printf(
      "Full syncs, our client against our server in one process (no I/O), median of %d runs:\n\n",
      runs);
  std::printf(
      "| items per side + differences | frame size limit (bytes) | sync ms | server ms | client ms "
      "| slowest server message ms | rounds | bytes up | bytes down |\n");
  std::printf("|---|---:|---:|---:|---:|---:|---:|---:|---:|\n");
  sync_row(100000, 1000, 60000, runs);
  sync_row(100000, 1000, 4096, runs);
  sync_row(100000, 100, 60000, runs);
  sync_row(1000000, 10000, 60000, runs);

  // Building a storage (sort, dedupe, running sums) and fingerprints.
  const Sides big = make_sides(100000, 0, 1);
  std::vector<double> build;
  for (int i = 0; i < runs; ++i) {
    const auto t0 = Clock::now();
    const Storage s(big.server);
    build.push_back(ms_since(t0));
  }
  const Storage s(big.server);
  std::vector<double> naive, prefixed;
  Rng r{99};
  volatile uint8_t sink = 0;
  for (int i = 0; i < runs; ++i) {
    auto t0 = Clock::now();
    for (int k = 0; k < 10; ++k) sink = sink ^ s.fingerprint_by_sum(0, s.size())[0];
    naive.push_back(ms_since(t0) / 10);
    t0 = Clock::now();
    for (int k = 0; k < 100000; ++k) {
      size_t b = r.below(s.size()), e = r.below(s.size());
      if (b > e) std::swap(b, e);
      sink = sink ^ s.fingerprint(b, e)[0];
    }
    prefixed.push_back(ms_since(t0) * 1000 / 100000);
  }

  // Hostile messages at the default cap: max_ranges ranges over the 100k
  // items. With every fingerprint wrong the reply fills up and the server
  // stops early; with every fingerprint right it computes all of them and
  // writes nothing: the CPU worst case.
  const Options defaults;
  const auto hostile_message = [&](bool right) {
    std::vector<uint8_t> msg{kProtocolVersion};
    BoundWriter w;
    size_t prev = 0;
    for (uint32_t i = 0; i < defaults.max_ranges; ++i) {
      const size_t idx = (static_cast<size_t>(i) + 1) * s.size() / defaults.max_ranges;
      Bound b;
      b.timestamp = idx >= s.size() ? kInfinity : s[idx].timestamp;
      const size_t upper = s.lower_bound(prev, b);
      w.append(msg, b);
      msg.push_back(1);
      const Fingerprint fp = right ? s.fingerprint(prev, upper) : Fingerprint{};
      msg.insert(msg.end(), fp.begin(), fp.end());
      prev = upper;
    }
    return msg;
  };
  const auto time_message = [&](const std::vector<uint8_t>& msg, size_t& reply_size) {
    std::vector<double> ms;
    for (int i = 0; i < runs; ++i) {
      const auto t0 = Clock::now();
      auto reply = server_reconcile(s, msg, defaults);
      ms.push_back(ms_since(t0));
      if (!reply.ok()) std::abort();
      reply_size = reply.value().size();
    }
    return median(ms);
  };
  const std::vector<uint8_t> wrong = hostile_message(false), right = hostile_message(true);
  size_t wrong_reply = 0, right_reply = 0;
  const double wrong_ms = time_message(wrong, wrong_reply),
               right_ms = time_message(right, right_reply);

  std::printf("\n| measurement (100k items) | value |\n|---|---:|\n");
  std::printf("| build a storage (sort, deduplicate, running sums) | %.1f ms |\n", median(build));
  std::printf(
      "| fingerprint by summing every id (the reference's way), whole set | %.3f ms (%.0f M ids/s) "
      "|\n",
      median(naive), s.size() / median(naive) / 1000);
  std::printf("| fingerprint of a random range with the running sums | %.2f µs |\n",
              median(prefixed));
  std::printf(
      "| message of %u ranges (%zu bytes), every fingerprint wrong | %.2f ms, reply %zu bytes |\n",
      defaults.max_ranges, wrong.size(), wrong_ms, wrong_reply);
  std::printf(
      "| message of %u ranges (%zu bytes), every fingerprint right | %.2f ms, reply %zu bytes |\n",
      defaults.max_ranges, right.size(), right_ms, right_reply);
  std::printf("| sizeof(Item) | %zu bytes |\n", sizeof(Item));
  std::printf("| storage memory_bytes() / items | %.1f bytes |\n",
              static_cast<double>(s.memory_bytes()) / s.size());
  return sink == 255 ? 1 : 0;
}
