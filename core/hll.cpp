#include "core/hll.h"

#include "core/hex.h"
#include "core/sha256.h"
#include "core/types.h"

namespace nostr {
namespace {

uint8_t hex_digit(char c) { return static_cast<uint8_t>(c <= '9' ? c - '0' : c - 'a' + 10); }

}  // namespace

std::optional<uint8_t> hll_offset(const CompiledFilter& f) {
  if (f.tags().size() != 1 || f.tags()[0].values.size() != 1) return std::nullopt;
  const std::string& v = f.tags()[0].values[0];
  std::string hex;
  if (EventId::from_hex(v)) {
    hex = v;
  } else if (const size_t c1 = v.find(':');
             c1 != std::string::npos && v.find(':', c1 + 1) == c1 + 65 &&
             Pubkey::from_hex(std::string_view(v).substr(c1 + 1, 64))) {
    hex = v.substr(c1 + 1, 64);  // an address kind:pubkey:d counts by its pubkey
  } else {
    const Digest32 d = sha256(v);
    hex = to_hex(d.data(), d.size());
  }
  return static_cast<uint8_t>(hex_digit(hex[32]) + 8);
}

std::string hll_hex(const HllRegisters& regs) { return to_hex(regs.data(), regs.size()); }

}  // namespace nostr
