// neg_peer: core/negentropy behind a line protocol, the native side of the
// differential test against JavaScript implementations
// (tests/negentropy/differential.mjs). One command per stdin line, exactly one
// JSON line in answer:
//   load <n>            then n lines "<timestamp> <id hex>": the item set
//                       (replaces the previous one)   -> {"size":<items kept>}
//   options <frame size limit> <max ranges>          -> {"ok":true}
//   initiate            client's first message        -> {"msg":"<hex>"}
//   server <hex>        server's reply                -> {"msg":"<hex>"}
//   client <hex>        client's next message ("" when done) and the ids
//                       resolved by this message      -> {"next":"<hex>","have":[..],"need":[..]}
// Rejected input answers {"err":"<text>"}.
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include "core/hex.h"
#include "core/negentropy.h"

namespace {

using namespace nostr::neg;

void print_ids(const char* key, const std::vector<Id>& ids) {
  std::cout << '"' << key << "\":[";
  for (size_t i = 0; i < ids.size(); ++i) {
    std::cout << (i ? "," : "") << '"' << nostr::to_hex(ids[i].data(), ids[i].size()) << '"';
  }
  std::cout << ']';
}

void print_error(const nostr::Reject& e) {
  // Reject texts are ASCII without quotes or backslashes.
  std::cout << "{\"err\":\"" << e.text << "\"}\n";
}

}  // namespace

int main() {
  std::ios::sync_with_stdio(false);
  Storage storage;
  Options options;
  std::string line;
  while (std::getline(std::cin, line)) {
    std::istringstream in(line);
    std::string cmd, arg;
    in >> cmd >> arg;
    if (cmd == "load") {
      const size_t n = std::strtoull(arg.c_str(), nullptr, 10);
      std::vector<Item> items(n);
      for (size_t i = 0; i < n; ++i) {
        std::string item_line;
        if (!std::getline(std::cin, item_line)) return 2;
        std::istringstream il(item_line);
        std::string ts, id;
        il >> ts >> id;
        items[i].timestamp = std::strtoull(ts.c_str(), nullptr, 10);
        if (!nostr::decode_lower_hex(id, items[i].id.data(), kIdSize)) {
          std::fprintf(stderr, "neg_peer: bad id %s\n", id.c_str());
          return 2;
        }
      }
      storage = Storage(std::move(items));
      std::cout << "{\"size\":" << storage.size() << "}\n";
    } else if (cmd == "options") {
      std::string ranges;
      in >> ranges;
      options.frame_size_limit = static_cast<uint32_t>(std::strtoul(arg.c_str(), nullptr, 10));
      options.max_ranges = static_cast<uint32_t>(std::strtoul(ranges.c_str(), nullptr, 10));
      std::cout << "{\"ok\":true}\n";
    } else if (cmd == "initiate") {
      const auto msg = client_initiate(storage);
      std::cout << "{\"msg\":\"" << nostr::to_hex(msg.data(), msg.size()) << "\"}\n";
    } else if (cmd == "server" || cmd == "client") {
      auto msg = message_from_hex(arg);
      if (!msg.ok()) {
        print_error(msg.error());
      } else if (cmd == "server") {
        Options server_options = options;
        if (server_options.frame_size_limit == 0)
          server_options.frame_size_limit = Options{}.frame_size_limit;
        auto reply = server_reconcile(storage, msg.value(), server_options);
        if (!reply.ok()) {
          print_error(reply.error());
        } else {
          std::cout << "{\"msg\":\"" << nostr::to_hex(reply.value().data(), reply.value().size())
                    << "\"}\n";
        }
      } else {
        std::vector<Id> have, need;
        auto next = client_reconcile(storage, msg.value(), have, need, options);
        if (!next.ok()) {
          print_error(next.error());
        } else {
          std::cout << "{\"next\":\"" << nostr::to_hex(next.value().data(), next.value().size())
                    << "\",";
          print_ids("have", have);
          std::cout << ',';
          print_ids("need", need);
          std::cout << "}\n";
        }
      }
    } else {
      std::fprintf(stderr, "neg_peer: unknown command %s\n", cmd.c_str());
      return 2;
    }
    std::cout.flush();
  }
  return 0;
}
