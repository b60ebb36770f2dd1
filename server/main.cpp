// nostr-relay-server: the relay engine as a native, self-hosted server.
//   nostr-relay-server [--config relay.toml] [--port N] [--db PATH]
//   nostr-relay-server export [--filter JSON] [--config ..] [--db ..] > events.jsonl
//   nostr-relay-server import [--config ..] [--db ..] < events.jsonl
// Without --config, ./relay.toml is read if present; otherwise every default.
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>

#include "server/config.h"
#include "server/server.h"
#include "server/tools.h"

namespace {

const char* env(const char* name) { return std::getenv(name); }

}  // namespace

int main(int argc, char** argv) {
  std::string config_path, port, db, filter, command;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if ((a == "--config" || a == "--port" || a == "--db" || a == "--filter") && i + 1 < argc) {
      (a == "--config" ? config_path
       : a == "--port" ? port
       : a == "--db"   ? db
                       : filter) = argv[++i];
    } else if ((a == "export" || a == "import") && command.empty() && i == 1) {
      command = a;
    } else if (a == "--help" || a == "-h") {
      std::printf(
          "usage: %s [--config relay.toml] [--port N] [--db PATH]\n"
          "       %s export [--filter JSON] [--config ..] [--db ..] > events.jsonl\n"
          "       %s import [--config ..] [--db ..] < events.jsonl\n",
          argv[0], argv[0], argv[0]);
      return 0;
    } else {
      std::fprintf(stderr, "unknown argument %s (see --help)\n", a.c_str());
      return 2;
    }
  }
  std::string text;
  const std::string path = config_path.empty() ? "relay.toml" : config_path;
  if (std::ifstream in(path); in) {
    std::stringstream ss;
    ss << in.rdbuf();
    text = ss.str();
  } else if (!config_path.empty()) {
    std::fprintf(stderr, "cannot read %s\n", config_path.c_str());
    return 2;
  }
  // Command-line flags win over the environment, which wins over the file.
  if (!port.empty()) setenv("PORT", port.c_str(), 1);
  if (!db.empty()) setenv("DATABASE", db.c_str(), 1);
  std::string error;
  auto loaded = nostr::server::load_config(text, env, error);
  if (!loaded) {
    std::fprintf(stderr, "nostr-relay-server: %s\n", error.c_str());
    return 2;
  }
  if (command == "export" || command == "import") {
    const int rc = command == "export" ? nostr::server::run_export(*loaded, filter, stdout, error)
                                       : nostr::server::run_import(*loaded, stdin, error);
    if (!error.empty())
      std::fprintf(stderr, "nostr-relay-server %s: %s\n", command.c_str(), error.c_str());
    return rc;
  }
  auto server = nostr::server::Server::create(*loaded, error);
  if (!server) {
    std::fprintf(stderr, "nostr-relay-server: %s\n", error.c_str());
    return 1;
  }
  return server->run();
}
