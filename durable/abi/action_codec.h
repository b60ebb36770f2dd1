// The action records of the wasm ABI (format: durable/abi/relay_abi.h): the one
// place typed Actions become bytes. js-glue/codec.js decodes them; the golden
// vectors in tests/golden/actions.json keep the two sides equal.
#pragma once

#include <string>
#include <vector>

#include "durable/action.h"

namespace nostr::durable {

// Appends the records of `actions`, in order, to `out`.
void encode_actions(const std::vector<Action>& actions, std::string& out);

}  // namespace nostr::durable
