// NIP-45 HyperLogLog: the 256 one-byte registers a COUNT answer may carry so
// clients can merge counts from several relays. The register offset depends
// only on the filter, so every relay computes the same registers.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/filter.h"

namespace nostr {

using HllRegisters = std::array<uint8_t, 256>;

// Returns the NIP-45 offset (8..23) for `f`, or nullopt if `f` does not
// qualify: it must have exactly one tag condition with exactly one value (the
// shape of NIP-45's reactions, reposts, quotes, replies, comments and
// followers filters). The value's hex digit 32 plus 8, where the value is
// used as is when it is 64 hex characters, by its pubkey when it is an
// address "kind:pubkey:d", and as sha256(value) in hex otherwise.
std::optional<uint8_t> hll_offset(const CompiledFilter& f);

// The registers as 512 lowercase hex characters.
std::string hll_hex(const HllRegisters& regs);

}  // namespace nostr
