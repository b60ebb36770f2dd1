// Which host completion a pending operation waits for. Every operation type
// the engine or a component keeps under a token says it (a static
// kCompletion member); a completion of another kind for its token is a host
// error (Metrics::host_errors) and the operation stays pending.
#pragma once

#include <cstdint>

namespace nostr::durable {

enum class Completion : uint8_t {
  store,      // Relay::store_done
  local_sql,  // Relay::local_sql_done
  archive,    // Relay::archive_done
};

}  // namespace nostr::durable
