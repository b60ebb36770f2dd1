// Small text helpers for protocol tokens (ASCII only; other bytes pass through).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace nostr {

// Returns c lowercased if it is 'A'..'Z', else c.
inline char ascii_lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

// Returns s with 'A'..'Z' lowercased (header tokens, hosts); other bytes unchanged.
std::string ascii_lower(std::string_view s);

// Parses 1..19 decimal digits (no sign, spaces or exponent) into out.
// Returns false for anything else.
[[nodiscard]] bool parse_decimal(std::string_view s, uint64_t& out);

}  // namespace nostr
