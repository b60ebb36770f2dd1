// ConnId: how the engine names a connection. A WebSocket is named by its host
// id (a uint32_t the host chose); an HTTP API call gets an id the engine draws
// above every host id, so the two never collide and no host id is reserved.
// Whether a connection is a socket is a property of its Connection (api), not
// of its id.
#pragma once

#include <cstdint>

namespace nostr::durable {

using ConnId = uint64_t;

// The first id of HTTP API calls: one past every host socket id.
inline constexpr ConnId kFirstApiConn = ConnId{1} << 32;

}  // namespace nostr::durable
