#include "core/types.h"

namespace nostr {

std::optional<SubId> SubId::make(std::string_view s, size_t max_length) {
  if (max_length > kMaxLength) max_length = kMaxLength;
  size_t chars = 0;
  for (const char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    if (c < 0x20 || c == 0x7f) return std::nullopt;
    if ((c & 0xc0) != 0x80) ++chars;  // count UTF-8 code points, not bytes
  }
  if (chars == 0 || chars > max_length) return std::nullopt;
  return SubId(std::string(s));
}

}  // namespace nostr
