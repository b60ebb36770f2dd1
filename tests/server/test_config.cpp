// server/config: relay.toml + environment -> settings; a bad value names its key.
#include <doctest/doctest.h>

#include <map>
#include <string>

#include "server/config.h"

using nostr::server::load_config;

namespace {

std::map<std::string, std::string> g_env;
const char* fake_env(const char* name) {
  const auto it = g_env.find(name);
  return it == g_env.end() ? nullptr : it->second.c_str();
}

}  // namespace

TEST_CASE("server config: embedded defaults with no file and no environment") {
  g_env.clear();
  std::string error;
  auto c = load_config("", fake_env, error);
  REQUIRE(c);
  CHECK(c->server.port == 7447);
  CHECK(c->server.bind == "127.0.0.1");
  CHECK(c->server.database == "data/relay.sqlite3");
  CHECK(c->server.threads >= 1);  // one per core
}

TEST_CASE("server config: the file's [server] table, then the environment on top") {
  g_env.clear();
  std::string error;
  const std::string toml =
      "name = \"file relay\"\n"
      "[server]\nport = 8080\nthreads = 3\ndatabase = \"/tmp/x.sqlite3\"\n";
  auto c = load_config(toml, fake_env, error);
  REQUIRE(c);
  CHECK(c->server.port == 8080);
  CHECK(c->server.threads == 3);
  CHECK(c->server.database == "/tmp/x.sqlite3");
  CHECK(c->relay.name == "file relay");

  g_env = {{"PORT", "9000"}, {"THREADS", "1"}, {"RELAY_CONFIG", "{\"name\":\"env relay\"}"}};
  c = load_config(toml, fake_env, error);
  REQUIRE(c);
  CHECK(c->server.port == 9000);
  CHECK(c->server.threads == 1);
  CHECK(c->relay.name == "env relay");
}

TEST_CASE("server config: a bad value stops the start and names the key") {
  std::string error;
  g_env.clear();
  CHECK_FALSE(load_config("[server]\nthreads = 0\n", fake_env, error));
  CHECK(error.find("server.threads") != std::string::npos);
  CHECK_FALSE(load_config("[server]\nport = \"x\"\n", fake_env, error));
  CHECK(error.find("server.port") != std::string::npos);
  CHECK_FALSE(load_config("[server]\nworkers = 2\n", fake_env, error));
  CHECK(error.find("server.workers is not a server setting") != std::string::npos);
  CHECK_FALSE(load_config("[limits]\nmax_message_length = \"big\"\n", fake_env, error));
  CHECK(error.find("max_message_length") != std::string::npos);
  g_env = {{"THREADS", "many"}};
  CHECK_FALSE(load_config("", fake_env, error));
  CHECK(error.find("THREADS") != std::string::npos);
  g_env = {{"PORT", "70000"}};
  CHECK_FALSE(load_config("", fake_env, error));
  CHECK(error.find("PORT") != std::string::npos);
}

TEST_CASE("server config: trusted_proxies from [server] or TRUSTED_PROXIES; a bad entry is named") {
  std::string error;
  g_env.clear();
  auto c = load_config("", fake_env, error);
  REQUIRE(c);
  CHECK(c->server.trusted_proxies.empty());  // by default the peer is the client
  c = load_config("[server]\ntrusted_proxies = [\"127.0.0.1\", \"10.0.0.0/8\", \"fd00::/8\"]\n",
                  fake_env, error);
  REQUIRE(c);
  CHECK(c->server.trusted_proxies.size() == 3);
  CHECK(c->server.trusted_proxies.contains("10.20.30.40"));
  CHECK(c->server.trusted_proxies.contains("fd12::1"));
  CHECK_FALSE(c->server.trusted_proxies.contains("192.0.2.1"));
  g_env = {{"TRUSTED_PROXIES", " 192.0.2.0/24 , ::1"}};
  c = load_config("[server]\ntrusted_proxies = [\"127.0.0.1\"]\n", fake_env, error);
  REQUIRE(c);
  CHECK(c->server.trusted_proxies.size() == 2);  // the environment's list replaces the file's
  CHECK(c->server.trusted_proxies.contains("192.0.2.77"));
  CHECK(c->server.trusted_proxies.contains("::1"));
  CHECK_FALSE(c->server.trusted_proxies.contains("127.0.0.1"));

  g_env.clear();
  CHECK_FALSE(load_config("[server]\ntrusted_proxies = [\"proxy.local\"]\n", fake_env, error));
  CHECK(error.find("server.trusted_proxies: \"proxy.local\" is not an IP address or CIDR range") !=
        std::string::npos);
  CHECK_FALSE(load_config("[server]\ntrusted_proxies = \"127.0.0.1\"\n", fake_env, error));
  CHECK(error.find("server.trusted_proxies has the wrong type") != std::string::npos);
  CHECK_FALSE(load_config("[server]\ntrusted_proxies = [1]\n", fake_env, error));
  CHECK(error.find("server.trusted_proxies must be an array of strings") != std::string::npos);
  g_env = {{"TRUSTED_PROXIES", "10.0.0.0/33"}};
  CHECK_FALSE(load_config("", fake_env, error));
  CHECK(error.find("TRUSTED_PROXIES: \"10.0.0.0/33\"") != std::string::npos);
  g_env.clear();
}
