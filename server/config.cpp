#include "server/config.h"

#include <toml++/toml.h>

#include <algorithm>
#include <cstdlib>
#include <sstream>
#include <thread>

#include "core/json_writer.h"
#include "simdjson.h"

namespace nostr::server {
namespace {

bool parse_port(std::string_view s, uint16_t& out) {
  uint32_t v = 0;
  if (s.empty() || s.size() > 5) return false;
  for (const char c : s) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + static_cast<uint32_t>(c - '0');
  }
  if (v == 0 || v > 65535) return false;
  out = static_cast<uint16_t>(v);
  return true;
}

// One trusted_proxies entry; false (with `error`) when it is not an address or range.
bool add_proxy(std::string_view text, std::string_view where, AddressSet& out, std::string& error) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  auto r = AddressRange::parse(text);
  if (!r) {
    error = std::string(where) + ": \"" + std::string(text) +
            "\" is not an IP address or CIDR range (\"10.0.0.0/8\", \"2001:db8::/48\")";
    return false;
  }
  out.add(*r);
  return true;
}

}  // namespace

std::optional<Loaded> load_config(const std::string& toml_text, const char* (*getenv)(const char*),
                                  std::string& error) {
  Loaded out;
  toml::parse_result parsed =
      toml::parse(std::string_view(toml_text), std::string_view("relay.toml"));
  if (!parsed) {
    std::ostringstream msg;
    msg << "relay.toml: " << parsed.error().description() << " (line "
        << parsed.error().source().begin.line << ")";
    error = msg.str();
    return std::nullopt;
  }
  toml::table table = std::move(parsed).table();
  if (toml::node* s = table.get("server")) {
    toml::table* st = s->as_table();
    if (!st) {
      error = "relay.toml: server must be a table";
      return std::nullopt;
    }
    for (auto&& [key, value] : *st) {
      const std::string_view k = key.str();
      if (k == "bind" && value.is_string()) {
        out.server.bind = *value.value<std::string>();
      } else if (k == "database" && value.is_string()) {
        out.server.database = *value.value<std::string>();
      } else if (k == "port" && value.is_integer() && *value.value<int64_t>() > 0 &&
                 *value.value<int64_t>() < 65536) {
        out.server.port = static_cast<uint16_t>(*value.value<int64_t>());
      } else if (k == "threads" && value.is_integer() && *value.value<int64_t>() >= 1 &&
                 *value.value<int64_t>() <= 256) {
        out.server.threads = static_cast<unsigned>(*value.value<int64_t>());
      } else if (k == "trusted_proxies" && value.is_array()) {
        for (auto&& entry : *value.as_array()) {
          if (!entry.is_string()) {
            error = "relay.toml: server.trusted_proxies must be an array of strings";
            return std::nullopt;
          }
          if (!add_proxy(*entry.value<std::string>(), "relay.toml: server.trusted_proxies",
                         out.server.trusted_proxies, error))
            return std::nullopt;
        }
      } else {
        error = "relay.toml: server." + std::string(k) +
                (k == "bind" || k == "database" || k == "port" || k == "threads" ||
                         k == "trusted_proxies"
                     ? " has the wrong type or value"
                     : " is not a server setting");
        return std::nullopt;
      }
    }
    table.erase("server");
  }
  // The relay settings as RELAY_CONFIG JSON, with RELAY_CONFIG's keys on top.
  std::ostringstream json;
  json << toml::json_formatter{table};
  std::string config = json.str();
  if (const char* env = getenv("RELAY_CONFIG"); env && *env) {
    simdjson::dom::parser p;
    simdjson::dom::element over, base;
    simdjson::dom::object over_obj, base_obj;
    if (p.parse(std::string(env)).get(over) != simdjson::SUCCESS ||
        over.get_object().get(over_obj) != simdjson::SUCCESS) {
      error = "RELAY_CONFIG must be a JSON object";
      return std::nullopt;
    }
    nostr::JsonWriter merged;
    merged.begin_object();
    simdjson::dom::parser p2;
    if (p2.parse(config).get(base) == simdjson::SUCCESS &&
        base.get_object().get(base_obj) == simdjson::SUCCESS) {
      for (auto kv : base_obj) {
        if (over_obj[kv.key].error() == simdjson::SUCCESS) continue;
        merged.key(kv.key).raw(simdjson::minify(kv.value));
      }
    }
    for (auto kv : over_obj) merged.key(kv.key).raw(simdjson::minify(kv.value));
    config = merged.end_object().take();
  }
  if (const char* admins = getenv("ADMIN_PUBKEYS"); admins && *admins) {
    // The Workers secret of the same name: merged like the glue does.
    std::string quoted = "\"";
    for (const char* c = admins; *c; ++c) {
      if (*c == '"' || *c == '\\' || static_cast<unsigned char>(*c) < 0x20) continue;
      quoted += *c;
    }
    config.insert(1, "\"admin_pubkeys\":" + quoted + "\"" + (config.size() > 2 ? "," : ""));
  }
  auto relay = parse_config(config);
  if (!relay) {
    error = "configuration: " + relay.error().text;
    return std::nullopt;
  }
  out.relay = std::move(relay).value();
  if (const char* v = getenv("PORT"); v && *v && !parse_port(v, out.server.port)) {
    error = "PORT must be a port number (1-65535)";
    return std::nullopt;
  }
  if (const char* v = getenv("THREADS"); v && *v) {
    char* end = nullptr;
    const long n = std::strtol(v, &end, 10);
    if (*end != '\0' || n < 1 || n > 256) {
      error = "THREADS must be a number of threads (1-256)";
      return std::nullopt;
    }
    out.server.threads = static_cast<unsigned>(n);
  }
  if (const char* v = getenv("BIND"); v && *v) out.server.bind = v;
  if (const char* v = getenv("DATABASE"); v && *v) out.server.database = v;
  if (const char* v = getenv("METRICS_TOKEN"); v && *v) out.server.metrics_token = v;
  if (const char* v = getenv("TRUSTED_PROXIES"); v && *v) {
    AddressSet proxies;
    std::string_view list(v);
    for (;;) {
      const size_t comma = list.find(',');
      const std::string_view item = list.substr(0, comma);
      if (item.find_first_not_of(" \t") != std::string_view::npos &&
          !add_proxy(item, "TRUSTED_PROXIES", proxies, error))
        return std::nullopt;
      if (comma == std::string_view::npos) break;
      list.remove_prefix(comma + 1);
    }
    out.server.trusted_proxies = std::move(proxies);
  }
  if (out.server.threads == 0)
    out.server.threads = std::max(1u, std::thread::hardware_concurrency());
  return out;
}

}  // namespace nostr::server
