// Relay-to-client messages, serialized to the exact JSON text sent on the socket.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "core/types.h"

namespace nostr {

// ["OK", <event_id>, <accepted>, <message>]
std::string ok_message(std::string_view event_id_hex, bool accepted, std::string_view message);
// ["EVENT", <sub_id>, <raw event JSON verbatim>]
std::string event_message(const SubId& sub, std::string_view raw_event);
// ["EVENT",<sub_id>, : the frame is this prefix + raw event JSON + "]" (fan-out
// sends one raw event under many subscription ids).
std::string event_message_prefix(const SubId& sub);
// ["EOSE", <sub_id>]
std::string eose_message(const SubId& sub);
// ["CLOSED", <sub_id>, <message>]
std::string closed_message(std::string_view sub_id, std::string_view message);
// ["NOTICE", <message>]
std::string notice_message(std::string_view message);
// ["AUTH", <challenge>]
std::string auth_message(std::string_view challenge);
// ["COUNT", <sub_id>, {"count": n[, "approximate": true]}]
std::string count_message(const SubId& sub, uint64_t count, bool approximate, std::string_view hll_hex = {});
// ["NEG-ERR", <sub_id>, <reason>]
std::string neg_err_message(std::string_view sub_id, std::string_view reason);
// ["NEG-MSG", <sub_id>, <hex>]
std::string neg_msg_message(std::string_view sub_id, std::string_view hex);

}  // namespace nostr
